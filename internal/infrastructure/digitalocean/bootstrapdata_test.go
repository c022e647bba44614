package digitalocean

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
)

// bootstrapObjects lists the live Spaces objects of a DOMachine's
// attempts.
func bootstrapObjects(t *testing.T, machineUID string) []string {
	t.Helper()
	var out []string
	for _, r := range resources(t) {
		if r.Kind == "spaces_object" && strings.Contains(r.ID, "/"+cloud.MachineBootstrapPrefix(machineUID)) {
			out = append(out, r.ID)
		}
	}
	return out
}

// presignedURL matches the boothook's URL assignments.
var presignedURL = regexp.MustCompile(`(?m)^BOOTSTRAP_DATA(?:_DELETE)?_URL='([^']*)'$`)

// checkUserDataYieldsNoKey checks what a process on the droplet can get
// from its user data once the node joined: no private key in it, and
// nothing from the URLs it holds.
func checkUserDataYieldsNoKey(t *testing.T, dropletID int) {
	t.Helper()
	ud, err := testLab.DropletUserData(dropletID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ud), "PRIVATE KEY") || !strings.Contains(string(ud), "text/cloud-boothook") {
		t.Errorf("user data of droplet %d is not the boothook alone:\n%s", dropletID, ud)
	}
	urls := presignedURL.FindAllStringSubmatch(string(ud), -1)
	if len(urls) != 2 {
		t.Fatalf("user data of droplet %d has %d presigned URLs, want 2:\n%s", dropletID, len(urls), ud)
	}
	resp, err := http.Get(urls[0][1])
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("droplet %d's bootstrap data URL still answers 200 after the node joined", dropletID)
	}
}

func dropletIDOf(t *testing.T, m *infrav1.DOMachine) int {
	t.Helper()
	id, err := strconv.Atoi(strings.TrimPrefix(m.Spec.ProviderID, infrav1.ProviderIDPrefix))
	if err != nil {
		t.Fatalf("provider ID %q: %v", m.Spec.ProviderID, err)
	}
	return id
}

// A machine deleted while its droplet is still new (it never read its
// bootstrap data) leaves no object: the delete removes what the droplet
// would have.
func TestAccDOMachineDeletedBeforeBootLeavesNoObject(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	name := fmt.Sprintf("unbooted-%05d", time.Now().UnixNano()%100000)
	if err := doControl(http.MethodPut, "/_lab/timing", map[string]any{"bootDelay": "10m"}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = doControl(http.MethodPut, "/_lab/timing", testTiming, nil) })
	doCluster, cluster := testCluster(name)
	machine, doMachine, secret := standaloneMachine(cluster, name+"-0", infrav1.DOMachineSpec{Size: "s-2vcpu-4gb", Image: "ubuntu-24-04-x64"})
	e.create(t, doCluster, cluster, secret, doMachine, machine)
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
		e.deleteCluster(t, cluster)
		if left := resources(t); len(left) != 0 {
			t.Errorf("simulator resources left after delete: %+v", left)
		}
	})
	eventually(t, "droplet new with its bootstrap data stored", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(doMachine), doMachine)
		return err == nil && doMachine.Spec.ProviderID != "" && len(bootstrapObjects(t, string(doMachine.UID))) > 0, err
	})
	if bd := doMachine.Status.BootstrapData; bd.Bucket != cloud.BootstrapBucket(string(doCluster.UID)) || bd.Region != testRegion ||
		!strings.HasPrefix(bd.Key, cloud.MachineBootstrapPrefix(string(doMachine.UID))) {
		t.Errorf("bootstrap data recorded as %+v", bd)
	}
	if err := e.c.Delete(ctx, machine); err != nil {
		t.Fatal(err)
	}
	eventually(t, "DOMachine deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(doMachine), &infrav1.DOMachine{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if left := bootstrapObjects(t, string(doMachine.UID)); len(left) != 0 {
		t.Errorf("bootstrap data left after the machine's delete: %v", left)
	}
}

// The reconciler dies after storing the bootstrap data and before its
// droplet is made (here: droplet creates throttled until the engine is
// gone). The next engine makes one droplet with new data; deleting the
// machine leaves no object (the first attempt's included), and the
// cluster's delete leaves nothing in Spaces.
func TestAccDOMachineBootstrapDataSurvivesACrashBeforeTheDroplet(t *testing.T) {
	first := startEngine(t)
	ctx := context.Background()
	name := fmt.Sprintf("crashed-%05d", time.Now().UnixNano()%100000)
	setFaults(t, []map[string]any{{"action": "droplets:create", "rate": 1.0, "error": "throttling"}})
	doCluster, cluster := testCluster(name)
	machine, doMachine, secret := standaloneMachine(cluster, name+"-0", infrav1.DOMachineSpec{Size: "s-2vcpu-4gb", Image: "ubuntu-24-04-x64"})
	first.create(t, doCluster, cluster, secret, doMachine, machine)
	eventually(t, "bootstrap data stored", 90*time.Second, func() (bool, error) {
		err := first.c.Get(ctx, client.ObjectKeyFromObject(doMachine), doMachine)
		return err == nil && doMachine.Status.BootstrapData.Key != "" && len(bootstrapObjects(t, string(doMachine.UID))) > 0, err
	})
	first.stop()
	setFaults(t, nil)

	e := startEngine(t)
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
		e.deleteCluster(t, cluster)
		if left := resources(t); len(left) != 0 {
			t.Errorf("simulator resources left after the cluster's delete: %+v", left)
		}
	})
	eventually(t, "droplet active", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(doMachine), doMachine)
		return err == nil && ptr.Deref(doMachine.Status.Initialization.Provisioned, false), err
	})
	if n := countKinds(t)["droplet"]; n != 1 {
		t.Errorf("%d droplets for one machine", n)
	}
	if err := e.c.Delete(ctx, machine); err != nil {
		t.Fatal(err)
	}
	eventually(t, "DOMachine deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(doMachine), &infrav1.DOMachine{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if left := bootstrapObjects(t, string(doMachine.UID)); len(left) != 0 {
		t.Errorf("bootstrap data left after the machine's delete: %v", left)
	}
	if n := countKinds(t)["droplet"]; n != 0 {
		t.Errorf("%d droplets left after the machine's delete", n)
	}
}
