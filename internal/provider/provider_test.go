package provider

import (
	"context"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/terraform-capi/terraform-provider-capi/internal/crds"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/registry"
	"github.com/terraform-capi/terraform-provider-capi/internal/kube"
	"github.com/terraform-capi/terraform-provider-capi/internal/labtest"
)

// testAccProtoV6ProviderFactories runs the provider in the test process
// for the terraform CLI that terraform-plugin-testing drives.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"capi": providerserver.NewProtocol6WithError(New("test")()),
}

// testLab is the management plane of the acceptance tests, started once
// for the test binary when TF_ACC is set.
var testLab *labtest.Lab

func TestMain(m *testing.M) {
	code := labtest.Main(m, func(l *labtest.Lab) {
		testLab = l
		// The provider under test finds the lab the way a user's would.
		os.Setenv("KUBE_CONFIG_PATH", l.Kubeconfig)
	})
	stopPrism()
	os.Exit(code)
}

// ensureCRDs installs the CRDs for tests that create objects directly,
// before any apply has done so.
func ensureCRDs(t *testing.T) {
	t.Helper()
	cfg, err := testLab.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if err := crds.Install(context.Background(), cfg, "acceptance-tests", registry.CRDs()...); err != nil {
		t.Fatal(err)
	}
}

// labClient returns a client of the acceptance tests' management cluster.
func labClient(t *testing.T) client.WithWatch {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		// As resource.Test does: acceptance tests run under make testacc.
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	if testLab == nil {
		t.Fatal("the lab is not running")
	}
	c, err := testLab.Client(kube.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustExtract(list client.ObjectList) []runtime.Object {
	items, err := meta.ExtractList(list)
	if err != nil {
		panic(err)
	}
	return items
}
