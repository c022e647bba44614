package workload

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/terraform-capi/terraform-provider-capi/lab/internal/spacessim"
)

// spacesScriptFor is the droplet boothook as the provider writes it.
func spacesScriptFor(get, del string) string {
	return fmt.Sprintf(`#!/bin/bash
# Fetches this droplet's bootstrap data from DigitalOcean Spaces through a
# presigned URL, deletes it there, and hands it to cloud-init.
set -o nounset -o pipefail
umask 077
BOOTSTRAP_DATA_URL='%s'
BOOTSTRAP_DATA_DELETE_URL='%s'
FILE="/etc/secret-userdata.txt"

if [ -s "$FILE" ]; then
  exit 0
fi

rm -f "${FILE}.gz"
curl -fsS --retry 10 --retry-connrefused --retry-delay 3 -o "${FILE}.gz" "$BOOTSTRAP_DATA_URL"
fetched=$?
curl -fsS --retry 5 --retry-connrefused -X DELETE "$BOOTSTRAP_DATA_DELETE_URL" >/dev/null 2>&1 || true
if [ "$fetched" -ne 0 ]; then
  echo "cannot fetch the bootstrap data from Spaces" >&2
  rm -f "${FILE}.gz"
  exit 1
fi
gunzip -f "${FILE}.gz"
systemctl restart cloud-init
`, get, del)
}

const spacesBucket = "capi-bootstrap-u"

// spacesEnv is the lab's Spaces on loopback with a bucket in nyc3, a
// client of the lab's key, and a clock that tests can move on.
type spacesEnv struct {
	sim *spacessim.Simulator
	s3  *s3.Client

	mu     sync.Mutex
	offset time.Duration
	calls  map[string]int
	// fail, when set, fails the calls of an action that many times.
	fail map[string]int
}

func newSpacesEnv(t *testing.T) *spacesEnv {
	e := &spacesEnv{sim: spacessim.New(), calls: map[string]int{}, fail: map[string]int{}}
	e.sim.Now = func() time.Time {
		e.mu.Lock()
		defer e.mu.Unlock()
		return time.Now().Add(e.offset)
	}
	e.sim.Fault = func(action string) string {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.calls[action]++
		if e.fail[action] > 0 {
			e.fail[action]--
			return spacessim.FaultThrottling
		}
		return ""
	}
	srv := httptest.NewServer(e.sim)
	t.Cleanup(srv.Close)
	e.s3 = s3.New(s3.Options{Region: "nyc3", BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials:                credentials.NewStaticCredentialsProvider(spacessim.AccessKeyID, spacessim.SecretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired})
	if _, err := e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(spacesBucket)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// store puts the bootstrap data as the provider does, gzipped, and
// returns the droplet's user data with its presigned URLs (15 minutes).
func (e *spacesEnv) store(t *testing.T, key string, data []byte) []byte {
	t.Helper()
	ctx := context.Background()
	gz := gzipped(t, data)
	if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(spacesBucket), Key: aws.String(key),
		Body: bytes.NewReader(gz), ContentLength: aws.Int64(int64(len(gz))), ContentType: aws.String("application/gzip")}); err != nil {
		t.Fatal(err)
	}
	p := s3.NewPresignClient(e.s3)
	lifetime := func(o *s3.PresignOptions) { o.Expires = 15 * time.Minute }
	get, err := p.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(spacesBucket), Key: aws.String(key)}, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	del, err := p.PresignDeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(spacesBucket), Key: aws.String(key)}, lifetime)
	if err != nil {
		t.Fatal(err)
	}
	// Presigned URLs hold & and %: the single quotes keep them whole.
	if !strings.Contains(get.URL, "&") || !strings.Contains(get.URL, "%2F") {
		t.Fatalf("presigned URL without & or %%: %s", get.URL)
	}
	return boothookUserData(t, spacesScriptFor(get.URL, del.URL), "file:///etc/secret-userdata.txt")
}

func (e *spacesEnv) deleteObject(t *testing.T, key string) {
	t.Helper()
	if _, err := e.s3.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(spacesBucket), Key: aws.String(key)}); err != nil {
		t.Fatal(err)
	}
}

func (e *spacesEnv) objects() []string {
	var out []string
	for _, r := range e.sim.Resources() {
		if r.Kind == "spaces_object" {
			out = append(out, r.ID)
		}
	}
	return out
}

func (e *spacesEnv) count(action string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls["spaces:"+action]
}

func (e *spacesEnv) advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.offset += d
}

// A droplet whose boothook fetches its bootstrap data joins, and the
// object is gone after the boot; curl's retries get through throttling.
// One whose object was deleted before it booted never joins, and still
// sends the DELETE.
func TestSpacesBoothook(t *testing.T) {
	sim, logs := newLoggingSim(t)
	sp := newSpacesEnv(t)
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, dropletName+dropletProviderID)
	ud := sp.store(t, "m1/a.gz", initData)
	sp.fail["spaces:GetObject"] = 2
	cs := startCluster(t, sim, droplet(510000001, "c1-cp-abcde", 2, ud), endpoint, certs)
	if n := getNode(t, cs, "c1-cp-abcde"); n.Spec.ProviderID != "digitalocean://510000001" {
		t.Errorf("node provider ID %q", n.Spec.ProviderID)
	}
	if gets, deletes, left := sp.count("GetObject"), sp.count("DeleteObject"), sp.objects(); gets != 3 || deletes != 1 || len(left) != 0 {
		t.Errorf("GETs %d (2 throttled), DELETEs %d, objects left %v: want the object read, deleted, and gone", gets, deletes, left)
	}

	// The object is gone now: a second droplet with the same URLs fails.
	createToken(t, cs, "abcdef", "0123456789abcdef")
	worker := sp.store(t, "m2/a.gz", joinUserData(t, endpoint, "abcdef.0123456789abcdef", dropletName+dropletProviderID))
	sp.deleteObject(t, "m2/a.gz")
	gets, deletes := sp.count("GetObject"), sp.count("DeleteObject")
	sim.InstanceRunning(droplet(510000002, "c1-md-fghij", 3, worker))
	eventually(t, "the failed fetch is logged", func() bool {
		return logs.has(`"msg"="cloud-init failed"`) && logs.has("510000002") && logs.has("returned error: 404")
	})
	if hasNode(sim, "510000002") {
		t.Error("a droplet joined without its bootstrap data")
	}
	if g, d := sp.count("GetObject")-gets, sp.count("DeleteObject")-deletes; g != 1 || d != 1 {
		t.Errorf("the droplet sent %d GETs and %d DELETEs, want one of each", g, d)
	}
}

// A droplet that boots after its URLs expired never joins; the DELETE
// URL has expired too, so the object is left for the controller.
func TestSpacesBoothookExpiredURLs(t *testing.T) {
	sim, logs := newLoggingSim(t)
	sp := newSpacesEnv(t)
	endpoint := loopbackEndpoint(t)
	initData, _ := initUserData(t, endpoint, dropletName+dropletProviderID)
	ud := sp.store(t, "m1/a.gz", initData)
	sp.advance(16 * time.Minute)
	sim.InstanceRunning(droplet(510000001, "c1-cp-abcde", 2, ud))
	eventually(t, "the failed fetch is logged", func() bool {
		return logs.has(`"msg"="cloud-init failed"`) && logs.has("returned error: 403") && logs.has("could not delete its bootstrap data")
	})
	if hasNode(sim, "510000001") {
		t.Error("a droplet joined with expired URLs")
	}
	if left := sp.objects(); len(left) != 1 {
		t.Errorf("objects %v: the expired DELETE URL deleted it", left)
	}
}

func TestParseSpacesFetchScript(t *testing.T) {
	f, ok, err := parseSpacesFetchScript([]byte(spacesScriptFor("http://s/a?x=1&y=%2F", "http://s/a?x-id=DeleteObject")))
	if !ok || err != nil || f.getURL != "http://s/a?x=1&y=%2F" || f.deleteURL != "http://s/a?x-id=DeleteObject" || f.file != "/etc/secret-userdata.txt" {
		t.Fatalf("parsed %+v, %v, %v", f, ok, err)
	}
	if _, ok, _ := parseSpacesFetchScript([]byte(fetchScriptFor("aws.cluster.x-k8s.io/p", 1, testRegion))); ok {
		t.Error("a Secrets Manager boothook read as a Spaces one")
	}
	if _, ok, _ := parseSpacesFetchScript([]byte("#!/bin/bash\nBOOTSTRAP_DATA_URL='http://s/a'\nwget -O x \"$BOOTSTRAP_DATA_URL\"\n")); ok {
		t.Error("a script without curl read as a Spaces boothook")
	}
	if _, ok, err := parseSpacesFetchScript([]byte("#!/bin/bash\nBOOTSTRAP_DATA_URL='http://s/a'\ncurl -o x \"$BOOTSTRAP_DATA_URL\"\n")); !ok || err == nil {
		t.Error("a script without its DELETE URL was accepted")
	}
}
