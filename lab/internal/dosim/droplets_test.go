package dosim

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
)

func TestDropletBootsWithAddressesAndHooks(t *testing.T) {
	l := newLab(t, Config{BootDelay: 30 * time.Second})
	var active []Droplet
	var deleted []int
	l.sim.OnDropletActive = func(d Droplet) { active = append(active, d) }
	l.sim.OnDropletDeleted = func(id int) { deleted = append(deleted, id) }

	d, resp, err := l.client.Droplets.Create(ctx, &godo.DropletCreateRequest{
		Name: "cp-0", Region: "nyc3", Size: "s-2vcpu-4gb", Image: godo.DropletCreateImage{ID: ImageID(KubernetesImageName("2404", "v1.36.3"))},
		UserData: "#cloud-config\n", Tags: []string{"sigs-k8s-io:capdo:c1", "name:cp-0"},
	})
	must(t, err)
	if resp.StatusCode != http.StatusAccepted || d.Status != "new" || d.Networks == nil || len(d.Networks.V4) != 0 || len(d.Networks.V6) != 0 {
		t.Fatalf("create: %d %+v", resp.StatusCode, d)
	}
	if len(resp.Links.Actions) != 1 || resp.Links.Actions[0].Rel != "create" || !strings.Contains(resp.Links.Actions[0].HREF, "/v2/actions/") {
		t.Fatalf("links: %+v", resp.Links)
	}
	if _, err := d.PrivateIPv4(); err != nil {
		t.Fatalf("a new droplet's networks must be readable: %v", err)
	}
	def := l.sim.defaultVPC("nyc3")
	if d.VPCUUID != def.ID || d.Region.Slug != "nyc3" || d.SizeSlug != "s-2vcpu-4gb" || d.Image.Name != KubernetesImageName("2404", "v1.36.3") {
		t.Fatalf("droplet %+v", d)
	}
	create, _, err := l.client.Actions.Get(ctx, resp.Links.Actions[0].ID)
	must(t, err)
	if create.Status != "in-progress" || create.ResourceID != d.ID {
		t.Fatalf("create action %+v", create)
	}

	l.clock.Add(30 * time.Second)
	d, _, err = l.client.Droplets.Get(ctx, d.ID)
	must(t, err)
	private, _ := d.PrivateIPv4()
	public, _ := d.PublicIPv4()
	if d.Status != "active" || !netip.MustParsePrefix(def.IPRange).Contains(netip.MustParseAddr(private)) || public == "" {
		t.Fatalf("active droplet %+v (private %q public %q)", d, private, public)
	}
	if len(active) != 1 || active[0].ID != d.ID || active[0].Name != "cp-0" || active[0].KubernetesVersion != "v1.36.3" ||
		string(active[0].UserData) != "#cloud-config\n" || active[0].PrivateIP != private || active[0].Region != "nyc3" {
		t.Fatalf("OnDropletActive: %+v", active)
	}
	create, _, err = l.client.Actions.Get(ctx, create.ID)
	must(t, err)
	if create.Status != "completed" {
		t.Fatalf("create action %+v", create)
	}

	byTag, _, err := l.client.Droplets.ListByTag(ctx, "name:cp-0", nil)
	must(t, err)
	byName, _, err := l.client.Droplets.ListByName(ctx, "cp-0", nil)
	must(t, err)
	none, _, err := l.client.Droplets.ListByName(ctx, "cp-1", nil)
	must(t, err)
	if len(byTag) != 1 || len(byName) != 1 || len(none) != 0 {
		t.Fatalf("by tag %d, by name %d, other name %d", len(byTag), len(byName), len(none))
	}

	resp, err = l.client.Droplets.Delete(ctx, d.ID)
	must(t, err)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	_, _, err = l.client.Droplets.Get(ctx, d.ID)
	mustStatus(t, err, http.StatusNotFound)
	if len(deleted) != 1 || deleted[0] != d.ID {
		t.Fatalf("OnDropletDeleted: %v", deleted)
	}
	_, err = l.client.Droplets.Delete(ctx, d.ID)
	mustStatus(t, err, http.StatusNotFound)
}

func TestDropletCreateRefusals(t *testing.T) {
	l := newLab(t, Config{})
	other, _, err := l.client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "in-fra1", RegionSlug: "fra1"})
	must(t, err)
	k8s := godo.DropletCreateImage{ID: ImageID(KubernetesImageName("2404", "v1.36.3"))}
	for _, c := range []struct {
		name string
		req  godo.DropletCreateRequest
	}{
		{"name with underscore", godo.DropletCreateRequest{Name: "cp_0"}},
		{"name ending in a dash", godo.DropletCreateRequest{Name: "cp-"}},
		{"name too long", godo.DropletCreateRequest{Name: strings.Repeat("a", 256)}},
		{"unknown size", godo.DropletCreateRequest{Name: "a", Size: "s-3vcpu-3gb"}},
		{"size not in region", godo.DropletCreateRequest{Name: "a", Region: "blr1", Size: "g-2vcpu-8gb"}},
		{"unknown region", godo.DropletCreateRequest{Name: "a", Region: "mars1"}},
		{"unavailable region", godo.DropletCreateRequest{Name: "a", Region: "nyc2"}},
		{"unknown image slug", godo.DropletCreateRequest{Name: "a", Image: godo.DropletCreateImage{Slug: "ubuntu-10-04-x64"}}},
		{"unknown image ID", godo.DropletCreateRequest{Name: "a", Image: godo.DropletCreateImage{ID: 12345}}},
		{"disk smaller than the image", godo.DropletCreateRequest{Name: "a", Size: "s-1vcpu-512mb-10gb", Image: k8s}},
		{"unknown ssh key ID", godo.DropletCreateRequest{Name: "a", SSHKeys: []godo.DropletCreateSSHKey{{ID: 7}}}},
		{"unknown ssh key fingerprint", godo.DropletCreateRequest{Name: "a", SSHKeys: []godo.DropletCreateSSHKey{{Fingerprint: "aa:bb"}}}},
		{"user data past 64 KiB", godo.DropletCreateRequest{Name: "a", UserData: strings.Repeat("x", 64*1024+1)}},
		{"unknown VPC", godo.DropletCreateRequest{Name: "a", VPCUUID: newUUID()}},
		{"VPC of another region", godo.DropletCreateRequest{Name: "a", VPCUUID: other.ID}},
		{"invalid tag", godo.DropletCreateRequest{Name: "a", Tags: []string{"has space"}}},
		{"unknown volume", godo.DropletCreateRequest{Name: "a", Volumes: []godo.DropletCreateVolume{{ID: newUUID()}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := c.req
			if req.Region == "" {
				req.Region = "nyc3"
			}
			if req.Size == "" {
				req.Size = "s-1vcpu-1gb"
			}
			if req.Image == (godo.DropletCreateImage{}) {
				req.Image = ubuntu
			}
			_, _, err := l.client.Droplets.Create(ctx, &req)
			mustStatus(t, err, http.StatusUnprocessableEntity)
		})
	}
	if ds, _, _ := l.client.Droplets.List(ctx, nil); len(ds) != 0 {
		t.Fatalf("a refused create left %d droplets", len(ds))
	}
	// 64 KiB exactly is fine, and user data is kept as sent.
	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "Web.Example-1", UserData: strings.Repeat("x", 64*1024)})
	if d.Name != "Web.Example-1" {
		t.Fatalf("name %q", d.Name)
	}
}

func TestDropletLimit(t *testing.T) {
	l := newLab(t, Config{DropletLimit: 2})
	l.createDroplet(t, godo.DropletCreateRequest{Name: "a"})
	_, _, err := l.client.Droplets.CreateMultiple(ctx, &godo.DropletMultiCreateRequest{Names: []string{"b", "c"}, Region: "nyc3", Size: "s-1vcpu-1gb", Image: ubuntu})
	mustStatus(t, err, http.StatusUnprocessableEntity)
	if !strings.Contains(err.Error(), "exceed your droplet limit") {
		t.Fatal(err)
	}
	ds, _, err := l.client.Droplets.CreateMultiple(ctx, &godo.DropletMultiCreateRequest{Names: []string{"b"}, Region: "nyc3", Size: "s-1vcpu-1gb", Image: ubuntu})
	must(t, err)
	if len(ds) != 1 || ds[0].Name != "b" {
		t.Fatalf("%+v", ds)
	}
}

func TestDropletTagsAreCreatedAndDeleteByTag(t *testing.T) {
	l := newLab(t, Config{})
	var deleted []int
	l.sim.OnDropletDeleted = func(id int) { deleted = append(deleted, id) }
	a := l.createDroplet(t, godo.DropletCreateRequest{Name: "a", Tags: []string{"Cluster-1", "role:node"}})
	b := l.createDroplet(t, godo.DropletCreateRequest{Name: "b", Tags: []string{"cluster-1"}})
	l.createDroplet(t, godo.DropletCreateRequest{Name: "c"})
	// Tags are case-stable: the first spelling stays.
	if b.Tags[0] != "Cluster-1" || a.Tags[1] != "role:node" {
		t.Fatalf("tags %v %v", a.Tags, b.Tags)
	}
	tag, _, err := l.client.Tags.Get(ctx, "cluster-1")
	must(t, err)
	if tag.Name != "Cluster-1" || tag.Resources.Count != 2 || tag.Resources.Droplets.Count != 2 {
		t.Fatalf("tag %+v", tag.Resources)
	}
	_, err = l.client.Droplets.DeleteByTag(ctx, "nothing")
	mustStatus(t, err, http.StatusNotFound)
	_, err = l.client.Droplets.DeleteByTag(ctx, "cluster-1")
	must(t, err)
	left, _, err := l.client.Droplets.List(ctx, nil)
	must(t, err)
	if len(left) != 1 || left[0].Name != "c" || len(deleted) != 2 {
		t.Fatalf("left %+v, deleted %v", left, deleted)
	}
}

func TestDropletPowerActions(t *testing.T) {
	l := newLab(t, Config{ActionDelay: 10 * time.Second})
	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "a"})
	// A new droplet takes no action until it has booted: its create is
	// still pending.
	if got, _, _ := l.client.Droplets.Get(ctx, d.ID); got.Status != "active" {
		t.Fatalf("droplet %s", got.Status)
	}
	l.sim.SetConfig(Config{ActionDelay: 10 * time.Second, BootDelay: time.Minute})
	e := l.createDroplet(t, godo.DropletCreateRequest{Name: "e"})
	_, _, err := l.client.DropletActions.PowerOff(ctx, e.ID)
	mustStatus(t, err, http.StatusUnprocessableEntity)

	a, resp, err := l.client.DropletActions.PowerOff(ctx, d.ID)
	must(t, err)
	if resp.StatusCode != http.StatusCreated || a.Status != "in-progress" || a.Type != "power_off" || a.ResourceID != d.ID || a.RegionSlug != "nyc3" {
		t.Fatalf("%d %+v", resp.StatusCode, a)
	}
	_, _, err = l.client.DropletActions.Reboot(ctx, d.ID)
	mustStatus(t, err, http.StatusUnprocessableEntity)
	l.clock.Add(10 * time.Second)
	a, _, err = l.client.DropletActions.Get(ctx, d.ID, a.ID)
	must(t, err)
	got, _, _ := l.client.Droplets.Get(ctx, d.ID)
	if a.Status != "completed" || a.CompletedAt == nil || got.Status != "off" {
		t.Fatalf("action %+v, droplet %s", a, got.Status)
	}
	_, _, err = l.client.DropletActions.Shutdown(ctx, d.ID)
	mustStatus(t, err, http.StatusUnprocessableEntity)
	a, _, err = l.client.DropletActions.PowerOn(ctx, d.ID)
	must(t, err)
	l.clock.Add(10 * time.Second)
	if got, _, _ = l.client.Droplets.Get(ctx, d.ID); got.Status != "active" {
		t.Fatalf("after power_on: %s", got.Status)
	}
	_, _, err = l.client.DropletActions.Get(ctx, e.ID, a.ID)
	mustStatus(t, err, http.StatusNotFound)
	_, _, err = l.client.DropletActions.Snapshot(ctx, d.ID, "snap")
	mustStatus(t, err, http.StatusUnprocessableEntity)
	actions, _, err := l.client.Droplets.Actions(ctx, d.ID, nil)
	must(t, err)
	if len(actions) != 3 { // create, power_off, power_on
		t.Fatalf("actions %+v", actions)
	}
}

func TestDropletActionsByTag(t *testing.T) {
	l := newLab(t, Config{})
	a := l.createDroplet(t, godo.DropletCreateRequest{Name: "a", Tags: []string{"workers"}})
	b := l.createDroplet(t, godo.DropletCreateRequest{Name: "b", Tags: []string{"workers"}})
	l.createDroplet(t, godo.DropletCreateRequest{Name: "c"})
	actions, resp, err := l.client.DropletActions.PowerOffByTag(ctx, "workers")
	must(t, err)
	if resp.StatusCode != http.StatusCreated || len(actions) != 2 || actions[0].ResourceID != a.ID || actions[1].ResourceID != b.ID {
		t.Fatalf("%d %+v", resp.StatusCode, actions)
	}
	off, _, err := l.client.Droplets.ListByTag(ctx, "workers", nil)
	must(t, err)
	for _, d := range off {
		if d.Status != "off" {
			t.Fatalf("%s is %s", d.Name, d.Status)
		}
	}
	_, _, err = l.client.DropletActions.PowerOffByTag(ctx, "workers")
	mustStatus(t, err, http.StatusUnprocessableEntity)
}
