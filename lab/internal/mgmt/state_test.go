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
