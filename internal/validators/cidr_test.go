package validators

import (
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestCIDRMessages(t *testing.T) {
	cases := map[string]string{
		"192.168.1.1/16":        "192.168.1.1/16 has host bits set: the network is 192.168.0.0/16",
		"fd00::1/64":            "fd00::1/64 has host bits set: the network is fd00::/64",
		"fd00:0::/64":           "fd00:0::/64 is not in canonical form: write fd00::/64",
		"::ffff:10.0.0.0/104":   "::ffff:10.0.0.0/104 is an IPv4-mapped IPv6 network: write it as IPv4, 10.0.0.0/8",
		"010.0.0.0/8":           "010.0.0.0/8 is not a network in CIDR notation",
		"10.0.0.0/33":           "10.0.0.0/33 is not a network in CIDR notation",
		"fe80::/64%eth0":        "fe80::/64%eth0 is not a network in CIDR notation",
		"10.0.0.0/8 ":           "10.0.0.0/8  is not a network in CIDR notation",
		"2001:db8::1:0:0:0/112": "2001:db8::1:0:0:0/112 is not in canonical form: write 2001:db8:0:0:1::/112",
		"2001:db8:0:0:1::/80":   "",
	}
	for value, want := range cases {
		msg := validate(CIDR(), types.StringValue(value))
		if want == "" {
			if msg != "" {
				t.Errorf("CIDR(%q) rejected: %s", value, msg)
			}
			continue
		}
		if !strings.Contains(msg, want) {
			t.Errorf("CIDR(%q) = %q, want it to say %q", value, msg, want)
		}
	}
}

func TestCIDRsOverlap(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"10.0.0.0/8", "10.96.0.0/12", true},
		{"10.96.0.0/12", "10.0.0.0/8", true},
		{"10.0.0.0/16", "10.1.0.0/16", false},
		{"10.0.0.0/16", "10.0.255.0/24", true},
		{"fd00::/48", "fd00:0:0:1::/64", true},
		{"fd00::/48", "fd01::/48", false},
		{"10.0.0.0/8", "fd00::/8", false},
		{"0.0.0.0/0", "192.168.0.0/16", true},
		{"10.0.0.1/8", "10.2.0.0/16", true}, // host bits are the per-value check's to report
		{"not-a-cidr", "10.0.0.0/8", false},
		{"", "", false},
	}
	for _, c := range cases {
		if got := CIDRsOverlap(c.a, c.b); got != c.want {
			t.Errorf("CIDRsOverlap(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

func TestNetworkFamilies(t *testing.T) {
	v4, v4b, v6, v6b := "10.244.0.0/16", "10.245.0.0/16", "fd00:10::/56", "fd00:20::/56"
	s4, s6 := "10.96.0.0/12", "fd00:100::/108"
	cases := []struct {
		name           string
		pods, services []string
		want           string // "" for no error
	}{
		{"nothing set", nil, nil, ""},
		{"IPv4", []string{v4}, []string{s4}, ""},
		{"IPv6", []string{v6}, []string{s6}, ""},
		{"dual-stack", []string{v4, v6}, []string{s4, s6}, ""},
		{"dual-stack, IPv6 first", []string{v6, v4}, []string{s6, s4}, ""},
		{"dual-stack pods, IPv4 services", []string{v4, v6}, []string{s4}, ""},
		{"dual-stack pods, IPv6 services", []string{v4, v6}, []string{s6}, ""},
		{"pods only", []string{v4, v6}, nil, ""},
		{"services only", nil, []string{s6}, ""},
		{"unparseable values are skipped", []string{v4, "x"}, []string{"y"}, ""},
		{"two IPv4 pod networks", []string{v4, v4b}, []string{s4},
			"the pod networks 10.244.0.0/16 and 10.245.0.0/16 are both IPv4: two networks are dual-stack, one IPv4 and one IPv6"},
		{"two IPv6 service networks", []string{v6}, []string{s6, "fd00:200::/108"},
			"the service networks fd00:100::/108 and fd00:200::/108 are both IPv6"},
		{"three pod networks", []string{v4, v6, v6b}, nil,
			"3 pod networks given: Kubernetes takes one, or two for dual-stack (one IPv4 and one IPv6)"},
		{"IPv4 pods, IPv6 services", []string{v4}, []string{s6},
			"the pod networks are IPv4 but the service networks are IPv6: pods with only IPv4 addresses cannot serve services of another family"},
		{"IPv6 pods, IPv4 services", []string{v6}, []string{s4},
			"the pod networks are IPv6 but the service networks are IPv4"},
		{"IPv4 pods, dual-stack services", []string{v4}, []string{s4, s6},
			"the pod networks are IPv4 but the service networks are dual-stack (IPv4 and IPv6)"},
		{"both lists wrong", []string{v4, v4b}, []string{s6, "fd00:200::/108"},
			"the pod networks 10.244.0.0/16 and 10.245.0.0/16 are both IPv4: two networks are dual-stack, one IPv4 and one IPv6; the service networks"},
	}
	for _, c := range cases {
		err := NetworkFamilies(c.pods, c.services)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: NetworkFamilies(%q, %q) = %v", c.name, c.pods, c.services, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: NetworkFamilies(%q, %q) = %v, want %q", c.name, c.pods, c.services, err, c.want)
		}
	}
}

func TestServiceNetworkMessages(t *testing.T) {
	if msg := validate(ServiceNetwork(), types.StringValue("10.0.0.0/8")); !strings.Contains(msg,
		"10.0.0.0/8 is too large: kube-apiserver takes a service network of at most 20 host bits (a /12 for IPv4, /108 for IPv6)") {
		t.Errorf("ServiceNetwork(10.0.0.0/8) = %q", msg)
	}
	if msg := validate(ServiceNetwork(), types.StringValue("fd00::/125")); !strings.Contains(msg,
		"fd00::/125 is too small: kubeadm needs at least 10 service addresses") {
		t.Errorf("ServiceNetwork(fd00::/125) = %q", msg)
	}
}

func TestPodNetworkFitsNodeMask(t *testing.T) {
	cases := []struct {
		cidr     string
		nodeMask int
		want     string
	}{
		{"10.244.0.0/16", 0, ""},
		{"10.0.0.0/8", 0, ""},
		{"192.168.0.0/24", 0, ""},
		{"fd00:10::/56", 0, ""},
		{"fd00:10::/48", 0, ""},
		{"10.244.0.0/16", 26, ""},
		{"10.244.0.0/20", 26, ""},
		{"not-a-cidr", 0, ""},
		{"192.168.0.0/25", 0, "pod network 192.168.0.0/25 is smaller than one node's /24 block (kube-controller-manager --node-cidr-mask-size-ipv4): use a /24 or larger"},
		{"10.0.0.0/7", 0, "pod network 10.0.0.0/7 holds more than 2^16 node blocks of /24"},
		{"fd00::/32", 0, "use a /48 or smaller"},
		{"fd00:10::/72", 0, "smaller than one node's /64 block (kube-controller-manager --node-cidr-mask-size-ipv6)"},
		{"10.244.0.0/16", 14, "smaller than one node's /14 block"},
	}
	for _, c := range cases {
		err := PodNetworkFitsNodeMask(c.cidr, c.nodeMask)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("PodNetworkFitsNodeMask(%q, %d) = %v", c.cidr, c.nodeMask, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("PodNetworkFitsNodeMask(%q, %d) = %v, want %q", c.cidr, c.nodeMask, err, c.want)
		}
	}
}

func TestPrivateNetwork(t *testing.T) {
	cases := map[string]string{
		"10.10.0.0/16":   "",
		"172.16.0.0/20":  "",
		"192.168.8.0/28": "",
		"172.32.0.0/16":  "it is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
		"100.64.0.0/16":  "it is not inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
		"10.0.0.0/8":     "its prefix length is /8",
		"192.168.0.0/15": "it is not inside",
		"10.0.0.0/29":    "its prefix length is /29",
		"fd00::/64":      "it is not inside",
	}
	for value, want := range cases {
		msg := validate(PrivateNetwork(16, 28), types.StringValue(value))
		if want == "" {
			if msg != "" {
				t.Errorf("PrivateNetwork(%q) rejected: %s", value, msg)
			}
			continue
		}
		if !strings.Contains(msg, want) || !strings.Contains(msg, "a private IPv4 network (RFC 1918) of /16 to /28") {
			t.Errorf("PrivateNetwork(%q) = %q, want it to say %q", value, msg, want)
		}
	}
}
