package workload

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// spacesScriptFor is the droplet boothook as the provider writes it.
func spacesScriptFor(get, del string) string {
	return fmt.Sprintf(`#!/bin/bash
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
  exit 1
fi
gunzip -f "${FILE}.gz"
systemctl restart cloud-init
`, get, del)
}

// objectStore is one object behind URLs that need no credential, as
// presigned URLs of Spaces are: GET reads it, DELETE deletes it.
type objectStore struct {
	mu      sync.Mutex
	data    []byte
	gets    int
	deletes int
}

func (o *objectStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		o.gets++
		if o.data == nil {
			http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
			return
		}
		_, _ = w.Write(o.data)
	case http.MethodDelete:
		o.deletes++
		o.data = nil
		w.WriteHeader(http.StatusNoContent)
	}
}

func (o *objectStore) counts() (gets, deletes int, left bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.gets, o.deletes, o.data != nil
}

// A droplet whose boothook fetches its bootstrap data joins, and the
// object is gone after the boot; one whose object was deleted before it
// booted never joins, and still sends the DELETE.
func TestSpacesBoothook(t *testing.T) {
	sim := newSim(t)
	endpoint := loopbackEndpoint(t)
	initData, certs := initUserData(t, endpoint, dropletName+dropletProviderID)
	store := &objectStore{data: gzipped(t, initData)}
	srv := httptest.NewServer(store)
	t.Cleanup(srv.Close)
	// Presigned URLs hold & and %: the single quotes keep them whole.
	get := srv.URL + "/capi-bootstrap-u/m/a.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=k%2Fnyc3&x-id=GetObject"
	del := srv.URL + "/capi-bootstrap-u/m/a.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&x-id=DeleteObject"
	ud := boothookUserData(t, spacesScriptFor(get, del), "file:///etc/secret-userdata.txt")
	cs := startCluster(t, sim, droplet(510000001, "c1-cp-abcde", 2, ud), endpoint, certs)
	if n := getNode(t, cs, "c1-cp-abcde"); n.Spec.ProviderID != "digitalocean://510000001" {
		t.Errorf("node provider ID %q", n.Spec.ProviderID)
	}
	if gets, deletes, left := store.counts(); gets != 1 || deletes != 1 || left {
		t.Errorf("GETs %d, DELETEs %d, object left %v: want one of each and nothing left", gets, deletes, left)
	}

	// The object is gone now: a second droplet with the same URLs fails.
	sim.InstanceRunning(droplet(510000002, "c1-cp-fghij", 3, ud))
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if gets, deletes, _ := store.counts(); gets == 2 && deletes == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if hasNode(sim, "510000002") {
		t.Error("a droplet joined without its bootstrap data")
	}
	if gets, deletes, _ := store.counts(); gets != 2 || deletes != 2 {
		t.Errorf("GETs %d, DELETEs %d after the failed boot, want 2 and 2", gets, deletes)
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
	if _, ok, err := parseSpacesFetchScript([]byte("#!/bin/bash\nBOOTSTRAP_DATA_URL='http://s/a'\ncurl -o x \"$BOOTSTRAP_DATA_URL\"\n")); !ok || err == nil {
		t.Error("a script without its DELETE URL was accepted")
	}
}
