package dosim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"
)

// maxUserData is DigitalOcean's limit on a droplet's user data.
const maxUserData = 64 * 1024

// dropletNamePattern is the API's rule for droplet names (host names);
// at most 255 characters.
var dropletNamePattern = regexp.MustCompile(`^[a-zA-Z0-9]?[a-z0-9A-Z.\-]*[a-z0-9A-Z]$`)

type networkV4 struct {
	IPAddress string `json:"ip_address"`
	Netmask   string `json:"netmask"`
	Gateway   string `json:"gateway"`
	Type      string `json:"type"`
}

type networkV6 struct {
	IPAddress string `json:"ip_address"`
	Netmask   int    `json:"netmask"`
	Gateway   string `json:"gateway"`
	Type      string `json:"type"`
}

// networks are always present, with empty lists until the droplet is
// active: godo's PrivateIPv4 and PublicIPv4 fail on a droplet without them.
type networks struct {
	V4 []networkV4 `json:"v4"`
	V6 []networkV6 `json:"v6"`
}

type droplet struct {
	ID               int       `json:"id"`
	Name             string    `json:"name"`
	Memory           int       `json:"memory"`
	VCPUs            int       `json:"vcpus"`
	Disk             int       `json:"disk"`
	Locked           bool      `json:"locked"`
	Status           string    `json:"status"`
	Kernel           *struct{} `json:"kernel"`
	CreatedAt        string    `json:"created_at"`
	Features         []string  `json:"features"`
	BackupIDs        []int     `json:"backup_ids"`
	NextBackupWindow *struct{} `json:"next_backup_window"`
	SnapshotIDs      []int     `json:"snapshot_ids"`
	Image            *image    `json:"image"`
	VolumeIDs        []string  `json:"volume_ids"`
	Size             size      `json:"size"`
	SizeSlug         string    `json:"size_slug"`
	Networks         networks  `json:"networks"`
	Region           region    `json:"region"`
	Tags             []string  `json:"tags"`
	VPCUUID          string    `json:"vpc_uuid"`

	created  time.Time
	userData []byte
	// privateIP is reserved at creation and shown once the droplet is
	// active; publicIP is empty without public networking.
	privateIP, publicIP, ipv6 string
	// booted says OnDropletActive has been called: cloud-init runs once.
	booted bool
}

func (d *droplet) urn() string { return "do:droplet:" + strconv.Itoa(d.ID) }

// info is what the workload simulation learns about the droplet.
func (d *droplet) info() Droplet {
	return Droplet{ID: d.ID, Name: d.Name, Region: d.Region.Slug, Size: d.SizeSlug, VPCUUID: d.VPCUUID,
		PrivateIP: d.privateIP, PublicIP: d.publicIP, Tags: slices.Clone(d.Tags), UserData: slices.Clone(d.userData),
		KubernetesVersion: d.Image.kubernetesVersion}
}

// boot turns a new droplet active with its addresses.
func (s *Simulator) boot(d *droplet) {
	d.Status = "active"
	v := s.vpcs[d.VPCUUID]
	d.Networks = networks{V4: []networkV4{}, V6: []networkV6{}}
	if v != nil {
		d.Networks.V4 = append(d.Networks.V4, networkV4{IPAddress: d.privateIP, Netmask: netmask(v.prefix),
			Gateway: v.prefix.Addr().Next().String(), Type: "private"})
	}
	if d.publicIP != "" {
		d.Networks.V4 = append(d.Networks.V4, networkV4{IPAddress: d.publicIP, Netmask: "255.254.0.0", Gateway: "198.18.0.1", Type: "public"})
	}
	if d.ipv6 != "" {
		d.Networks.V6 = append(d.Networks.V6, networkV6{IPAddress: d.ipv6, Netmask: 64, Gateway: "2001:db8::1", Type: "public"})
	}
	if d.booted {
		return
	}
	d.booted = true
	info := d.info()
	if cb := s.OnDropletActive; cb != nil {
		s.pending = append(s.pending, func() { cb(info) })
	}
}

func netmask(p netip.Prefix) string {
	m := uint32(0xffffffff) << (32 - p.Bits())
	return netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()
}

// publicAddress hands out addresses of 198.18.0.0/15, a range no real
// host has.
func (s *Simulator) publicAddress() string {
	s.seq.publicIP++
	n := s.seq.publicIP + 1
	return fmt.Sprintf("198.%d.%d.%d", 18+n/65536%2, n/256%256, n%256)
}

type dropletCreate struct {
	Name              string            `json:"name"`
	Names             []string          `json:"names"`
	Region            string            `json:"region"`
	Size              string            `json:"size"`
	Image             json.RawMessage   `json:"image"`
	SSHKeys           []json.RawMessage `json:"ssh_keys"`
	Backups           bool              `json:"backups"`
	IPv6              bool              `json:"ipv6"`
	PrivateNetworking bool              `json:"private_networking"`
	Monitoring        bool              `json:"monitoring"`
	UserData          string            `json:"user_data"`
	Volumes           []json.RawMessage `json:"volumes"`
	Tags              []string          `json:"tags"`
	VPCUUID           string            `json:"vpc_uuid"`
	PublicNetworking  *bool             `json:"public_networking"`
}

// rawRef reads an ID-or-slug field: a JSON number or string.
func rawRef(raw json.RawMessage) (string, bool) {
	var id int
	if json.Unmarshal(raw, &id) == nil {
		return strconv.Itoa(id), true
	}
	var ref string
	if json.Unmarshal(raw, &ref) == nil && ref != "" {
		return ref, true
	}
	return "", false
}

func checkDropletName(name string) *apiError {
	if len(name) > 255 || !dropletNamePattern.MatchString(name) {
		return unprocessable("Name Only valid hostname characters are allowed. (a-z, A-Z, 0-9, . and -)")
	}
	return nil
}

// createDroplets is POST /v2/droplets with a name or up to ten names.
func (s *Simulator) createDroplets(r *request) (int, any, *apiError) {
	var body dropletCreate
	if err := r.decode(&body); err != nil {
		return 0, nil, err
	}
	names := body.Names
	switch {
	case body.Name != "" && len(body.Names) > 0:
		return 0, nil, unprocessable("name and names are mutually exclusive")
	case body.Name != "":
		names = []string{body.Name}
	case len(names) == 0:
		return 0, nil, unprocessable("Name is required")
	case len(names) > 10:
		return 0, nil, unprocessable("You may only create up to 10 Droplets at a time")
	}
	for _, n := range names {
		if err := checkDropletName(n); err != nil {
			return 0, nil, err
		}
	}
	spec, err := s.checkDropletCreate(&body)
	if err != nil {
		return 0, nil, err
	}
	if len(s.droplets)+len(names) > s.dropletLimit() {
		return 0, nil, unprocessable("creating this/these droplet(s) will exceed your droplet limit")
	}
	if len(spec.vpc.used)+len(names) > capacity(spec.vpc.prefix) {
		return 0, nil, unprocessable("VPC %s has no free addresses left", spec.vpc.Name)
	}
	tags := make([]string, 0, len(body.Tags))
	for _, t := range body.Tags {
		name, err := s.ensureTag(t)
		if err != nil {
			return 0, nil, err
		}
		if !slices.Contains(tags, name) {
			tags = append(tags, name)
		}
	}
	var created []*droplet
	var actionLinks []map[string]any
	for _, n := range names {
		d := s.newDroplet(n, spec, &body, tags)
		created = append(created, d)
		a := s.newAction("create", d, s.cfg.BootDelay)
		actionLinks = append(actionLinks, map[string]any{"id": a.ID, "rel": "create", "href": r.base + "/v2/actions/" + strconv.Itoa(a.ID)})
	}
	if body.Name != "" {
		return http.StatusAccepted, map[string]any{"droplet": created[0], "links": map[string]any{"actions": actionLinks}}, nil
	}
	return http.StatusAccepted, map[string]any{"droplets": created, "links": map[string]any{"actions": actionLinks}}, nil
}

// capacity is how many addresses a network gives out: all but the
// network address, the gateway and the broadcast address.
func capacity(p netip.Prefix) int { return 1<<(32-p.Bits()) - 3 }

type dropletSpec struct {
	region region
	size   size
	image  *image
	vpc    *vpc
}

func (s *Simulator) checkDropletCreate(body *dropletCreate) (*dropletSpec, *apiError) {
	if body.Size == "" {
		return nil, unprocessable("Size is required")
	}
	if len(body.Image) == 0 || string(body.Image) == "null" {
		return nil, unprocessable("Image is required")
	}
	var v *vpc
	if body.VPCUUID != "" {
		var ok bool
		if v, ok = s.vpcs[body.VPCUUID]; !ok {
			return nil, unprocessable("VPC %s could not be found", body.VPCUUID)
		}
	}
	regionSlug := body.Region
	if regionSlug == "" {
		// Without a region DigitalOcean picks one: the VPC's if it has
		// one to go by.
		regionSlug = "nyc3"
		if v != nil {
			regionSlug = v.Region
		}
	}
	reg, ok := findRegion(regionSlug)
	if !ok || !reg.Available {
		return nil, unprocessable("Region is not available")
	}
	sz, ok := findSize(body.Size)
	if !ok {
		return nil, unprocessable("You specified an invalid size for Droplet creation.")
	}
	if !slices.Contains(reg.Sizes, sz.Slug) {
		return nil, unprocessable("Size is not available in this region.")
	}
	ref, ok := rawRef(body.Image)
	img, found := s.findImage(ref)
	if !ok || !found || img.Status != "available" {
		return nil, unprocessable("You specified an invalid image for Droplet creation.")
	}
	if !slices.Contains(img.Regions, reg.Slug) {
		return nil, unprocessable("The image is not available in the region %s.", reg.Slug)
	}
	if img.MinDiskSize > sz.Disk {
		return nil, unprocessable("The image's minimum disk size of %d GB exceeds the size's disk of %d GB.", img.MinDiskSize, sz.Disk)
	}
	for _, raw := range body.SSHKeys {
		ref, ok := rawRef(raw)
		if _, found := s.findKey(ref); !ok || !found {
			return nil, unprocessable("Invalid SSH key(s): %s", string(raw))
		}
	}
	if len(body.UserData) > maxUserData {
		return nil, unprocessable("user_data is %d bytes, more than the maximum of 64 KiB", len(body.UserData))
	}
	if len(body.Volumes) > 0 {
		return nil, unprocessable("Volume %s could not be found", string(body.Volumes[0]))
	}
	if v == nil {
		v = s.defaultVPC(reg.Slug)
	} else if v.Region != reg.Slug {
		return nil, unprocessable("VPC %s is in %s, not in the droplet's region %s", v.ID, v.Region, reg.Slug)
	}
	return &dropletSpec{region: reg, size: sz, image: img, vpc: v}, nil
}

func (s *Simulator) newDroplet(name string, spec *dropletSpec, body *dropletCreate, tags []string) *droplet {
	s.seq.droplet++
	d := &droplet{ID: s.seq.droplet, Name: name, Memory: spec.size.Memory, VCPUs: spec.size.VCPUs, Disk: spec.size.Disk,
		Status: "new", CreatedAt: timestamp(s.now()), Features: []string{"private_networking"}, BackupIDs: []int{},
		SnapshotIDs: []int{}, Image: spec.image, VolumeIDs: []string{}, Size: spec.size, SizeSlug: spec.size.Slug,
		Networks: networks{V4: []networkV4{}, V6: []networkV6{}}, Region: spec.region, Tags: slices.Clone(tags),
		VPCUUID: spec.vpc.ID, created: s.now(), userData: []byte(body.UserData)}
	if body.Backups {
		d.Features = append(d.Features, "backups")
	}
	if body.Monitoring {
		d.Features = append(d.Features, "monitoring")
	}
	addr, _ := spec.vpc.allocate()
	d.privateIP = addr.String()
	if body.PublicNetworking == nil || *body.PublicNetworking {
		d.publicIP = s.publicAddress()
	}
	if body.IPv6 {
		d.Features = append(d.Features, "ipv6")
		d.ipv6 = fmt.Sprintf("2001:db8:%x::%x", d.ID%0x10000, 2)
	}
	s.droplets[d.ID] = d
	return d
}

func (s *Simulator) droplet(r *request) (*droplet, *apiError) {
	id, err := strconv.Atoi(r.params["droplet_id"])
	if err != nil || id < 1 {
		return nil, notFound()
	}
	d, ok := s.droplets[id]
	if !ok {
		return nil, notFound()
	}
	return d, nil
}

func (s *Simulator) getDroplet(r *request) (int, any, *apiError) {
	d, err := s.droplet(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"droplet": d}, nil
}

// listDroplets filters by tag_name and name, and by type (droplets or
// gpus: the lab has no GPU sizes).
func (s *Simulator) listDroplets(r *request) (int, any, *apiError) {
	tagName, name, typ := r.query.Get("tag_name"), r.query.Get("name"), r.query.Get("type")
	if typ != "" && typ != "droplets" && typ != "gpus" {
		return 0, nil, badRequest("type must be droplets or gpus")
	}
	var out []*droplet
	for _, d := range s.droplets {
		if (tagName != "" && !hasTag(d.Tags, tagName)) || (name != "" && d.Name != name) || typ == "gpus" {
			continue
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	page, l, m, err := pageOf(r, out)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"droplets": page, "links": l, "meta": m}, nil
}

func (s *Simulator) deleteDroplet(r *request) (int, any, *apiError) {
	d, err := s.droplet(r)
	if err != nil {
		return 0, nil, err
	}
	s.destroy(d)
	return http.StatusNoContent, nil, nil
}

func (s *Simulator) deleteDropletsByTag(r *request) (int, any, *apiError) {
	name := r.query.Get("tag_name")
	if name == "" {
		return 0, nil, badRequest("tag_name is required")
	}
	if _, ok := s.tags[lower(name)]; !ok {
		return 0, nil, notFound()
	}
	for _, d := range s.droplets {
		if hasTag(d.Tags, name) {
			s.destroy(d)
		}
	}
	return http.StatusNoContent, nil, nil
}

// destroy removes a droplet and every reference to it: its addresses go
// back to its VPC, and load balancers and firewalls drop its ID.
func (s *Simulator) destroy(d *droplet) {
	delete(s.droplets, d.ID)
	if v := s.vpcs[d.VPCUUID]; v != nil {
		v.release(d.privateIP)
		s.leave(v.ID, "droplet", vpcMember{URN: d.urn(), Name: d.Name, CreatedAt: d.CreatedAt})
	}
	for _, lb := range s.lbs {
		lb.DropletIDs = slices.DeleteFunc(lb.DropletIDs, func(id int) bool { return id == d.ID })
	}
	s.forget(d.ID, "")
	id := d.ID
	if cb := s.OnDropletDeleted; cb != nil {
		s.pending = append(s.pending, func() { cb(id) })
	}
}
