package dosim

import (
	"net/http"
	"testing"

	"github.com/digitalocean/godo"
)

func TestFirewallLifecycle(t *testing.T) {
	l := newLab(t, Config{})
	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "cp-0", Tags: []string{"c1-cp"}})
	apiServer := godo.InboundRule{Protocol: "tcp", PortRange: "6443", Sources: &godo.Sources{Addresses: []string{"0.0.0.0/0", "::/0"}}}
	req := &godo.FirewallRequest{
		Name:          "c1-nodes",
		InboundRules:  []godo.InboundRule{apiServer, {Protocol: "tcp", PortRange: "all", Sources: &godo.Sources{Tags: []string{"c1-cp"}}}},
		OutboundRules: []godo.OutboundRule{{Protocol: "udp", PortRange: "1-65535", Destinations: &godo.Destinations{Addresses: []string{"0.0.0.0/0"}}}},
		Tags:          []string{"C1-CP"},
	}
	f, resp, err := l.client.Firewalls.Create(ctx, req)
	must(t, err)
	if resp.StatusCode != http.StatusAccepted || f.Status != "waiting" || f.InboundRules[1].PortRange != "0" || f.Tags[0] != "c1-cp" {
		t.Fatalf("%d %+v", resp.StatusCode, f)
	}
	if f, _, _ = l.client.Firewalls.Get(ctx, f.ID); f.Status != "succeeded" {
		t.Fatalf("status %s", f.Status)
	}
	// Firewalls take only tags that exist.
	_, err = l.client.Firewalls.AddTags(ctx, f.ID, "nobody-has-it")
	mustStatus(t, err, http.StatusBadRequest)
	must2(t)(l.client.Firewalls.AddDroplets(ctx, f.ID, d.ID))
	must2(t)(l.client.Firewalls.AddRules(ctx, f.ID, &godo.FirewallRulesRequest{
		InboundRules: []godo.InboundRule{{Protocol: "icmp", Sources: &godo.Sources{DropletIDs: []int{d.ID}}}}}))
	f, _, err = l.client.Firewalls.Get(ctx, f.ID)
	must(t, err)
	if len(f.DropletIDs) != 1 || len(f.InboundRules) != 3 || f.InboundRules[2].PortRange != "0" {
		t.Fatalf("%+v", f)
	}
	byDroplet, _, err := l.client.Firewalls.ListByDroplet(ctx, d.ID, nil)
	must(t, err)
	if len(byDroplet) != 1 {
		t.Fatalf("%d firewalls for the droplet", len(byDroplet))
	}
	must2(t)(l.client.Firewalls.RemoveRules(ctx, f.ID, &godo.FirewallRulesRequest{InboundRules: []godo.InboundRule{apiServer}}))
	must2(t)(l.client.Firewalls.RemoveTags(ctx, f.ID, "c1-cp"))
	must2(t)(l.client.Firewalls.RemoveDroplets(ctx, f.ID, d.ID))
	f, _, err = l.client.Firewalls.Get(ctx, f.ID)
	must(t, err)
	if len(f.InboundRules) != 2 || len(f.Tags) != 0 || len(f.DropletIDs) != 0 {
		t.Fatalf("%+v", f)
	}

	// An update replaces everything: what it leaves out goes.
	f, _, err = l.client.Firewalls.Update(ctx, f.ID, &godo.FirewallRequest{Name: "c1-renamed", InboundRules: []godo.InboundRule{apiServer}})
	must(t, err)
	if f.Name != "c1-renamed" || len(f.InboundRules) != 1 || len(f.OutboundRules) != 0 {
		t.Fatalf("%+v", f)
	}
	list, _, err := l.client.Firewalls.List(ctx, nil)
	must(t, err)
	if len(list) != 1 {
		t.Fatalf("%d firewalls", len(list))
	}
	// A deleted droplet leaves the firewall and its rules.
	must2(t)(l.client.Firewalls.AddRules(ctx, f.ID, &godo.FirewallRulesRequest{
		OutboundRules: []godo.OutboundRule{{Protocol: "tcp", PortRange: "5432", Destinations: &godo.Destinations{DropletIDs: []int{d.ID}, Addresses: []string{"10.0.0.0/8"}}}}}))
	must2(t)(l.client.Firewalls.AddDroplets(ctx, f.ID, d.ID))
	must2(t)(l.client.Droplets.Delete(ctx, d.ID))
	f, _, err = l.client.Firewalls.Get(ctx, f.ID)
	must(t, err)
	if len(f.DropletIDs) != 0 || len(f.OutboundRules[0].Destinations.DropletIDs) != 0 {
		t.Fatalf("%+v %+v", f.DropletIDs, f.OutboundRules[0].Destinations)
	}
	must2(t)(l.client.Firewalls.Delete(ctx, f.ID))
	_, _, err = l.client.Firewalls.Get(ctx, f.ID)
	mustStatus(t, err, http.StatusNotFound)
}

func TestFirewallRefusals(t *testing.T) {
	l := newLab(t, Config{})
	any4 := &godo.Sources{Addresses: []string{"0.0.0.0/0"}}
	for name, req := range map[string]godo.FirewallRequest{
		"no rules":            {Name: "fw"},
		"bad name":            {Name: "-fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: any4}}},
		"one-letter name":     {Name: "f", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: any4}}},
		"unknown protocol":    {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "sctp", PortRange: "22", Sources: any4}}},
		"tcp without ports":   {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", Sources: any4}}},
		"reversed range":      {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "90-80", Sources: any4}}},
		"port past 65535":     {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "udp", PortRange: "70000", Sources: any4}}},
		"no sources":          {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{}}}},
		"bad address":         {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{Addresses: []string{"10.0.0.300"}}}}},
		"unknown droplet":     {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: any4}}, DropletIDs: []int{42}},
		"unknown source tag":  {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{Tags: []string{"x"}}}}},
		"unknown target tag":  {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: any4}}, Tags: []string{"x"}},
		"unknown lb source":   {Name: "fw", InboundRules: []godo.InboundRule{{Protocol: "tcp", PortRange: "22", Sources: &godo.Sources{LoadBalancerUIDs: []string{newUUID()}}}}},
		"outbound without to": {Name: "fw", OutboundRules: []godo.OutboundRule{{Protocol: "tcp", PortRange: "22"}}},
	} {
		_, _, err := l.client.Firewalls.Create(ctx, &req)
		if statusOf(err) != http.StatusBadRequest {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// must2 checks the error of a call that also returns a response.
func must2(t *testing.T) func(*godo.Response, error) {
	return func(_ *godo.Response, err error) {
		t.Helper()
		must(t, err)
	}
}
