package cloud

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Cluster identifies a cluster's resources.
type Cluster struct {
	Namespace, Name string
	// Region is the DigitalOcean region of all of them.
	Region string
}

// tagPrefix starts the names of the DigitalOcean tags this provider
// puts on droplets. Tags are DigitalOcean's only labels (names of
// [a-zA-Z0-9_:-], at most 255 characters), so each says what it marks.
const tagPrefix = "terraform-capi:"

// maxNamePart is how much of a cluster's name goes into the names of
// its resources; the hash keeps them unique.
const maxNamePart = 40

// base is the cluster's name, cut and with the characters that DigitalOcean
// names and tags refuse made hyphens, and a hash of its namespace and full
// name: one per cluster, and still readable.
func (c Cluster) base() string {
	sum := sha256.Sum256([]byte(c.Namespace + "/" + c.Name))
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, c.Name)
	if len(name) > maxNamePart {
		name = name[:maxNamePart]
	}
	if name = strings.Trim(name, "-"); name == "" {
		name = "cluster"
	}
	return name + "-" + hex.EncodeToString(sum[:])[:8]
}

// Tag is on every droplet of the cluster: the firewall applies to it and
// opens the droplets to each other by it.
func (c Cluster) Tag() string { return tagPrefix + "cluster:" + c.base() }

// ControlPlaneTag is on the control plane droplets: the API server load
// balancer sends to the droplets that carry it, so a droplet joins the
// load balancer when it is made, with no call of its own.
func (c Cluster) ControlPlaneTag() string { return c.Tag() + ":control-plane" }

// MachineTag is on the droplet of the DOMachine with uid, and on no other:
// droplet names are not unique, and this tag is how a create that was
// answered with an error, or whose droplet ID was never recorded, is found.
func MachineTag(uid string) string { return tagPrefix + "machine:" + uid }

// VPCName is the name of a VPC made for the cluster, unless its spec names it.
func (c Cluster) VPCName() string { return c.base() }

// FirewallName is the name of the cluster's cloud firewall.
func (c Cluster) FirewallName() string { return c.base() + "-nodes" }

// LoadBalancerName is the name of the API server load balancer.
func (c Cluster) LoadBalancerName() string { return c.base() + "-apiserver" }

// description marks a VPC as made for the cluster: VPCs carry no tags.
func (c Cluster) description() string {
	return "Cluster " + c.Namespace + "/" + c.Name + " (terraform-provider-capi)"
}
