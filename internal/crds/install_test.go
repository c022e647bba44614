package crds

import (
	"context"
	"fmt"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

var testLab *labtest.Lab

func TestMain(m *testing.M) {
	os.Exit(labtest.Main(m, func(l *labtest.Lab) { testLab = l }))
}

// requestLog counts the requests a rest.Config makes, by verb and path.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *requestLog) wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			l.mu.Lock()
			l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
			l.mu.Unlock()
			return rt.RoundTrip(r)
		})
	}
	return cfg
}

func (l *requestLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.reqs
	l.reqs = nil
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAccInstall(t *testing.T) {
	if testLab == nil {
		t.Skip("needs the lab: TF_ACC=1 (make testacc)")
	}
	ctx := context.Background()
	base, err := testLab.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	var log requestLog
	cfg := log.wrap(base)
	ms, err := Manifests(registry.CRDs()...)
	if err != nil {
		t.Fatal(err)
	}

	// First install: every CRD is applied and established.
	if err := Install(ctx, cfg, "test", registry.CRDs()...); err != nil {
		t.Fatal(err)
	}
	if n := count(log.take(), "PATCH"); n != len(ms) {
		t.Errorf("first install applied %d CRDs, want %d", n, len(ms))
	}
	// Labelled for clusterctl: what `clusterctl move` lists.
	labelled, err := dynamic.NewForConfigOrDie(base).Resource(crdResource).List(ctx, metav1.ListOptions{LabelSelector: ClusterctlLabel})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, c := range labelled.Items {
		names[c.GetName()] = true
	}
	for _, m := range ms {
		if !names[m.Name] {
			t.Errorf("CRD %s installed without the %s label", m.Name, ClusterctlLabel)
		}
	}

	// Already current: one LIST of metadata, nothing else.
	if err := Install(ctx, cfg, "test", registry.CRDs()...); err != nil {
		t.Fatal(err)
	}
	if reqs := log.take(); len(reqs) != 1 || reqs[0] != "GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions" {
		t.Errorf("install of current CRDs made requests %v, want one LIST", reqs)
	}

	// One CRD from an older manifest: only that one is applied again.
	dyn := dynamic.NewForConfigOrDie(base)
	stale := ms[0].Name
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:"old"}}}`, DigestAnnotation)
	if _, err := dyn.Resource(crdResource).Patch(ctx, stale, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Install(ctx, cfg, "test", registry.CRDs()...); err != nil {
		t.Fatal(err)
	}
	if reqs := log.take(); count(reqs, "PATCH") != 1 || count(reqs, "PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+stale) != 1 {
		t.Errorf("stale CRD: requests %v, want one apply of %s", reqs, stale)
	}
	got, err := dyn.Resource(crdResource).Get(ctx, stale, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetAnnotations()[DigestAnnotation] != ms[0].Digest {
		t.Errorf("%s digest = %q after install, want %q", stale, got.GetAnnotations()[DigestAnnotation], ms[0].Digest)
	}
}

func count(reqs []string, prefix string) int {
	n := 0
	for _, r := range reqs {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}
