package mgmt

import "testing"

func TestPortsAreChosenOnceAndKept(t *testing.T) {
	dir := Dir(t.TempDir())
	first, err := dir.LoadOrChoosePorts(0)
	if err != nil {
		t.Fatal(err)
	}
	if first.APIServer == 0 || first.EtcdClient == 0 || first.EtcdPeer == 0 || first.AWS == 0 || first.DigitalOcean == 0 {
		t.Fatalf("ports not chosen: %+v", first)
	}
	again, err := dir.LoadOrChoosePorts(12345)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("ports changed across starts: %+v then %+v", first, again)
	}

	fixed, err := Dir(t.TempDir()).LoadOrChoosePorts(16443)
	if err != nil {
		t.Fatal(err)
	}
	if fixed.APIServer != 16443 {
		t.Errorf("preferred API server port ignored: %+v", fixed)
	}
}

// A lab sharing another's clouds keeps its own management plane ports and
// takes the other's simulator ports, across starts.
func TestShareClouds(t *testing.T) {
	first, second := Dir(t.TempDir()), Dir(t.TempDir())
	if err := second.ShareClouds(first); err == nil {
		t.Fatal("sharing the clouds of a lab that never started: no error")
	}
	theirs, err := first.LoadOrChoosePorts(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.ShareClouds(first); err == nil {
		t.Error("a lab shared its own clouds")
	}
	if err := second.ShareClouds(first); err != nil {
		t.Fatal(err)
	}
	ours, err := second.LoadOrChoosePorts(0)
	if err != nil {
		t.Fatal(err)
	}
	if ours.AWS != theirs.AWS || ours.DigitalOcean != theirs.DigitalOcean {
		t.Errorf("simulator ports %d/%d, want the first lab's %d/%d", ours.AWS, ours.DigitalOcean, theirs.AWS, theirs.DigitalOcean)
	}
	for _, p := range []int{ours.APIServer, ours.EtcdClient, ours.EtcdPeer} {
		if p == 0 || p == theirs.APIServer || p == theirs.EtcdClient || p == theirs.EtcdPeer {
			t.Errorf("management plane ports %+v not the second lab's own (first: %+v)", ours, theirs)
		}
	}
	if of, ok := second.SharesCloudsOf(); !ok || of != first {
		t.Errorf("SharesCloudsOf = %q, %v", of, ok)
	}
	if _, ok := first.SharesCloudsOf(); ok {
		t.Error("the first lab shares clouds")
	}
}
