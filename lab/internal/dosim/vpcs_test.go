package dosim

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

func TestVPCRanges(t *testing.T) {
	l := newLab(t, Config{})
	v, resp, err := l.client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "c1-vpc", RegionSlug: "fra1", Description: "cluster c1", IPRange: "10.10.0.0/16"})
	must(t, err)
	if resp.StatusCode != http.StatusCreated || v.IPRange != "10.10.0.0/16" || v.Default || v.URN != "do:vpc:"+v.ID || v.RegionSlug != "fra1" {
		t.Fatalf("%d %+v", resp.StatusCode, v)
	}
	for _, c := range []struct{ name, ipRange string }{
		{"public range", "11.0.0.0/16"},
		{"larger than /16", "172.16.0.0/15"},
		{"smaller than /28", "192.168.1.0/29"},
		{"overlapping another VPC", "10.10.8.0/24"},
		{"overlapping a default VPC", "10.108.0.0/24"},
		{"reserved by DigitalOcean", "10.244.0.0/20"},
		{"not a network address", "192.168.1.5/24"},
		{"not a CIDR", "192.168.1.0"},
	} {
		_, _, err := l.client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "x-" + c.name[:3], RegionSlug: "fra1", IPRange: c.ipRange})
		if statusOf(err) != http.StatusUnprocessableEntity {
			t.Errorf("%s (%s): %v", c.name, c.ipRange, err)
		}
	}
	for _, c := range []godo.VPCCreateRequest{
		{Name: "c1-vpc", RegionSlug: "ams3"}, // names are unique in the account
		{Name: "c1_vpc", RegionSlug: "ams3"}, // letters, digits, - and . only
		{Name: "c2", RegionSlug: "mars1"},    // unknown region
		{Name: "c2", RegionSlug: "nyc2"},     // unavailable region
		{Name: "", RegionSlug: "ams3"},       // name required
	} {
		_, _, err := l.client.VPCs.Create(ctx, &c)
		if statusOf(err) != http.StatusUnprocessableEntity {
			t.Errorf("%+v: %v", c, err)
		}
	}
	// Without a range, a /20 that overlaps nothing.
	gen, _, err := l.client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "generated", RegionSlug: "ams3"})
	must(t, err)
	p := netip.MustParsePrefix(gen.IPRange)
	if p.Bits() != 20 || !netip.MustParsePrefix("10.0.0.0/8").Contains(p.Addr()) {
		t.Fatalf("generated range %s", gen.IPRange)
	}
	all, resp, err := l.client.VPCs.List(ctx, &godo.ListOptions{PerPage: 200})
	must(t, err)
	if len(all) != 12 || resp.Meta.Total != 12 { // 10 regions' defaults and two
		t.Fatalf("%d VPCs, total %d", len(all), resp.Meta.Total)
	}
	for _, o := range all {
		if o.ID != gen.ID && netip.MustParsePrefix(o.IPRange).Overlaps(p) {
			t.Fatalf("generated %s overlaps %s", p, o.IPRange)
		}
	}
}

func TestVPCUpdateMembersAndDelete(t *testing.T) {
	l := newLab(t, Config{})
	v, _, err := l.client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "c1", RegionSlug: "nyc3", IPRange: "10.20.0.0/24"})
	must(t, err)
	v, _, err = l.client.VPCs.Update(ctx, v.ID, &godo.VPCUpdateRequest{Name: "c1-renamed", Description: "now"})
	must(t, err)
	if v.Name != "c1-renamed" || v.Description != "now" {
		t.Fatalf("%+v", v)
	}
	got, _, err := l.client.VPCs.Get(ctx, v.ID)
	must(t, err)
	if got.Name != "c1-renamed" {
		t.Fatalf("%+v", got)
	}
	def := l.sim.defaultVPC("nyc3")
	_, err = l.client.VPCs.Delete(ctx, def.ID)
	mustStatus(t, err, http.StatusForbidden)

	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "m1", VPCUUID: v.ID})
	members, _, err := l.client.VPCs.ListMembers(ctx, v.ID, &godo.VPCListMembersRequest{ResourceType: "droplet"}, nil)
	must(t, err)
	if len(members) != 1 || members[0].URN != "do:droplet:"+itoa(d.ID) || members[0].Name != "m1" {
		t.Fatalf("members %+v", members)
	}
	_, err = l.client.VPCs.Delete(ctx, v.ID)
	mustStatus(t, err, http.StatusForbidden)
	d, _, _ = l.client.Droplets.Get(ctx, d.ID)
	if ip, _ := d.PrivateIPv4(); ip != "10.20.0.2" {
		t.Fatalf("first private address %q", ip)
	}

	// Making another VPC the default takes the flag from the old one.
	v, _, err = l.client.VPCs.Set(ctx, v.ID, godo.VPCSetDefault())
	must(t, err)
	if !v.Default {
		t.Fatal("not default")
	}
	if old, _, _ := l.client.VPCs.Get(ctx, def.ID); old.Default {
		t.Fatal("two default VPCs in nyc3")
	}
	no := false
	_, _, err = l.client.VPCs.Update(ctx, v.ID, &godo.VPCUpdateRequest{Name: v.Name, Default: &no})
	mustStatus(t, err, http.StatusUnprocessableEntity)

	// A droplet without vpc_uuid now lands in the new default.
	e := l.createDroplet(t, godo.DropletCreateRequest{Name: "m2"})
	if e.VPCUUID != v.ID {
		t.Fatalf("droplet in %s, not the default %s", e.VPCUUID, v.ID)
	}
	_, _, err = l.client.VPCs.Set(ctx, def.ID, godo.VPCSetDefault())
	must(t, err)
	_, err = l.client.Droplets.Delete(ctx, d.ID)
	must(t, err)
	_, err = l.client.Droplets.Delete(ctx, e.ID)
	must(t, err)
	resp, err := l.client.VPCs.Delete(ctx, v.ID)
	must(t, err)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatal(resp.Status)
	}
	_, _, err = l.client.VPCs.Get(ctx, v.ID)
	mustStatus(t, err, http.StatusNotFound)
}

// A VPC's deleted resources stay members for a while: deleting the VPC
// right after them fails with 403 until they are gone.
func TestVPCMembersLeaveAfterTheReleaseDelay(t *testing.T) {
	l := newLab(t, Config{VPCReleaseDelay: 30 * time.Second})
	v, _, err := l.client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "c1", RegionSlug: "nyc3"})
	must(t, err)
	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "a", VPCUUID: v.ID})
	must2(t)(l.client.Droplets.Delete(ctx, d.ID))
	_, err = l.client.VPCs.Delete(ctx, v.ID)
	mustStatus(t, err, http.StatusForbidden)
	members, _, err := l.client.VPCs.ListMembers(ctx, v.ID, nil, nil)
	must(t, err)
	if len(members) != 1 {
		t.Fatalf("members %+v", members)
	}
	l.clock.Add(30 * time.Second)
	must2(t)(l.client.VPCs.Delete(ctx, v.ID))
}
