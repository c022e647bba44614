package awssim

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// params reads the AWS query protocol's flattened parameters, where lists
// are Name.1, Name.2, ... (EC2) or Name.member.1, ... (ELBv2) and
// structures are Name.1.Field.
type params url.Values

func (p params) get(key string) string { return url.Values(p).Get(key) }

func (p params) has(key string) bool { _, ok := p[key]; return ok }

func (p params) int(key string, def int) int {
	if v, err := strconv.Atoi(p.get(key)); err == nil {
		return v
	}
	return def
}

// list returns prefix.1, prefix.2, ... in order.
func (p params) list(prefix string) []string {
	var out []string
	for _, sub := range p.indexed(prefix) {
		out = append(out, sub.get(""))
	}
	return out
}

// indexed returns the parameters under prefix.N for each N, in order, with
// "prefix.N." stripped from their keys (a bare "prefix.N" becomes "").
func (p params) indexed(prefix string) []params {
	byIndex := map[int]params{}
	for k, v := range p {
		if !strings.HasPrefix(k, prefix+".") {
			continue
		}
		rest := k[len(prefix)+1:]
		idx, tail, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if err != nil {
			continue
		}
		if byIndex[n] == nil {
			byIndex[n] = params{}
		}
		byIndex[n][tail] = v
	}
	keys := make([]int, 0, len(byIndex))
	for k := range byIndex {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]params, 0, len(keys))
	for _, k := range keys {
		out = append(out, byIndex[k])
	}
	return out
}

// filter is one EC2 Filter.N: a name and the values any of which match.
type filter struct {
	name   string
	values []string
}

func (p params) filters() []filter {
	var out []filter
	for _, f := range p.indexed("Filter") {
		out = append(out, filter{name: f.get("Name"), values: f.list("Value")})
	}
	return out
}

// tagSpecs returns the tags of TagSpecification.N for a resource type.
func (p params) tagSpecs(resourceType string) map[string]string {
	tags := map[string]string{}
	for _, spec := range p.indexed("TagSpecification") {
		if spec.get("ResourceType") != resourceType {
			continue
		}
		for _, t := range spec.indexed("Tag") {
			tags[t.get("Key")] = t.get("Value")
		}
	}
	return tags
}

// runInstancesTagTypes are the resource types RunInstances can tag.
var runInstancesTagTypes = map[string]bool{"instance": true, "volume": true, "network-interface": true, "spot-instances-request": true}

// checkTagSpecs refuses RunInstances' tag specifications for resources it
// does not create.
func checkTagSpecs(p params) *apiError {
	for _, spec := range p.indexed("TagSpecification") {
		if rt := spec.get("ResourceType"); !runInstancesTagTypes[rt] {
			return badRequest("InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", rt)
		}
	}
	return nil
}
