package digitalocean

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
)

// networkOnlyCluster makes a DOCluster with spec and its Cluster, without
// a control plane and without waiting, and deletes them at the end of the
// test, checking that nothing of theirs is left.
func (e env) networkOnlyCluster(t *testing.T, name string, spec func(*infrav1.DOClusterSpec)) (*infrav1.DOCluster, *clusterv1.Cluster) {
	t.Helper()
	doCluster, cluster := testCluster(name)
	spec(&doCluster.Spec)
	e.create(t, doCluster, cluster)
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
		e.deleteCluster(t, cluster)
		if left := resources(t); len(left) != 0 {
			t.Errorf("simulator resources left after deleting %s: %+v", name, left)
		}
	})
	return doCluster, cluster
}

// defaultVPC is the simulator's default VPC of region.
func defaultVPC(t *testing.T, e env, region string) string {
	t.Helper()
	vpcs, _, err := e.godo.VPCs.List(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vpcs {
		if v.Default && v.RegionSlug == region {
			return v.ID
		}
	}
	t.Fatalf("no default VPC in %s", region)
	return ""
}

// A DOCluster whose VPC cannot be as specified says so within seconds, on
// Ready and VPCReady, with a reason that says no retry helps and the
// cause, and is retried slowly: an IP range DigitalOcean refuses, and an
// existing VPC of another region.
func TestAccDOClusterPermanentFailuresAreReportedAndRetriedSlowly(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	suffix := fmt.Sprintf("%05d", time.Now().UnixNano()%100000)
	elsewhere := defaultVPC(t, e, "sfo3")
	cases := []struct {
		name    string
		spec    func(*infrav1.DOClusterSpec)
		message string
	}{
		{"range-" + suffix, func(s *infrav1.DOClusterSpec) { s.VPC.IPRange = "10.0.0.0/12" }, "creating VPC range-" + suffix},
		{"region-" + suffix, func(s *infrav1.DOClusterSpec) { s.VPC.VPCUUID = elsewhere },
			"VPC " + elsewhere + " is in region sfo3, not in the cluster's region " + testRegion},
	}
	before := calls(t)
	clusters := map[string]*infrav1.DOCluster{}
	for _, c := range cases {
		clusters[c.name], _ = e.networkOnlyCluster(t, c.name, c.spec)
	}
	for _, c := range cases {
		dc := clusters[c.name]
		eventually(t, c.name+" reports a permanent failure", 30*time.Second, func() (bool, error) {
			err := e.c.Get(ctx, client.ObjectKeyFromObject(dc), dc)
			ready := meta.FindStatusCondition(dc.Status.Conditions, infrav1.ReadyCondition)
			return err == nil && ready != nil && infrav1.IsPermanentFailure(ready.Reason), err
		})
		ready := meta.FindStatusCondition(dc.Status.Conditions, infrav1.ReadyCondition)
		vpc := meta.FindStatusCondition(dc.Status.Conditions, infrav1.VPCReadyCondition)
		if vpc == nil || vpc.Status != metav1.ConditionFalse || vpc.Reason != infrav1.VPCPermanentFailureReason || vpc.Message != ready.Message {
			t.Errorf("%s: Ready %+v, VPCReady %+v", c.name, ready, vpc)
		}
		if !strings.Contains(ready.Message, c.message) || strings.Contains(ready.Message, "request") {
			t.Errorf("%s: message %q, want %q without the request's details", c.name, ready.Message, c.message)
		}
		if e.warnings(t, c.name, infrav1.VPCPermanentFailureReason) == 0 {
			t.Errorf("%s: no %s warning event", c.name, infrav1.VPCPermanentFailureReason)
		}
	}
	const window = 40 * time.Second
	time.Sleep(window)
	used := callsSince(t, before)
	t.Logf("calls of two refused clusters in about %s: %v", window, used)
	if used["vpcs:create"] > 4 {
		t.Errorf("vpcs:create called %d times for a range DigitalOcean refuses", used["vpcs:create"])
	}
	if used["vpcs:get"] > 4 {
		t.Errorf("vpcs:get called %d times for a VPC of another region", used["vpcs:get"])
	}
}

// A failure that a retry can clear is reported as such and retried, and
// the cluster comes up once DigitalOcean answers again: here every VPC
// create fails with a server error for a while.
func TestAccDOClusterRecoversFromTransientFailures(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	setFaults(t, []map[string]any{{"action": "vpcs:create", "rate": 1, "error": "server"}})
	name := fmt.Sprintf("transient-%05d", time.Now().UnixNano()%100000)
	dc, _ := e.networkOnlyCluster(t, name, func(*infrav1.DOClusterSpec) {})
	eventually(t, "the failure reported", 30*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(dc), dc)
		return err == nil && meta.FindStatusCondition(dc.Status.Conditions, infrav1.VPCReadyCondition) != nil, err
	})
	vpc := meta.FindStatusCondition(dc.Status.Conditions, infrav1.VPCReadyCondition)
	if vpc.Status != metav1.ConditionFalse || vpc.Reason != "VPCFailed" || !strings.Contains(vpc.Message, "500 Internal Server Error") {
		t.Errorf("VPCReady = %+v, want a failure a retry may clear", vpc)
	}
	setFaults(t, nil)
	eventually(t, "DOCluster provisioned after DigitalOcean recovered", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(dc), dc)
		return err == nil && ptr.Deref(dc.Status.Initialization.Provisioned, false), err
	})
}

// A cluster in an existing VPC (here the region's default one) puts its
// firewall and load balancer there, updates its firewall when the spec
// opens SSH, and leaves the VPC when it is deleted.
func TestAccDOClusterInExistingVPC(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	existing := defaultVPC(t, e, testRegion)
	name := fmt.Sprintf("byo-%05d", time.Now().UnixNano()%100000)
	dc, cluster := e.networkOnlyCluster(t, name, func(s *infrav1.DOClusterSpec) { s.VPC.VPCUUID = existing })
	eventually(t, "DOCluster provisioned", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(dc), dc)
		return err == nil && ptr.Deref(dc.Status.Initialization.Provisioned, false), err
	})
	lb, _, err := e.godo.LoadBalancers.Get(ctx, dc.Status.Network.LoadBalancer.ID)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Status.Network.VPCUUID != existing || lb.VPCUUID != existing {
		t.Errorf("cluster in VPC %s, load balancer in %s, want %s", dc.Status.Network.VPCUUID, lb.VPCUUID, existing)
	}
	if n := countKinds(t)["vpc"]; n != 0 {
		t.Errorf("%d VPCs made for a cluster in an existing one", n)
	}

	// Opening SSH updates the firewall in place, once: the rules as
	// DigitalOcean returns them are the spec's.
	before := calls(t)
	patched := dc.DeepCopy()
	patched.Spec.Firewall.SSHSources = []string{"198.51.100.7/32"}
	if err := e.c.Patch(ctx, patched, client.MergeFrom(dc)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "SSH open", 30*time.Second, func() (bool, error) {
		fw, _, err := e.godo.Firewalls.Get(ctx, dc.Status.Network.FirewallID)
		if err != nil {
			return false, err
		}
		for _, r := range fw.InboundRules {
			if r.Protocol == "tcp" && r.PortRange == "22" {
				return len(r.Sources.Addresses) == 1 && r.Sources.Addresses[0] == "198.51.100.7/32", nil
			}
		}
		return false, nil
	})
	time.Sleep(5 * time.Second)
	if n := callsSince(t, before)["firewalls:update"]; n != 1 {
		t.Errorf("firewalls:update called %d times for one change of the spec", n)
	}
	e.deleteCluster(t, cluster)
	if _, _, err := e.godo.VPCs.Get(ctx, existing); err != nil {
		t.Errorf("the existing VPC after the cluster's deletion: %v", err)
	}
}
