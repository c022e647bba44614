package workload

import (
	"bytes"
	"regexp"
	"strings"
)

// jinjaHeader is the first line that makes cloud-init render the rest of
// the user data as a jinja template (cloud-init matches it
// case-insensitively at the very start). Cluster API's kubeadm bootstrap
// provider writes it above every cloud-config it generates.
var jinjaHeader = regexp.MustCompile(`(?i)^##\s*template:\s*jinja\s*$`)

// jinjaVariable is a jinja expression that only names a variable, the
// form kubeadm configurations use: by attribute
// ({{ ds.meta_data.instance_id }}) or by key
// ({{ ds.meta_data["instance_id"] }}, as Cluster API's DigitalOcean
// templates write it), which jinja reads alike.
var jinjaVariable = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\s*"[A-Za-z0-9_-]+"\s*\]|\[\s*'[A-Za-z0-9_-]+'\s*\])*)\s*\}\}`)

// jinjaKey is one ["key"] or ['key'] of a variable.
var jinjaKey = regexp.MustCompile(`\[\s*["']([A-Za-z0-9_-]+)["']\s*\]`)

// missingJinjaVar is what cloud-init renders an undefined variable as,
// followed by the variable's last name.
const missingJinjaVar = "CI_MISSING_JINJA_VAR/"

// instanceData is what cloud-init's EC2 datasource offers a jinja
// template, by dotted name: ds.meta_data is the instance metadata
// service's tree (hyphens read as underscores), v1 cloud-init's
// standardized keys.
func instanceData(i Instance) map[string]string {
	if i.Cloud == DigitalOcean {
		return dropletData(i)
	}
	d := map[string]string{
		"ds.meta_data.instance_id":                 i.ID,
		"ds.meta_data.local_hostname":              i.PrivateDNSName,
		"ds.meta_data.hostname":                    i.PrivateDNSName,
		"ds.meta_data.local_ipv4":                  i.PrivateIP,
		"ds.meta_data.placement.availability_zone": i.AvailabilityZone,
		"ds.meta_data.placement.region":            i.region(),
		"v1.instance_id":                           i.ID,
		// cloud-init's standardized host name is the short one.
		"v1.local_hostname":    i.hostname(),
		"v1.availability_zone": i.AvailabilityZone,
		"v1.region":            i.region(),
		"v1.cloud_name":        "aws",
		"v1.platform":          "ec2",
	}
	if i.InstanceType != "" {
		d["ds.meta_data.instance_type"] = i.InstanceType
	}
	return d
}

// dropletData is what cloud-init's DigitalOcean datasource offers: its
// ds.meta_data holds the droplet metadata service's droplet_id as
// instance_id, hostname (the droplet's name) as local_hostname and
// region as availability_zone.
func dropletData(i Instance) map[string]string {
	return map[string]string{
		"ds.meta_data.instance_id":       i.ID,
		"ds.meta_data.local_hostname":    i.Name,
		"ds.meta_data.availability_zone": i.Region,
		"v1.instance_id":                 i.ID,
		"v1.local_hostname":              i.Name,
		"v1.availability_zone":           i.Region,
		"v1.region":                      i.Region,
		"v1.cloud_name":                  "digitalocean",
		"v1.platform":                    "digitalocean",
	}
}

// renderUserData is cloud-init's template step: user data whose first
// line is the jinja header is rendered over the instance data, without
// that line; any other user data is used as it is, braces included.
func renderUserData(userData []byte, data map[string]string) []byte {
	first, rest, _ := bytes.Cut(userData, []byte("\n"))
	if !jinjaHeader.Match(bytes.TrimRight(first, "\r")) {
		return userData
	}
	return jinjaVariable.ReplaceAllFunc(rest, func(expr []byte) []byte {
		name := jinjaKey.ReplaceAllString(string(jinjaVariable.FindSubmatch(expr)[1]), ".$1")
		if v, ok := data[name]; ok {
			return []byte(v)
		}
		return []byte(missingJinjaVar + name[strings.LastIndexByte(name, '.')+1:])
	})
}
