package awssim

import (
	"sort"
	"strconv"
	"strings"
)

// instanceType is an EC2 instance type: what DescribeInstanceTypes says of
// it and where it is offered.
type instanceType struct {
	name          string
	architectures []string
	vcpus         int
	memoryMiB     int
	burstable     bool
	current       bool
	metal         bool
	// inLocalZones says whether Local Zones offer it too; the region's
	// availability zones offer every type.
	inLocalZones bool
}

// instanceFamily describes the sizes of one family.
type instanceFamily struct {
	name         string
	architecture string
	// gibPerVCPU is the memory per vCPU of its non-burstable sizes.
	gibPerVCPU int
	sizes      []string
	// metalVCPUs is the vCPUs of its .metal size, 0 for none.
	metalVCPUs int
}

// burstableSizes are the T families' sizes with their vCPUs and memory.
var burstableSizes = []struct {
	size      string
	vcpus     int
	memoryMiB int
}{{"nano", 2, 512}, {"micro", 2, 1024}, {"small", 2, 2048}, {"medium", 2, 4096}, {"large", 2, 8192}, {"xlarge", 4, 16384}, {"2xlarge", 8, 32768}}

// localZoneTypes are what a Local Zone offers, as a Boston or Los Angeles
// one does: a few general purpose, compute and memory sizes, no Graviton.
var localZoneTypes = map[string]bool{"t3.medium": true, "t3.xlarge": true, "m5.2xlarge": true, "m5.4xlarge": true,
	"m6i.2xlarge": true, "m6i.4xlarge": true, "c6i.2xlarge": true, "c6i.4xlarge": true, "r6i.2xlarge": true, "r6i.4xlarge": true}

// instanceTypes are the types the simulator knows: current families a
// Cluster API cluster runs on, Intel, AMD and Graviton, a GPU family, and
// m1.small, which RunInstances launches when no type is given.
var instanceTypes = buildInstanceTypes()

func buildInstanceTypes() map[string]*instanceType {
	out := map[string]*instanceType{
		"m1.small": {name: "m1.small", architectures: []string{"i386", "x86_64"}, vcpus: 1, memoryMiB: 1740},
	}
	for _, family := range []struct{ name, architecture string }{{"t3", "x86_64"}, {"t3a", "x86_64"}, {"t4g", "arm64"}} {
		for _, s := range burstableSizes {
			name := family.name + "." + s.size
			out[name] = &instanceType{name: name, architectures: []string{family.architecture}, vcpus: s.vcpus, memoryMiB: s.memoryMiB,
				burstable: true, current: true}
		}
	}
	intel := []string{"large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "32xlarge"}
	graviton := []string{"medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"}
	for _, f := range []instanceFamily{
		{"m5", "x86_64", 4, intel[:8], 96},
		{"m6i", "x86_64", 4, intel, 128},
		{"c6i", "x86_64", 2, intel, 128},
		{"r6i", "x86_64", 8, intel, 128},
		{"m7g", "arm64", 4, graviton, 64},
		{"c7g", "arm64", 2, graviton, 64},
		// NVIDIA A10G GPUs on AMD: the g is not Graviton's.
		{"g5", "x86_64", 4, []string{"xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge"}, 0},
	} {
		for _, size := range f.sizes {
			vcpus := sizeVCPUs(size)
			name := f.name + "." + size
			out[name] = &instanceType{name: name, architectures: []string{f.architecture}, vcpus: vcpus, memoryMiB: vcpus * f.gibPerVCPU * 1024, current: true}
		}
		if f.metalVCPUs > 0 {
			name := f.name + ".metal"
			out[name] = &instanceType{name: name, architectures: []string{f.architecture}, vcpus: f.metalVCPUs, memoryMiB: f.metalVCPUs * f.gibPerVCPU * 1024,
				current: true, metal: true}
		}
	}
	for name := range localZoneTypes {
		out[name].inLocalZones = true
	}
	return out
}

// sizeVCPUs is the vCPUs of a size: medium 1, large 2, xlarge 4, Nxlarge 4N.
func sizeVCPUs(size string) int {
	switch size {
	case "medium":
		return 1
	case "large":
		return 2
	case "xlarge":
		return 4
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(size, "xlarge"))
	return 4 * n
}

// offeredIn says whether a zone of the region offers the type.
func (t *instanceType) offeredIn(zone, region string) bool {
	if zone == localZone(region) {
		return t.inLocalZones
	}
	return contains(zones(region), zone)
}

func (t *instanceType) runs(architecture string) bool { return contains(t.architectures, architecture) }

// architecture is the one EC2 names for the type: its 64-bit one.
func (t *instanceType) architecture() string { return t.architectures[len(t.architectures)-1] }

// launchType is the instance type RunInstances launches in a zone: one
// that exists and that the zone offers.
func launchType(name, zone, region string) (*instanceType, *apiError) {
	t, ok := instanceTypes[name]
	if !ok {
		return nil, badRequest("InvalidParameterValue", "Invalid value '%s' for InstanceType.", name)
	}
	if !t.offeredIn(zone, region) {
		var offering []string
		for _, z := range append(zones(region), localZone(region)) {
			if t.offeredIn(z, region) {
				offering = append(offering, z)
			}
		}
		sort.Strings(offering)
		return nil, badRequest("Unsupported", "Your requested instance type (%s) is not supported in your requested Availability Zone (%s). "+
			"Please retry your request by not specifying an Availability Zone or choosing %s.", name, zone, strings.Join(offering, ", "))
	}
	return t, nil
}

// instanceTypeInfo is DescribeInstanceTypes' view of a type.
type instanceTypeInfo struct {
	InstanceType          string   `xml:"instanceType"`
	CurrentGeneration     bool     `xml:"currentGeneration"`
	FreeTierEligible      bool     `xml:"freeTierEligible"`
	UsageClasses          []string `xml:"supportedUsageClasses>item"`
	RootDeviceTypes       []string `xml:"supportedRootDeviceTypes>item"`
	VirtualizationTypes   []string `xml:"supportedVirtualizationTypes>item"`
	BareMetal             bool     `xml:"bareMetal"`
	Hypervisor            string   `xml:"hypervisor,omitempty"`
	Architectures         []string `xml:"processorInfo>supportedArchitectures>item"`
	DefaultVCPUs          int      `xml:"vCpuInfo>defaultVCpus"`
	MemoryMiB             int      `xml:"memoryInfo>sizeInMiB"`
	BurstablePerformance  bool     `xml:"burstablePerformanceSupported"`
	InstanceStorage       bool     `xml:"instanceStorageSupported"`
	EBSOptimizedSupported string   `xml:"ebsInfo>ebsOptimizedSupport"`
}

func (t *instanceType) info() instanceTypeInfo {
	info := instanceTypeInfo{InstanceType: t.name, CurrentGeneration: t.current, UsageClasses: []string{"on-demand", "spot"},
		RootDeviceTypes: []string{"ebs"}, VirtualizationTypes: []string{"hvm"}, BareMetal: t.metal, Hypervisor: "nitro",
		Architectures: t.architectures, DefaultVCPUs: t.vcpus, MemoryMiB: t.memoryMiB, BurstablePerformance: t.burstable,
		EBSOptimizedSupported: "default"}
	switch {
	case t.metal:
		info.Hypervisor = ""
	case !t.current:
		info.Hypervisor, info.VirtualizationTypes, info.RootDeviceTypes = "xen", []string{"hvm", "paravirtual"}, []string{"ebs", "instance-store"}
		info.InstanceStorage, info.EBSOptimizedSupported = true, "unsupported"
	}
	return info
}

func (t *instanceType) filterValues(name string) ([]string, bool) {
	switch name {
	case "instance-type":
		return []string{t.name}, true
	case "processor-info.supported-architecture":
		return t.architectures, true
	case "current-generation":
		return []string{boolString(t.current)}, true
	case "burstable-performance-supported":
		return []string{boolString(t.burstable)}, true
	case "bare-metal":
		return []string{boolString(t.metal)}, true
	case "vcpu-info.default-vcpus":
		return []string{strconv.Itoa(t.vcpus)}, true
	case "memory-info.size-in-mib":
		return []string{strconv.Itoa(t.memoryMiB)}, true
	}
	return nil, false
}

func (s *Simulator) describeInstanceTypes(p params, _ string) (any, *apiError) {
	if err := checkMaxResults(p, 5, 100); err != nil {
		return nil, err
	}
	names := p.list("InstanceType")
	var unknown []string
	for _, n := range names {
		if _, ok := instanceTypes[n]; !ok {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) > 0 {
		return nil, badRequest("InvalidInstanceType", "The following supplied instance types do not exist: [%s]", strings.Join(unknown, ", "))
	}
	if len(names) == 0 {
		names = keys(instanceTypes)
	}
	sort.Strings(names)
	var matched []string
	for _, n := range names {
		ok, err := matchFilters(p.filters(), nil, instanceTypes[n].filterValues)
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, n)
		}
	}
	matched, next, err := page(matched, p.int("MaxResults", 0), p.get("NextToken"))
	if err != nil {
		return nil, err
	}
	out := []instanceTypeInfo{}
	for _, n := range matched {
		out = append(out, instanceTypes[n].info())
	}
	return struct {
		InstanceTypes []instanceTypeInfo `xml:"instanceTypeSet>item"`
		NextToken     string             `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

type instanceTypeOffering struct {
	InstanceType string `xml:"instanceType"`
	LocationType string `xml:"locationType"`
	Location     string `xml:"location"`
}

// offerings lists where each type is offered, by the location type
// DescribeInstanceTypeOfferings asks for: the region, or each zone by
// name or ID. The key of each sorts them and pages them.
func offerings(locationType, region string) (map[string]instanceTypeOffering, *apiError) {
	out := map[string]instanceTypeOffering{}
	for _, t := range instanceTypes {
		var locations []string
		switch locationType {
		case "region":
			locations = []string{region}
		case "availability-zone", "availability-zone-id":
			for _, z := range append(zones(region), localZone(region)) {
				if !t.offeredIn(z, region) {
					continue
				}
				if locationType == "availability-zone-id" {
					z = zoneID(z)
				}
				locations = append(locations, z)
			}
		default:
			return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter locationType is invalid. Valid values are region, availability-zone, availability-zone-id.", locationType)
		}
		for _, l := range locations {
			out[t.name+"/"+l] = instanceTypeOffering{InstanceType: t.name, LocationType: locationType, Location: l}
		}
	}
	return out, nil
}

func (s *Simulator) describeInstanceTypeOfferings(p params, region string) (any, *apiError) {
	if err := checkMaxResults(p, 5, 1000); err != nil {
		return nil, err
	}
	locationType := p.get("LocationType")
	if locationType == "" {
		locationType = "region"
	}
	all, apiErr := offerings(locationType, region)
	if apiErr != nil {
		return nil, apiErr
	}
	var matched []string
	for _, k := range keys(all) {
		o := all[k]
		ok, err := matchFilters(p.filters(), nil, func(name string) ([]string, bool) {
			switch name {
			case "instance-type":
				return []string{o.InstanceType}, true
			case "location":
				return []string{o.Location}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if ok {
			matched = append(matched, k)
		}
	}
	matched, next, err := page(matched, p.int("MaxResults", 0), p.get("NextToken"))
	if err != nil {
		return nil, err
	}
	out := []instanceTypeOffering{}
	for _, k := range matched {
		out = append(out, all[k])
	}
	return struct {
		Offerings []instanceTypeOffering `xml:"instanceTypeOfferingSet>item"`
		NextToken string                 `xml:"nextToken,omitempty"`
	}{out, next}, nil
}

// checkMaxResults applies a Describe call's range for MaxResults.
func checkMaxResults(p params, min, max int) *apiError {
	if n := p.int("MaxResults", 0); p.has("MaxResults") && (n < min || n > max) {
		return badRequest("InvalidParameterValue", "Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", n, min, max)
	}
	return nil
}
