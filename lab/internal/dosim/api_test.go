package dosim

import (
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"golang.org/x/crypto/ssh"
)

// Paging through a list the way godo's documentation does it: the
// current page from the links, until the last page.
func TestPaginationAsGodoReadsIt(t *testing.T) {
	l := newLab(t, Config{})
	for i := range 45 {
		_, _, err := l.client.Tags.Create(ctx, &godo.TagCreateRequest{Name: "t-" + itoa(100+i)})
		must(t, err)
	}
	var names []string
	var pages []int
	opt := &godo.ListOptions{PerPage: 20}
	for {
		tags, resp, err := l.client.Tags.List(ctx, opt)
		must(t, err)
		if resp.Meta == nil || resp.Meta.Total != 45 {
			t.Fatalf("meta %+v", resp.Meta)
		}
		for _, tg := range tags {
			names = append(names, tg.Name)
		}
		page, err := resp.Links.CurrentPage()
		must(t, err)
		pages = append(pages, page)
		if resp.Links == nil || resp.Links.IsLastPage() {
			break
		}
		opt.Page = page + 1
	}
	if len(names) != 45 || names[0] != "t-100" || names[44] != "t-144" || len(pages) != 3 || pages[0] != 1 || pages[1] != 2 || pages[2] != 3 {
		t.Fatalf("%d names, pages %v", len(names), pages)
	}
	// The default page size is 20, the largest 200.
	tags, _, err := l.client.Tags.List(ctx, nil)
	must(t, err)
	big, _, err := l.client.Tags.List(ctx, &godo.ListOptions{PerPage: 500})
	must(t, err)
	if len(tags) != 20 || len(big) != 45 {
		t.Fatalf("%d, %d", len(tags), len(big))
	}
	// Filters survive in the links.
	for range 3 {
		l.createDroplet(t, godo.DropletCreateRequest{Name: "d", Tags: []string{"t-100"}})
	}
	_, resp, err := l.client.Droplets.ListByTag(ctx, "t-100", &godo.ListOptions{PerPage: 2})
	must(t, err)
	if !strings.Contains(resp.Links.Pages.Next, "tag_name=t-100") || !strings.Contains(resp.Links.Pages.Next, "page=2") {
		t.Fatalf("links %+v", resp.Links.Pages)
	}
}

func TestRateLimitHeaders(t *testing.T) {
	l := newLab(t, Config{RateLimitPerMinute: 3})
	_, resp, err := l.client.Regions.List(ctx, nil)
	must(t, err)
	if resp.Rate.Limit != 5000 || resp.Rate.Remaining != 4999 || !resp.Rate.Reset.Time.Equal(l.clock.Now().Add(time.Hour)) {
		t.Fatalf("rate %+v", resp.Rate)
	}
	_, resp, err = l.client.Sizes.List(ctx, nil)
	must(t, err)
	if resp.Rate.Remaining != 4998 || l.client.GetRate().Remaining != 4998 {
		t.Fatalf("rate %+v", resp.Rate)
	}
	_, _, err = l.client.Account.Get(ctx)
	must(t, err)
	// The fourth call of the minute is over the limit.
	_, _, err = l.client.Account.Get(ctx)
	mustStatus(t, err, http.StatusTooManyRequests)
	if !strings.Contains(err.Error(), "API rate limit exceeded.") {
		t.Fatal(err)
	}
	// The hourly limit, once set, is enforced too, and shown.
	l.sim.SetConfig(Config{RateLimitPerHour: 4})
	_, resp, err = l.client.Account.Get(ctx)
	must(t, err)
	if resp.Rate.Limit != 4 || resp.Rate.Remaining != 0 {
		t.Fatalf("rate %+v", resp.Rate)
	}
	_, _, err = l.client.Account.Get(ctx)
	mustStatus(t, err, http.StatusTooManyRequests)
	l.sim.SetConfig(Config{RateLimitPerMinute: 3})
	// Another token has its own limits.
	_, resp, err = newClientWithToken(t, l.srv.URL+"/", "another").Account.Get(ctx)
	must(t, err)
	if resp.Rate.Remaining != 4999 {
		t.Fatalf("rate of another token %+v", resp.Rate)
	}
	l.clock.Add(time.Minute)
	_, resp, err = l.client.Account.Get(ctx)
	must(t, err)
	if resp.Rate.Remaining != 4995 {
		t.Fatalf("rate %+v", resp.Rate)
	}
	// Unset, nothing is refused.
	l.sim.SetConfig(Config{})
	for range 10 {
		_, _, err = l.client.Account.Get(ctx)
		must(t, err)
	}
}

func TestInjectedFaults(t *testing.T) {
	l := newLab(t, Config{})
	l.controlOK(t, http.MethodPut, "/_lab/faults", `[{"action":"regions:list","rate":1,"error":"throttling"},
		{"action":"sizes:list","rate":0.5,"error":"server"},{"action":"droplets:create","rate":1,"error":"quota"}]`, nil)
	_, _, err := l.client.Regions.List(ctx, nil)
	mustStatus(t, err, http.StatusTooManyRequests)
	_, _, err = l.client.Sizes.List(ctx, nil)
	mustStatus(t, err, http.StatusInternalServerError)
	_, _, err = l.client.Sizes.List(ctx, nil)
	must(t, err)
	_, _, err = l.client.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "a", Region: "nyc3", Size: "s-1vcpu-1gb", Image: ubuntu})
	mustStatus(t, err, http.StatusUnprocessableEntity)
	if !strings.Contains(err.Error(), "droplet limit") {
		t.Fatal(err)
	}
	if resp := l.control(t, http.MethodPut, "/_lab/faults", `[{"action":"x","rate":1,"error":"meteor"}]`); resp.StatusCode != http.StatusBadRequest {
		t.Fatal(resp.Status)
	}
	l.controlOK(t, http.MethodDelete, "/_lab/faults", "", nil)
	_, _, err = l.client.Regions.List(ctx, nil)
	must(t, err)
	var calls map[string]int
	l.controlOK(t, http.MethodGet, "/_lab/calls", "", &calls)
	if calls["regions:list"] != 2 || calls["sizes:list"] != 2 || calls["droplets:create"] != 1 {
		t.Fatalf("calls %v", calls)
	}
}

// A create whose answer is lost after it took effect: godo's retries
// send it again and the account ends up with two droplets of the same
// name, which is why a provider must look before it creates.
func TestCreatedThenServerErrorDuplicatesARetriedCreate(t *testing.T) {
	l := newLab(t, Config{})
	wait := 0.001
	retrying := newClient(t, l.srv.URL+"/", godo.WithRetryAndBackoffs(godo.RetryConfig{RetryMax: 3, RetryWaitMin: &wait, RetryWaitMax: &wait}))
	l.controlOK(t, http.MethodPut, "/_lab/faults", `[{"action":"droplets:create","rate":0.5,"error":"created-then-server"}]`, nil)
	d, _, err := retrying.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "cp-0", Region: "nyc3", Size: "s-1vcpu-1gb", Image: ubuntu,
		Tags: []string{"machine:cp-0"}})
	must(t, err)
	same, _, err := l.client.Droplets.ListByTag(ctx, "machine:cp-0", nil)
	must(t, err)
	if len(same) != 2 || l.sim.Calls()["droplets:create"] != 2 || same[1].ID != d.ID {
		t.Fatalf("%d droplets after a retried create, %d calls", len(same), l.sim.Calls()["droplets:create"])
	}
	// Without retries the caller sees the 500, and the droplet exists.
	_, _, err = l.client.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "cp-1", Region: "nyc3", Size: "s-1vcpu-1gb", Image: ubuntu})
	mustStatus(t, err, http.StatusInternalServerError)
	if named, _, _ := l.client.Droplets.ListByName(ctx, "cp-1", nil); len(named) != 1 {
		t.Fatalf("%d droplets named cp-1", len(named))
	}
}

func TestSSHKeys(t *testing.T) {
	l := newLab(t, Config{})
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	sshPub, err := ssh.NewPublicKey(pub)
	must(t, err)
	authorized := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPub)))
	k, resp, err := l.client.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "admin", PublicKey: authorized})
	must(t, err)
	if resp.StatusCode != http.StatusCreated || k.Fingerprint != ssh.FingerprintLegacyMD5(sshPub) || k.ID == 0 {
		t.Fatalf("%d %+v", resp.StatusCode, k)
	}
	_, _, err = l.client.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "again", PublicKey: authorized})
	mustStatus(t, err, http.StatusUnprocessableEntity)
	_, _, err = l.client.Keys.Create(ctx, &godo.KeyCreateRequest{Name: "junk", PublicKey: "ssh-rsa AAAA"})
	mustStatus(t, err, http.StatusUnprocessableEntity)
	byID, _, err := l.client.Keys.GetByID(ctx, k.ID)
	must(t, err)
	byFP, _, err := l.client.Keys.GetByFingerprint(ctx, k.Fingerprint)
	must(t, err)
	if byID.Name != "admin" || byFP.ID != k.ID {
		t.Fatalf("%+v %+v", byID, byFP)
	}
	l.createDroplet(t, godo.DropletCreateRequest{Name: "a", SSHKeys: []godo.DropletCreateSSHKey{{ID: k.ID}, {Fingerprint: k.Fingerprint}}})
	keys, _, err := l.client.Keys.List(ctx, nil)
	must(t, err)
	if len(keys) != 1 {
		t.Fatalf("%d keys", len(keys))
	}
	must2(t)(l.client.Keys.DeleteByFingerprint(ctx, k.Fingerprint))
	_, _, err = l.client.Keys.GetByID(ctx, k.ID)
	mustStatus(t, err, http.StatusNotFound)
}

func TestCatalog(t *testing.T) {
	l := newLab(t, Config{})
	regions, _, err := l.client.Regions.List(ctx, &godo.ListOptions{PerPage: 200})
	must(t, err)
	available := map[string]bool{}
	for _, r := range regions {
		available[r.Slug] = r.Available
	}
	for _, slug := range []string{"nyc1", "nyc3", "sfo3", "ams3", "fra1", "lon1", "sgp1", "tor1", "blr1", "syd1"} {
		if !available[slug] {
			t.Errorf("region %s not available", slug)
		}
	}
	if available["nyc2"] {
		t.Error("nyc2 is closed to new resources")
	}
	sizes, _, err := l.client.Sizes.List(ctx, &godo.ListOptions{PerPage: 200})
	must(t, err)
	for _, s := range sizes {
		if s.Slug == "s-2vcpu-4gb" && (s.Memory != 4096 || s.Vcpus != 2 || len(s.Regions) != 10) {
			t.Fatalf("%+v", s)
		}
	}
	img, _, err := l.client.Images.GetBySlug(ctx, "ubuntu-24-04-x64")
	must(t, err)
	if img.Distribution != "Ubuntu" || !img.Public || img.Type != "base" {
		t.Fatalf("%+v", img)
	}
	k8s, _, err := l.client.Images.GetByID(ctx, ImageID(KubernetesImageName("2404", "v1.35.3")))
	must(t, err)
	if k8s.Slug != "" || k8s.Public || k8s.Type != "snapshot" || k8s.Name != "cluster-api-ubuntu-2404-v1.35.3" {
		t.Fatalf("%+v", k8s)
	}
	distributions, _, err := l.client.Images.ListDistribution(ctx, &godo.ListOptions{PerPage: 200})
	must(t, err)
	private, _, err := l.client.Images.ListUser(ctx, &godo.ListOptions{PerPage: 200})
	must(t, err)
	if len(distributions) != 5 || len(private) != 2*len(KubernetesVersions) {
		t.Fatalf("%d distribution images, %d private", len(distributions), len(private))
	}
	_, _, err = l.client.Images.GetBySlug(ctx, "windows-2022")
	mustStatus(t, err, http.StatusNotFound)
}

func TestControlAPI(t *testing.T) {
	l := newLab(t, Config{BootDelay: time.Hour})
	var started []Droplet
	l.sim.OnDropletActive = func(d Droplet) { started = append(started, d) }
	var registered []RegisteredImage
	l.controlOK(t, http.MethodPut, "/_lab/images", `[{"name":"my-k8s-image","kubernetesVersion":"v1.37.0","minDiskSizeGB":20}]`, &registered)
	if len(registered) != 1 || registered[0].ID != ImageID("my-k8s-image") {
		t.Fatalf("%+v", registered)
	}
	for _, bad := range []string{`[{"name":"x","kubernetesVersion":"1.37"}]`, `[{"name":""}]`, `[{"name":"x","distribution":"Plan9"}]`,
		`[{"name":"x","slug":"ubuntu-24-04-x64"}]`} {
		if resp := l.control(t, http.MethodPut, "/_lab/images", bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %s", bad, resp.Status)
		}
	}
	var catalog []CatalogImage
	l.controlOK(t, http.MethodGet, "/_lab/images", "", &catalog)
	found := false
	for _, c := range catalog {
		found = found || c.ID == registered[0].ID && c.KubernetesVersion == "v1.37.0"
	}
	if !found {
		t.Fatalf("catalog %+v", catalog)
	}
	d := l.createDroplet(t, godo.DropletCreateRequest{Name: "a", Image: godo.DropletCreateImage{ID: registered[0].ID}, Tags: []string{"c1"}})
	_, _, err := l.client.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "v", RegionSlug: "nyc3"})
	must(t, err)

	var live []LiveResource
	l.controlOK(t, http.MethodGet, "/_lab/resources", "", &live)
	kinds := map[string]int{}
	for _, r := range live {
		kinds[r.Kind]++
	}
	if len(live) != 3 || kinds["droplet"] != 1 || kinds["vpc"] != 1 || kinds["tag"] != 1 || live[0].ID != itoa(d.ID) || live[0].State != "new" {
		t.Fatalf("resources %+v", live)
	}

	l.controlOK(t, http.MethodPut, "/_lab/timing", `{"bootDelay":"0s"}`, nil)
	if resp := l.control(t, http.MethodPut, "/_lab/timing", `{"bootDelay":"soon"}`); resp.StatusCode != http.StatusBadRequest {
		t.Fatal(resp.Status)
	}
	if len(started) != 1 || started[0].KubernetesVersion != "v1.37.0" {
		t.Fatalf("after the boot delay went: %+v", started)
	}
	l.controlOK(t, http.MethodPut, "/_lab/limits", `{"dropletLimit":1}`, nil)
	_, _, err = l.client.Droplets.Create(ctx, &godo.DropletCreateRequest{Name: "b", Region: "nyc3", Size: "s-1vcpu-1gb", Image: ubuntu})
	mustStatus(t, err, http.StatusUnprocessableEntity)
}
