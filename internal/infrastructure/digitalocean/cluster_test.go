package digitalocean

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/digitalocean/cloud"
)

// A Cluster with DigitalOcean infrastructure and a kubeadm control plane:
// the VPC, the firewall and the load balancer appear in the simulator, the
// endpoint is the load balancer's IP, the first control plane droplet runs
// in the VPC with the tags the firewall and the load balancer go by, its
// Machine gets its provider ID and addresses and, once the lab's kubeadm
// has registered the node with KubeletProviderID, its node; deleting the
// Cluster leaves the simulator empty.
func TestAccDOClusterWithControlPlane(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	name := fmt.Sprintf("do-%05d", time.Now().UnixNano()%100000)
	before := calls(t)
	doCluster, cluster := testCluster(name)
	template, kcp := withControlPlane(cluster, kubernetesImage(t, "v1.36.0"))
	e.create(t, doCluster, template, kcp, cluster)
	t.Cleanup(func() {
		if t.Failed() {
			dumpObjects(t, e.c)
		}
	})

	eventually(t, "Cluster provisioned", 60*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), cluster)
		return err == nil && cluster.Status.Phase == string(clusterv1.ClusterPhaseProvisioned), err
	})
	if err := e.c.Get(ctx, client.ObjectKeyFromObject(doCluster), doCluster); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{infrav1.VPCReadyCondition, infrav1.FirewallReadyCondition, infrav1.LoadBalancerReadyCondition, infrav1.ReadyCondition} {
		if cond := meta.FindStatusCondition(doCluster.Status.Conditions, c); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("%s = %+v", c, cond)
		}
	}
	st := doCluster.Status.Network
	if ep := cluster.Spec.ControlPlaneEndpoint; ep.Host == "" || ep.Host != st.LoadBalancer.IP || ep.Port != 6443 {
		t.Errorf("control plane endpoint = %+v, want the load balancer's IP %q and 6443", ep, st.LoadBalancer.IP)
	}
	if fd := doCluster.Status.FailureDomains; len(fd) != 1 || fd[0].Name != testRegion || !ptr.Deref(fd[0].ControlPlane, false) {
		t.Errorf("failure domains = %+v, want the region", fd)
	}
	machines := e.machinesProvisioned(t, name, 1, 60*time.Second)
	// The reconcilers' calls alone, before the test's own.
	provisioned := callsSince(t, before)
	id := cloud.Cluster{Namespace: "default", Name: name, Region: testRegion}
	checkVPC(t, e, st)
	checkFirewall(t, e, id, st)
	checkLoadBalancer(t, e, id, st)
	checkControlPlaneDroplet(t, e, id, st, machines[0])
	// The lab's kubeadm registers the node with the kubelet's provider-id
	// (KubeletProviderID), which Cluster API matches to the Machine.
	eventually(t, "control plane node matched to its Machine", 90*time.Second, func() (bool, error) {
		m := &clusterv1.Machine{}
		err := e.c.Get(ctx, client.ObjectKeyFromObject(&machines[0]), m)
		return err == nil && m.Status.NodeRef.IsDefined() && m.Status.Phase == string(clusterv1.MachinePhaseRunning), err
	})
	// The bootstrap data went through Spaces: the droplet's user data
	// holds no key and its URLs yield nothing now, and no object is left
	// once the DOMachine's record of it is cleared.
	doMachine := &infrav1.DOMachine{}
	eventually(t, "bootstrap data deleted", 30*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: machines[0].Spec.InfrastructureRef.Name}, doMachine)
		return err == nil && doMachine.Status.BootstrapData.Key == "" && doMachine.Status.BootstrapData.Bucket != "", err
	})
	checkUserDataYieldsNoKey(t, dropletIDOf(t, doMachine))
	if left := bootstrapObjects(t, string(doMachine.UID)); len(left) != 0 {
		t.Errorf("bootstrap data left after the node joined: %v", left)
	}
	kinds := countKinds(t)
	// Tags: the cluster's, its control plane's and the machine's.
	for kind, n := range map[string]int{"vpc": 1, "firewall": 1, "load_balancer": 1, "droplet": 1, "tag": 3, "spaces_bucket": 1, "spaces_object": 0} {
		if kinds[kind] != n {
			t.Errorf("simulator has %d %s, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}

	beforeDelete := calls(t)
	e.deleteCluster(t, cluster)
	t.Logf("DigitalOcean calls per action until the control plane machine was provisioned: %v", provisioned)
	t.Logf("DigitalOcean calls per action to delete the cluster: %v", callsSince(t, beforeDelete))
	if left := resources(t); len(left) != 0 {
		t.Errorf("simulator resources left after delete: %+v", left)
	}
	var doMachines infrav1.DOMachineList
	if err := e.c.List(ctx, &doMachines, client.InNamespace("default")); err != nil || len(doMachines.Items) != 0 {
		t.Errorf("DOMachines left: %d %v", len(doMachines.Items), err)
	}
}

func checkVPC(t *testing.T, e env, st infrav1.NetworkStatus) {
	t.Helper()
	vpc, _, err := e.godo.VPCs.Get(context.Background(), st.VPCUUID)
	if err != nil {
		t.Fatal(err)
	}
	if vpc.RegionSlug != testRegion || vpc.IPRange == "" || vpc.IPRange != st.VPCIPRange || vpc.Default {
		t.Errorf("VPC %+v, status %+v", vpc, st)
	}
}

// checkFirewall checks the firewall's rules: the API server port open to
// everyone (the default) and the VPC, the droplets open to each other by
// the cluster's tag, the kubelet and the NodePorts to the VPC, SSH closed,
// outbound open, and the firewall on the cluster's droplets.
func checkFirewall(t *testing.T, e env, id cloud.Cluster, st infrav1.NetworkStatus) {
	t.Helper()
	fw, _, err := e.godo.Firewalls.Get(context.Background(), st.FirewallID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fw.Tags, []string{id.Tag()}) {
		t.Errorf("firewall applies to %v, want %s", fw.Tags, id.Tag())
	}
	inbound := map[string]*godo.Sources{}
	for _, r := range fw.InboundRules {
		inbound[r.Protocol+":"+r.PortRange] = r.Sources
	}
	if s := inbound["tcp:6443"]; s == nil || !slices.Equal(s.Addresses, []string{"0.0.0.0/0", "::/0", st.VPCIPRange}) {
		t.Errorf("API server port open to %+v", s)
	}
	for _, rule := range []string{"tcp:10250", "tcp:30000-32767", "udp:30000-32767"} {
		if s := inbound[rule]; s == nil || !slices.Equal(s.Addresses, []string{st.VPCIPRange}) {
			t.Errorf("%s open to %+v, want the VPC", rule, s)
		}
	}
	if s := inbound["tcp:0"]; s == nil || !slices.Equal(s.Tags, []string{id.Tag()}) {
		t.Errorf("droplets not open to each other: %+v", s)
	}
	if _, ok := inbound["tcp:22"]; ok {
		t.Error("SSH open without sources")
	}
	if len(fw.OutboundRules) != 3 {
		t.Errorf("outbound rules %+v", fw.OutboundRules)
	}
}

// checkLoadBalancer checks the API server load balancer: TCP 6443 to
// 6443, a TCP health check, in the VPC, sending to the control plane tag.
func checkLoadBalancer(t *testing.T, e env, id cloud.Cluster, st infrav1.NetworkStatus) {
	t.Helper()
	lb, _, err := e.godo.LoadBalancers.Get(context.Background(), st.LoadBalancer.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := godo.ForwardingRule{EntryProtocol: "tcp", EntryPort: 6443, TargetProtocol: "tcp", TargetPort: 6443}
	if len(lb.ForwardingRules) != 1 || lb.ForwardingRules[0] != want {
		t.Errorf("forwarding rules %+v", lb.ForwardingRules)
	}
	if hc := lb.HealthCheck; hc == nil || hc.Protocol != "tcp" || hc.Port != 6443 || hc.CheckIntervalSeconds != 10 || hc.HealthyThreshold != 5 {
		t.Errorf("health check %+v", hc)
	}
	if lb.Tag != id.ControlPlaneTag() || lb.VPCUUID != st.VPCUUID || lb.Status != "active" || lb.IP != st.LoadBalancer.IP {
		t.Errorf("load balancer tag %q, VPC %s, status %s, IP %s", lb.Tag, lb.VPCUUID, lb.Status, lb.IP)
	}
}

// checkControlPlaneDroplet checks the Machine's provider ID and addresses
// against its droplet, and the droplet's place and tags.
func checkControlPlaneDroplet(t *testing.T, e env, id cloud.Cluster, st infrav1.NetworkStatus, machine clusterv1.Machine) {
	t.Helper()
	ctx := context.Background()
	dropletID, err := strconv.Atoi(strings.TrimPrefix(machine.Spec.ProviderID, "digitalocean://"))
	if err != nil || !strings.HasPrefix(machine.Spec.ProviderID, "digitalocean://") {
		t.Fatalf("providerID = %q", machine.Spec.ProviderID)
	}
	d, _, err := e.godo.Droplets.Get(ctx, dropletID)
	if err != nil {
		t.Fatal(err)
	}
	doMachine := &infrav1.DOMachine{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: machine.Namespace, Name: machine.Spec.InfrastructureRef.Name}, doMachine); err != nil {
		t.Fatal(err)
	}
	private, _ := d.PrivateIPv4()
	public, _ := d.PublicIPv4()
	want := []clusterv1.MachineAddress{{Type: clusterv1.MachineInternalIP, Address: private}, {Type: clusterv1.MachineExternalIP, Address: public}}
	if private == "" || public == "" || !slices.Equal(doMachine.Status.Addresses, want) || !slices.Equal(machine.Status.Addresses, want) {
		t.Errorf("addresses: DOMachine %+v, Machine %+v, want %+v", doMachine.Status.Addresses, machine.Status.Addresses, want)
	}
	for _, c := range []string{infrav1.DropletReadyCondition, infrav1.ReadyCondition} {
		if cond := meta.FindStatusCondition(doMachine.Status.Conditions, c); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("DOMachine %s = %+v", c, cond)
		}
	}
	if d.Status != "active" || d.VPCUUID != st.VPCUUID || d.Region == nil || d.Region.Slug != testRegion || d.Name != machine.Name {
		t.Errorf("droplet %s status %s, VPC %s, region %+v", d.Name, d.Status, d.VPCUUID, d.Region)
	}
	for _, tag := range []string{id.Tag(), id.ControlPlaneTag(), cloud.MachineTag(string(doMachine.UID))} {
		if !slices.Contains(d.Tags, tag) {
			t.Errorf("droplet tags %v lack %s", d.Tags, tag)
		}
	}
}
