package validators

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
)

// parseNetwork reads a network the way Kubernetes validates CIDR fields
// today (IsValidCIDR in k8s.io/apimachinery/pkg/util/validation/ip.go,
// the strict IP and CIDR validation of KEP-4858): no leading zeros, no
// IPv4-mapped IPv6 addresses, no bits set beyond the prefix length, and
// the canonical spelling, so that the value reads back as it was written.
func parseNetwork(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s is not a network in CIDR notation", s)
	}
	if p.Addr().Is4In6() {
		if p.Bits() >= 96 {
			return netip.Prefix{}, fmt.Errorf("%s is an IPv4-mapped IPv6 network: write it as IPv4, %s",
				s, netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96).Masked())
		}
		return netip.Prefix{}, fmt.Errorf("%s is an IPv4-mapped IPv6 network", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("%s has host bits set: the network is %s", s, m)
	}
	if p.String() != s {
		return netip.Prefix{}, fmt.Errorf("%s is not in canonical form: write %s", s, p)
	}
	return p, nil
}

// parseLenient reads a network for the checks between values: each value's
// own form is the per-value validator's to report.
func parseLenient(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

// CIDRsOverlap reports whether two networks share addresses. Networks of
// different IP families never overlap; a value that does not parse
// overlaps nothing.
func CIDRsOverlap(a, b string) bool {
	pa, okA := parseLenient(a)
	pb, okB := parseLenient(b)
	return okA && okB && pa.Overlaps(pb)
}

// NamedCIDR is a CIDR with the attribute it came from, for messages.
type NamedCIDR struct {
	Attribute string
	CIDR      string
}

// Overlaps reports every pair of networks that share addresses. Values that
// do not parse are skipped: the per-value check reports them.
func Overlaps(cidrs []NamedCIDR) []string {
	var problems []string
	for i := range cidrs {
		for j := i + 1; j < len(cidrs); j++ {
			if CIDRsOverlap(cidrs[i].CIDR, cidrs[j].CIDR) {
				problems = append(problems, fmt.Sprintf("%s %s overlaps %s %s",
					cidrs[i].Attribute, cidrs[i].CIDR, cidrs[j].Attribute, cidrs[j].CIDR))
			}
		}
	}
	return problems
}

// ipFamilies is a set of IP families.
type ipFamilies uint8

const (
	ipv4 ipFamilies = 1 << iota
	ipv6
)

func familyOf(p netip.Prefix) ipFamilies {
	if p.Addr().Is4() {
		return ipv4
	}
	return ipv6
}

func (f ipFamilies) String() string {
	switch f {
	case ipv4:
		return "IPv4"
	case ipv6:
		return "IPv6"
	case ipv4 | ipv6:
		return "dual-stack (IPv4 and IPv6)"
	}
	return "empty"
}

// NetworkFamilies checks the IP families of a cluster's pod and service
// networks, as Kubernetes and Cluster API do:
//
//   - Each list is one network, or two for dual-stack, one IPv4 and one
//     IPv6 (kubeadm's ValidateIPNetFromString for networking.podSubnet and
//     serviceSubnet, cmd/kubeadm/app/apis/kubeadm/validation/validation.go;
//     kube-controller-manager --cluster-cidr and kube-apiserver
//     --service-cluster-ip-range take the same).
//   - When both are set and the pods are single-stack, the services must
//     be of the pods' family: a pod with only an IPv4 address cannot be an
//     endpoint of an IPv6 service. Dual-stack pods may have single-stack or
//     dual-stack services (Cluster API's Cluster.GetIPFamily, "pods and
//     services IP family mismatch", sigs.k8s.io/cluster-api/api
//     core/v1beta1/cluster_types.go).
//
// Values that do not parse are skipped: the per-value check reports them.
func NetworkFamilies(pods, services []string) error {
	podFamilies, podProblems := networkFamilies("pod", pods)
	serviceFamilies, serviceProblems := networkFamilies("service", services)
	problems := append(podProblems, serviceProblems...)
	if len(problems) == 0 && podFamilies != 0 && serviceFamilies != 0 &&
		podFamilies != ipv4|ipv6 && podFamilies != serviceFamilies {
		problems = append(problems, fmt.Sprintf(
			"the pod networks are %s but the service networks are %s: pods with only %s addresses cannot serve "+
				"services of another family (Cluster API: pods and services IP family mismatch); "+
				"use service networks of the pods' family, or dual-stack pod networks",
			podFamilies, serviceFamilies, podFamilies))
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(problems, "; "))
}

// networkFamilies returns the families of one list and what is wrong with
// its count or mix.
func networkFamilies(kind string, cidrs []string) (ipFamilies, []string) {
	var families ipFamilies
	var parsed []netip.Prefix
	for _, c := range cidrs {
		if p, ok := parseLenient(c); ok {
			parsed = append(parsed, p)
			families |= familyOf(p)
		}
	}
	switch {
	case len(cidrs) > 2:
		return families, []string{fmt.Sprintf("%d %s networks given: Kubernetes takes one, or two for dual-stack "+
			"(one IPv4 and one IPv6)", len(cidrs), kind)}
	case len(parsed) == 2 && familyOf(parsed[0]) == familyOf(parsed[1]):
		return families, []string{fmt.Sprintf("the %s networks %s and %s are both %s: two networks are dual-stack, "+
			"one IPv4 and one IPv6", kind, parsed[0], parsed[1], familyOf(parsed[0]))}
	}
	return families, nil
}

// maxServiceHostBits is kube-apiserver's limit on the service network: at
// most 2^20 addresses, a /12 for IPv4 or a /108 for IPv6
// (MaximumBitsForServiceSubnet in cmd/kubeadm/app/constants/constants.go,
// "identical to validation performed in the apiserver").
const maxServiceHostBits = 20

// minServiceAddresses is kubeadm's MinimumAddressesInServiceSubnet.
const minServiceAddresses = 10

// ServiceNetwork accepts a service network kube-apiserver starts with: a
// network (as CIDR checks it) of at most 2^20 addresses (/12 for IPv4, /108
// for IPv6) and, as kubeadm requires, at least 10 (/28, /124).
func ServiceNetwork() validator.String {
	return stringRule{
		description: "a service network of at most 2^20 addresses (such as 10.96.0.0/12 or fd00::/108)",
		check: func(s string) []string {
			p, err := parseNetwork(s)
			if err != nil {
				return []string{err.Error()}
			}
			hostBits := p.Addr().BitLen() - p.Bits()
			if hostBits > maxServiceHostBits {
				return []string{fmt.Sprintf("%s is too large: kube-apiserver takes a service network of at most %d host bits "+
					"(a /%d for IPv4, /%d for IPv6)", s, maxServiceHostBits, 32-maxServiceHostBits, 128-maxServiceHostBits)}
			}
			if 1<<hostBits < minServiceAddresses {
				return []string{fmt.Sprintf("%s is too small: kubeadm needs at least %d service addresses "+
					"(a /28 for IPv4, /124 for IPv6)", s, minServiceAddresses)}
			}
			return nil
		},
	}
}

// Default node masks of kube-controller-manager's node IPAM
// (--node-cidr-mask-size-ipv4 and -ipv6).
const (
	defaultNodeMaskIPv4 = 24
	defaultNodeMaskIPv6 = 64
	// maxNodeMaskDiff is kubeadm's PodSubnetNodeMaskMaxDiff: the node IPAM
	// keeps an uncompressed bitmap of at most 2^16 node blocks.
	maxNodeMaskDiff = 16
)

// PodNetworkFitsNodeMask checks a pod network against the per-node block
// kube-controller-manager carves from it (kubeadm's
// ValidatePodSubnetNodeMask): the network must hold at least one node
// block and at most 2^16 of them. nodeMask 0 means the default, /24 for
// IPv4 and /64 for IPv6. A value that does not parse passes: the
// per-value check reports it.
func PodNetworkFitsNodeMask(cidr string, nodeMask int) error {
	p, ok := parseLenient(cidr)
	if !ok {
		return nil
	}
	flag, defaultMask := "--node-cidr-mask-size-ipv4", defaultNodeMaskIPv4
	if p.Addr().Is6() {
		flag, defaultMask = "--node-cidr-mask-size-ipv6", defaultNodeMaskIPv6
	}
	if nodeMask == 0 {
		nodeMask = defaultMask
	}
	switch {
	case p.Bits() > nodeMask:
		return fmt.Errorf("pod network %s is smaller than one node's /%d block (kube-controller-manager %s): "+
			"use a /%d or larger", cidr, nodeMask, flag, nodeMask)
	case nodeMask-p.Bits() > maxNodeMaskDiff:
		return fmt.Errorf("pod network %s holds more than 2^%d node blocks of /%d: kube-controller-manager's node IPAM "+
			"takes at most that many (kubeadm: pod network and node mask differ by at most %d bits); use a /%d or smaller",
			cidr, maxNodeMaskDiff, nodeMask, maxNodeMaskDiff, nodeMask-maxNodeMaskDiff)
	}
	return nil
}

// PrivateNetwork accepts an IPv4 network of RFC 1918's private ranges
// (10/8, 172.16/12, 192.168/16) with a prefix length between shortest and
// longest, as DigitalOcean's VPC ip_range requires.
func PrivateNetwork(shortest, longest int) validator.String {
	private := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16")}
	return stringRule{
		description: fmt.Sprintf("a private IPv4 network (RFC 1918) of /%d to /%d", shortest, longest),
		check: func(s string) []string {
			p, err := parseNetwork(s)
			if err != nil {
				// CIDR() reports it.
				return nil
			}
			var problems []string
			if !p.Addr().Is4() || !slices.ContainsFunc(private, func(r netip.Prefix) bool { return r.Contains(p.Addr()) && r.Bits() <= p.Bits() }) {
				problems = append(problems, "it is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
			}
			if p.Bits() < shortest || p.Bits() > longest {
				problems = append(problems, fmt.Sprintf("its prefix length is /%d", p.Bits()))
			}
			return problems
		},
	}
}
