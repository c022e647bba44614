package dosim

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/digitalocean/godo"
	"golang.org/x/crypto/ssh"
)

// scenario is a sequence of godo calls a Cluster API provider makes,
// run once straight against the simulator and once through a validating
// proxy of DigitalOcean's OpenAPI description.
type scenario struct {
	name string
	run  func(t *testing.T, c *godo.Client)
}

var scenarios = []scenario{
	{"catalog", func(t *testing.T, c *godo.Client) {
		_, _, err := c.Account.Get(ctx)
		must(t, err)
		_, _, err = c.Regions.List(ctx, &godo.ListOptions{PerPage: 5})
		must(t, err)
		_, _, err = c.Sizes.List(ctx, &godo.ListOptions{Page: 2, PerPage: 3})
		must(t, err)
		_, _, err = c.Images.GetBySlug(ctx, "ubuntu-24-04-x64")
		must(t, err)
		_, _, err = c.Images.GetByID(ctx, ImageID(KubernetesImageName("2404", "v1.36.3")))
		must(t, err)
		_, _, err = c.Images.ListDistribution(ctx, nil)
		must(t, err)
		_, _, err = c.Images.ListUser(ctx, &godo.ListOptions{PerPage: 200})
		must(t, err)
		_, _, err = c.Images.GetBySlug(ctx, "no-such-image")
		mustStatus(t, err, http.StatusNotFound)
	}},
	{"ssh keys", func(t *testing.T, c *godo.Client) {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		must(t, err)
		sshPub, err := ssh.NewPublicKey(pub)
		must(t, err)
		k, _, err := c.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "admin", PublicKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))})
		must(t, err)
		_, _, err = c.Keys.GetByFingerprint(ctx, k.Fingerprint)
		must(t, err)
		_, _, err = c.Keys.List(ctx, nil)
		must(t, err)
		_, _, err = c.Keys.UpdateByID(ctx, k.ID, &godo.KeyUpdateRequest{Name: "renamed"})
		must(t, err)
		must2(t)(c.Keys.DeleteByID(ctx, k.ID))
	}},
	{"cluster network and machines", func(t *testing.T, c *godo.Client) {
		v, _, err := c.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "c1-net", RegionSlug: "nyc1", IPRange: "192.168.32.0/24", Description: "c1"})
		must(t, err)
		_, _, err = c.VPCs.Get(ctx, v.ID)
		must(t, err)
		_, _, err = c.VPCs.List(ctx, &godo.ListOptions{PerPage: 4})
		must(t, err)
		_, _, err = c.VPCs.Update(ctx, v.ID, &godo.VPCUpdateRequest{Name: "c1-network", Description: "cluster c1"})
		must(t, err)
		_, _, err = c.VPCs.Set(ctx, v.ID, godo.VPCSetDescription("cluster c1's network"))
		must(t, err)
		_, _, err = c.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "clash", RegionSlug: "nyc1", IPRange: "192.168.32.0/25"})
		mustStatus(t, err, http.StatusUnprocessableEntity)
		_, err = c.VPCs.Delete(ctx, defaultVPCOf(t, c, "nyc1"))
		mustStatus(t, err, http.StatusForbidden)
		pair, _, err := c.Droplets.CreateMultiple(ctx, &godo.DropletMultiCreateRequest{Names: []string{"c1-extra-0", "c1-extra-1"}, Region: "nyc1",
			Size: "s-1vcpu-1gb", Image: ubuntu, VPCUUID: v.ID, Tags: []string{"c1-extra"}, SSHKeys: []godo.DropletCreateSSHKey{}})
		must(t, err)
		if len(pair) != 2 {
			t.Fatalf("%d droplets", len(pair))
		}
		must2(t)(c.Droplets.DeleteByTag(ctx, "c1-extra"))
		must2(t)(c.Tags.Delete(ctx, "c1-extra"))

		lb, _, err := c.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{
			Name: "c1-apiserver", Region: "nyc1", VPCUUID: v.ID, Tag: "c1-control-plane", SizeUnit: 1,
			ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "tcp", EntryPort: 6443, TargetProtocol: "tcp", TargetPort: 6443}},
			HealthCheck: &godo.HealthCheck{Protocol: "tcp", Port: 6443, CheckIntervalSeconds: 10, ResponseTimeoutSeconds: 5,
				HealthyThreshold: 5, UnhealthyThreshold: 3},
		})
		must(t, err)
		d, _, err := c.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "c1-cp-0", Region: "nyc1", Size: "s-2vcpu-4gb",
			Image: godo.DropletCreateImage{ID: ImageID(KubernetesImageName("2404", "v1.36.3"))}, VPCUUID: v.ID, UserData: "#cloud-config\n",
			Tags: []string{"c1-control-plane", "c1-machine-cp-0"}, SSHKeys: []godo.DropletCreateSSHKey{}, Monitoring: true})
		must(t, err)
		w, _, err := c.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "c1-worker-0", Region: "nyc1", Size: "s-2vcpu-4gb",
			Image: ubuntu, VPCUUID: v.ID, Tags: []string{"c1-node"}, SSHKeys: []godo.DropletCreateSSHKey{}, IPv6: true})
		must(t, err)
		_, _, err = c.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "c1-bad", Region: "nyc1", Size: "s-99vcpu",
			Image: ubuntu, Tags: []string{"x"}, SSHKeys: []godo.DropletCreateSSHKey{}})
		mustStatus(t, err, http.StatusUnprocessableEntity)
		d, _, err = c.Droplets.Get(ctx, d.ID)
		must(t, err)
		if d.Status != "active" {
			t.Fatalf("droplet %s", d.Status)
		}
		_, _, err = c.Droplets.ListByTag(ctx, "c1-machine-cp-0", nil)
		must(t, err)
		_, _, err = c.Droplets.ListByName(ctx, "c1-worker-0", nil)
		must(t, err)
		_, _, err = c.Droplets.List(ctx, &godo.ListOptions{PerPage: 1})
		must(t, err)
		_, _, err = c.Droplets.Get(ctx, 1)
		mustStatus(t, err, http.StatusNotFound)
		_, _, err = c.VPCs.ListMembers(ctx, v.ID, nil, nil)
		must(t, err)
		lb, _, err = c.LoadBalancers.Get(ctx, lb.ID)
		must(t, err)
		_, _, err = c.LoadBalancers.List(ctx, nil)
		must(t, err)
		_, _, err = c.LoadBalancers.ListByUUIDs(ctx, []string{lb.ID}, nil)
		must(t, err)
		_, err = c.LoadBalancers.AddDroplets(ctx, lb.ID, w.ID)
		mustStatus(t, err, http.StatusUnprocessableEntity)

		_, _, err = c.Tags.Create(ctx, &godo.TagCreateRequest{Name: "c1-firewalled"})
		must(t, err)
		fw, _, err := c.Firewalls.Create(ctx, &godo.FirewallRequest{
			Name: "c1-nodes",
			InboundRules: []godo.InboundRule{
				{Protocol: "tcp", PortRange: "6443", Sources: &godo.Sources{LoadBalancerUIDs: []string{lb.ID}, Addresses: []string{"0.0.0.0/0"}}},
				{Protocol: "tcp", PortRange: "1-65535", Sources: &godo.Sources{Tags: []string{"c1-firewalled"}}},
			},
			OutboundRules: []godo.OutboundRule{{Protocol: "udp", PortRange: "53", Destinations: &godo.Destinations{Addresses: []string{"0.0.0.0/0", "::/0"}}}},
			Tags:          []string{"c1-firewalled"},
		})
		must(t, err)
		_, _, err = c.Firewalls.Get(ctx, fw.ID)
		must(t, err)
		must2(t)(c.Firewalls.AddDroplets(ctx, fw.ID, d.ID, w.ID))
		must2(t)(c.Firewalls.RemoveDroplets(ctx, fw.ID, w.ID))
		must2(t)(c.Firewalls.AddRules(ctx, fw.ID, &godo.FirewallRulesRequest{
			InboundRules: []godo.InboundRule{{Protocol: "udp", PortRange: "8472", Sources: &godo.Sources{DropletIDs: []int{d.ID}}}}}))
		must2(t)(c.Firewalls.RemoveRules(ctx, fw.ID, &godo.FirewallRulesRequest{
			InboundRules: []godo.InboundRule{{Protocol: "udp", PortRange: "8472", Sources: &godo.Sources{DropletIDs: []int{d.ID}}}}}))
		must2(t)(c.Firewalls.RemoveTags(ctx, fw.ID, "c1-firewalled"))
		must2(t)(c.Firewalls.AddTags(ctx, fw.ID, "c1-firewalled"))
		_, _, err = c.Firewalls.Update(ctx, fw.ID, &godo.FirewallRequest{Name: "c1-nodes",
			InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{Addresses: []string{"10.0.0.0/8"}}}},
			DropletIDs:   []int{d.ID}, Tags: []string{}})
		must(t, err)
		_, _, err = c.Firewalls.List(ctx, nil)
		must(t, err)
		_, _, err = c.Firewalls.ListByDroplet(ctx, d.ID, nil)
		must(t, err)
		_, _, err = c.Firewalls.Create(ctx, &godo.FirewallRequest{Name: "bad",
			InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "99999", Sources: &godo.Sources{Addresses: []string{"0.0.0.0/0"}}}}})
		mustStatus(t, err, http.StatusBadRequest)

		a, _, err := c.DropletActions.PowerOff(ctx, w.ID)
		must(t, err)
		_, _, err = c.DropletActions.Get(ctx, w.ID, a.ID)
		must(t, err)
		_, _, err = c.Actions.Get(ctx, a.ID)
		must(t, err)
		_, _, err = c.Droplets.Actions(ctx, w.ID, nil)
		must(t, err)
		_, _, err = c.DropletActions.PowerOn(ctx, w.ID)
		must(t, err)

		lb2, _, err := c.LoadBalancers.Create(ctx, &godo.LoadBalancerRequest{Name: "c1-ingress", Region: "nyc1", VPCUUID: v.ID, DropletIDs: []int{w.ID},
			ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "http", EntryPort: 80, TargetProtocol: "http", TargetPort: 30080}}})
		must(t, err)
		must2(t)(c.LoadBalancers.AddDroplets(ctx, lb2.ID, d.ID))
		must2(t)(c.LoadBalancers.RemoveDroplets(ctx, lb2.ID, d.ID))
		must2(t)(c.LoadBalancers.AddForwardingRules(ctx, lb2.ID, godo.ForwardingRule{EntryProtocol: "tcp", EntryPort: 443, TargetProtocol: "tcp", TargetPort: 30443}))
		must2(t)(c.LoadBalancers.RemoveForwardingRules(ctx, lb2.ID, godo.ForwardingRule{EntryProtocol: "tcp", EntryPort: 443, TargetProtocol: "tcp", TargetPort: 30443}))
		_, _, err = c.LoadBalancers.Update(ctx, lb2.ID, &godo.LoadBalancerRequest{Name: "c1-ingress", Region: "nyc1", VPCUUID: v.ID, DropletIDs: []int{w.ID},
			ForwardingRules: []godo.ForwardingRule{{EntryProtocol: "http", EntryPort: 80, TargetProtocol: "http", TargetPort: 30081}},
			HealthCheck:     &godo.HealthCheck{Protocol: "http", Port: 30081, Path: "/healthz"}})
		must(t, err)

		_, _, err = c.Tags.Get(ctx, "c1-node")
		must(t, err)
		must2(t)(c.Tags.TagResources(ctx, "c1-firewalled", &godo.TagResourcesRequest{Resources: []godo.Resource{{ID: strconv.Itoa(w.ID), Type: godo.DropletResourceType}}}))
		must2(t)(c.Tags.UntagResources(ctx, "c1-firewalled", &godo.UntagResourcesRequest{Resources: []godo.Resource{{ID: strconv.Itoa(w.ID), Type: godo.DropletResourceType}}}))
		_, _, err = c.Tags.List(ctx, &godo.ListOptions{PerPage: 2})
		must(t, err)

		_, err = c.VPCs.Delete(ctx, v.ID)
		mustStatus(t, err, http.StatusForbidden)
		must2(t)(c.Firewalls.Delete(ctx, fw.ID))
		must2(t)(c.LoadBalancers.Delete(ctx, lb.ID))
		must2(t)(c.LoadBalancers.Delete(ctx, lb2.ID))
		must2(t)(c.Droplets.Delete(ctx, w.ID))
		must2(t)(c.Droplets.DeleteByTag(ctx, "c1-control-plane"))
		must2(t)(c.VPCs.Delete(ctx, v.ID))
		for _, tag := range []string{"c1-control-plane", "c1-machine-cp-0", "c1-node", "c1-firewalled"} {
			must2(t)(c.Tags.Delete(ctx, tag))
		}
	}},
}

// defaultVPCOf is the region's default VPC, found as a client finds it.
func defaultVPCOf(t *testing.T, c *godo.Client, region string) string {
	t.Helper()
	vpcs, _, err := c.VPCs.List(ctx, &godo.ListOptions{PerPage: 200})
	must(t, err)
	for _, v := range vpcs {
		if v.Default && v.RegionSlug == region {
			return v.ID
		}
	}
	t.Fatalf("no default VPC in %s", region)
	return ""
}

// TestScenarios runs the scenarios straight against the simulator and
// checks they leave nothing behind.
func TestScenarios(t *testing.T) {
	l := newLab(t, Config{})
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, l.client) })
	}
	if live := l.sim.Resources(); len(live) != 0 {
		t.Fatalf("left behind: %+v", live)
	}
}
