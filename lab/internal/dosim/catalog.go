package dosim

import (
	"slices"
	"sort"
)

// region is a datacenter region as /v2/regions lists it.
type region struct {
	Slug      string   `json:"slug"`
	Name      string   `json:"name"`
	Sizes     []string `json:"sizes"`
	Available bool     `json:"available"`
	Features  []string `json:"features"`
}

// size is a droplet size as /v2/sizes lists it.
type size struct {
	Slug         string   `json:"slug"`
	Memory       int      `json:"memory"`
	VCPUs        int      `json:"vcpus"`
	Disk         int      `json:"disk"`
	Transfer     float64  `json:"transfer"`
	PriceMonthly float64  `json:"price_monthly"`
	PriceHourly  float64  `json:"price_hourly"`
	Regions      []string `json:"regions"`
	Available    bool     `json:"available"`
	Description  string   `json:"description"`
}

// regionNames are the lab's regions: real slugs, all available but
// nyc2, which DigitalOcean has closed to new resources.
var regionNames = []struct{ slug, name string }{
	{"ams3", "Amsterdam 3"}, {"blr1", "Bangalore 1"}, {"fra1", "Frankfurt 1"}, {"lon1", "London 1"},
	{"nyc1", "New York 1"}, {"nyc2", "New York 2"}, {"nyc3", "New York 3"}, {"sfo3", "San Francisco 3"},
	{"sgp1", "Singapore 1"}, {"syd1", "Sydney 1"}, {"tor1", "Toronto 1"},
}

// sizeTable holds real droplet sizes and their prices. except lists the
// regions (of the available ones) that do not offer a size.
var sizeTable = []struct {
	size
	except []string
}{
	{size{Slug: "s-1vcpu-512mb-10gb", Memory: 512, VCPUs: 1, Disk: 10, Transfer: 0.5, PriceMonthly: 4, PriceHourly: 0.00595, Description: "Basic"}, []string{"blr1", "syd1"}},
	{size{Slug: "s-1vcpu-1gb", Memory: 1024, VCPUs: 1, Disk: 25, Transfer: 1, PriceMonthly: 6, PriceHourly: 0.00893, Description: "Basic"}, nil},
	{size{Slug: "s-1vcpu-2gb", Memory: 2048, VCPUs: 1, Disk: 50, Transfer: 2, PriceMonthly: 12, PriceHourly: 0.01786, Description: "Basic"}, nil},
	{size{Slug: "s-2vcpu-2gb", Memory: 2048, VCPUs: 2, Disk: 60, Transfer: 3, PriceMonthly: 18, PriceHourly: 0.02679, Description: "Basic"}, nil},
	{size{Slug: "s-2vcpu-4gb", Memory: 4096, VCPUs: 2, Disk: 80, Transfer: 4, PriceMonthly: 24, PriceHourly: 0.03571, Description: "Basic"}, nil},
	{size{Slug: "s-4vcpu-8gb", Memory: 8192, VCPUs: 4, Disk: 160, Transfer: 5, PriceMonthly: 48, PriceHourly: 0.07143, Description: "Basic"}, nil},
	{size{Slug: "s-8vcpu-16gb", Memory: 16384, VCPUs: 8, Disk: 320, Transfer: 6, PriceMonthly: 96, PriceHourly: 0.14286, Description: "Basic"}, nil},
	{size{Slug: "c-2", Memory: 4096, VCPUs: 2, Disk: 25, Transfer: 4, PriceMonthly: 42, PriceHourly: 0.0625, Description: "CPU-Optimized"}, []string{"blr1"}},
	{size{Slug: "c-4", Memory: 8192, VCPUs: 4, Disk: 50, Transfer: 5, PriceMonthly: 84, PriceHourly: 0.125, Description: "CPU-Optimized"}, []string{"blr1"}},
	{size{Slug: "g-2vcpu-8gb", Memory: 8192, VCPUs: 2, Disk: 25, Transfer: 4, PriceMonthly: 63, PriceHourly: 0.09375, Description: "General Purpose"}, []string{"blr1", "syd1"}},
	{size{Slug: "m-2vcpu-16gb", Memory: 16384, VCPUs: 2, Disk: 50, Transfer: 4, PriceMonthly: 84, PriceHourly: 0.125, Description: "Memory-Optimized"}, []string{"blr1", "syd1", "tor1"}},
}

// regionFeatures are what every lab region offers.
var regionFeatures = []string{"backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"}

// catalogRegions lists the regions with the sizes each offers.
func catalogRegions() []region {
	out := make([]region, 0, len(regionNames))
	for _, r := range regionNames {
		reg := region{Slug: r.slug, Name: r.name, Sizes: []string{}, Available: r.slug != "nyc2", Features: regionFeatures}
		if reg.Available {
			for _, sz := range sizeTable {
				if !slices.Contains(sz.except, r.slug) {
					reg.Sizes = append(reg.Sizes, sz.Slug)
				}
			}
		} else {
			reg.Features = []string{}
		}
		out = append(out, reg)
	}
	return out
}

// catalogSizes lists the sizes with the regions that offer each.
func catalogSizes() []size {
	regions := catalogRegions()
	out := make([]size, 0, len(sizeTable))
	for _, sz := range sizeTable {
		s := sz.size
		s.Available, s.Regions = true, []string{}
		for _, r := range regions {
			if slices.Contains(r.Sizes, s.Slug) {
				s.Regions = append(s.Regions, r.Slug)
			}
		}
		out = append(out, s)
	}
	return out
}

func findRegion(slug string) (region, bool) {
	for _, r := range catalogRegions() {
		if r.Slug == slug {
			return r, true
		}
	}
	return region{}, false
}

func findSize(slug string) (size, bool) {
	for _, s := range catalogSizes() {
		if s.Slug == slug {
			return s, true
		}
	}
	return size{}, false
}

// availableRegionSlugs are the regions new resources may go to.
func availableRegionSlugs() []string {
	var out []string
	for _, r := range catalogRegions() {
		if r.Available {
			out = append(out, r.Slug)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Simulator) listRegions(r *request) (int, any, *apiError) {
	page, l, m, err := pageOf(r, catalogRegions())
	if err != nil {
		return 0, nil, err
	}
	return 200, map[string]any{"regions": page, "links": l, "meta": m}, nil
}

func (s *Simulator) listSizes(r *request) (int, any, *apiError) {
	page, l, m, err := pageOf(r, catalogSizes())
	if err != nil {
		return 0, nil, err
	}
	return 200, map[string]any{"sizes": page, "links": l, "meta": m}, nil
}
