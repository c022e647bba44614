package dosim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/version"
)

// image is a droplet image as /v2/images shows it.
type image struct {
	ID            int      `json:"id"`
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Distribution  string   `json:"distribution"`
	Slug          *string  `json:"slug"`
	Public        bool     `json:"public"`
	Regions       []string `json:"regions"`
	MinDiskSize   int      `json:"min_disk_size"`
	SizeGigabytes float64  `json:"size_gigabytes"`
	CreatedAt     string   `json:"created_at"`
	Description   string   `json:"description"`
	Tags          []string `json:"tags"`
	Status        string   `json:"status"`
	ErrorMessage  string   `json:"error_message"`

	// kubernetesVersion is what the image's kubelet and kubeadm are, the
	// lab's notion: "" for an image without Kubernetes.
	kubernetesVersion string
}

// ImageSpec registers an image in the catalog.
type ImageSpec struct {
	Name string `json:"name"`
	// Slug makes the image a public base image found by slug, as
	// DigitalOcean's distribution images are; without one it is a
	// private snapshot of the account, found by ID, as images built
	// with Kubernetes' image-builder are.
	Slug string `json:"slug,omitempty"`
	// Distribution is Ubuntu unless set (one of the API's names).
	Distribution string `json:"distribution,omitempty"`
	// KubernetesVersion is what droplets of the image run, if anything.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// MinDiskSizeGB is the smallest disk that takes the image, 25 unless
	// set: a smaller size is refused.
	MinDiskSizeGB int `json:"minDiskSizeGB,omitempty"`
	// Regions are where the image is available, every region unless set.
	Regions []string `json:"regions,omitempty"`
	// CreatedAt is RFC 3339, the time of registration unless set.
	CreatedAt string `json:"createdAt,omitempty"`
}

// RegisteredImage is what registering an image returns.
type RegisteredImage struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
}

// distributions are the API's distribution names.
var distributions = []string{"Arch Linux", "CentOS", "CoreOS", "Debian", "Fedora", "Fedora Atomic", "FreeBSD", "Gentoo",
	"openSUSE", "RancherOS", "Rocky Linux", "Ubuntu", "Unknown"}

// KubernetesImageName is the name of the catalog's snapshot with
// Kubernetes version v on an Ubuntu release ("2404" or "2204"), shaped
// like the snapshots Kubernetes' image-builder makes for DigitalOcean.
func KubernetesImageName(ubuntu, v string) string {
	return fmt.Sprintf("cluster-api-ubuntu-%s-%s", ubuntu, v)
}

// ImageID is the ID a catalog image of that name has: derived from the
// name, so that it stays the same across lab restarts.
func ImageID(name string) int {
	sum := sha256.Sum256([]byte("image/" + name))
	return 100000000 + int(binary.BigEndian.Uint32(sum[:4])%100000000)
}

// KubernetesVersions are the versions the built-in catalog has images of.
var KubernetesVersions = []string{"v1.35.0", "v1.35.3", "v1.36.0", "v1.36.1", "v1.36.2", "v1.36.3"}

// builtinImages are DigitalOcean's distribution images (by slug) and,
// for every version in KubernetesVersions, a private snapshot on Ubuntu
// 24.04 and 22.04 that carries it.
func builtinImages() []ImageSpec {
	created := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	out := []ImageSpec{
		{Name: "24.04 (LTS) x64", Slug: "ubuntu-24-04-x64", Distribution: "Ubuntu", MinDiskSizeGB: 7},
		{Name: "22.04 (LTS) x64", Slug: "ubuntu-22-04-x64", Distribution: "Ubuntu", MinDiskSizeGB: 7},
		{Name: "12 x64", Slug: "debian-12-x64", Distribution: "Debian", MinDiskSizeGB: 7},
		{Name: "9 x64", Slug: "rockylinux-9-x64", Distribution: "Rocky Linux", MinDiskSizeGB: 10},
		{Name: "42 x64", Slug: "fedora-42-x64", Distribution: "Fedora", MinDiskSizeGB: 7},
	}
	for i := range out {
		out[i].CreatedAt = timestamp(created)
	}
	for i, v := range KubernetesVersions {
		for _, ubuntu := range []string{"2404", "2204"} {
			out = append(out, ImageSpec{Name: KubernetesImageName(ubuntu, v), Distribution: "Ubuntu", KubernetesVersion: v,
				MinDiskSizeGB: 25, CreatedAt: timestamp(created.AddDate(0, 0, 7*(i+1)))})
		}
	}
	return out
}

// newImage checks spec and builds the image.
func (s *Simulator) newImage(spec ImageSpec) (*image, error) {
	if spec.Name == "" || len(spec.Name) > 255 {
		return nil, fmt.Errorf("image name %q: 1 to 255 characters", spec.Name)
	}
	if spec.Distribution == "" {
		spec.Distribution = "Ubuntu"
	}
	if !slices.Contains(distributions, spec.Distribution) {
		return nil, fmt.Errorf("image %s: distribution %q is none of %s", spec.Name, spec.Distribution, strings.Join(distributions, ", "))
	}
	if spec.KubernetesVersion != "" {
		if _, err := version.ParseSemantic(spec.KubernetesVersion); err != nil || !strings.HasPrefix(spec.KubernetesVersion, "v") {
			return nil, fmt.Errorf("image %s: Kubernetes version %q is not vMAJOR.MINOR.PATCH", spec.Name, spec.KubernetesVersion)
		}
	}
	if spec.Slug != "" && !tagPattern.MatchString(spec.Slug) {
		return nil, fmt.Errorf("image %s: slug %q: letters, digits, - and _ only", spec.Name, spec.Slug)
	}
	if spec.MinDiskSizeGB == 0 {
		spec.MinDiskSizeGB = 25
	}
	if spec.MinDiskSizeGB < 1 {
		return nil, fmt.Errorf("image %s: minimum disk size %d GB is not positive", spec.Name, spec.MinDiskSizeGB)
	}
	regions := spec.Regions
	if len(regions) == 0 {
		regions = availableRegionSlugs()
	}
	for _, r := range regions {
		if _, ok := findRegion(r); !ok {
			return nil, fmt.Errorf("image %s: unknown region %q", spec.Name, r)
		}
	}
	created := s.now()
	if spec.CreatedAt != "" {
		t, err := time.Parse(time.RFC3339, spec.CreatedAt)
		if err != nil {
			return nil, fmt.Errorf("image %s: createdAt: %w", spec.Name, err)
		}
		created = t
	}
	img := &image{ID: ImageID(spec.Name), Name: spec.Name, Distribution: spec.Distribution, Regions: slices.Clone(regions),
		MinDiskSize: spec.MinDiskSizeGB, SizeGigabytes: float64(spec.MinDiskSizeGB) / 4, CreatedAt: timestamp(created),
		Tags: []string{}, Status: "available", kubernetesVersion: spec.KubernetesVersion}
	if spec.Slug != "" {
		slug := spec.Slug
		img.Slug, img.Type, img.Public = &slug, "base", true
		img.Description = spec.Distribution + " " + spec.Name
	} else {
		img.Type, img.Description = "snapshot", "Cluster API image"
		if spec.KubernetesVersion != "" {
			img.Description += " with Kubernetes " + spec.KubernetesVersion
		}
	}
	return img, nil
}

// RegisterImages adds images to the catalog (replacing any of the same
// name) and returns their IDs.
func (s *Simulator) RegisterImages(specs []ImageSpec) ([]RegisteredImage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registerImages(specs)
}

func (s *Simulator) registerImages(specs []ImageSpec) ([]RegisteredImage, error) {
	var imgs []*image
	for _, spec := range specs {
		img, err := s.newImage(spec)
		if err != nil {
			return nil, err
		}
		if img.Slug != nil {
			for _, other := range s.images {
				if other.Slug != nil && *other.Slug == *img.Slug && other.Name != img.Name {
					return nil, fmt.Errorf("image %s: slug %s is image %s's", img.Name, *img.Slug, other.Name)
				}
			}
		}
		imgs = append(imgs, img)
	}
	out := make([]RegisteredImage, 0, len(imgs))
	for _, img := range imgs {
		s.images[img.ID] = img
		out = append(out, RegisteredImage{Name: img.Name, ID: img.ID})
	}
	return out, nil
}

// findImage looks an image up by ID or slug, as droplet creation and
// GET /v2/images/{id|slug} do.
func (s *Simulator) findImage(ref string) (*image, bool) {
	if id, err := strconv.Atoi(ref); err == nil {
		img, ok := s.images[id]
		return img, ok
	}
	for _, img := range s.images {
		if img.Slug != nil && *img.Slug == ref {
			return img, true
		}
	}
	return nil, false
}

func (s *Simulator) getImage(r *request) (int, any, *apiError) {
	img, ok := s.findImage(r.params["image"])
	if !ok {
		return 0, nil, notFound()
	}
	return http.StatusOK, map[string]any{"image": img}, nil
}

// listImages filters as the API does: type=distribution (public base
// images), private=true (the account's own), tag_name.
func (s *Simulator) listImages(r *request) (int, any, *apiError) {
	typ, private, tagName := r.query.Get("type"), r.query.Get("private"), r.query.Get("tag_name")
	if typ != "" && typ != "distribution" && typ != "application" {
		return 0, nil, badRequest("type must be distribution or application")
	}
	var out []*image
	for _, img := range s.images {
		switch {
		case typ == "distribution" && img.Type != "base",
			typ == "application",
			private == "true" && img.Public,
			tagName != "" && !slices.Contains(img.Tags, tagName):
			continue
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	page, l, m, err := pageOf(r, out)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"images": page, "links": l, "meta": m}, nil
}
