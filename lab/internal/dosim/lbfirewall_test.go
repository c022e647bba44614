package dosim

import "testing"

func TestLoadBalancerFirewallAdmits(t *testing.T) {
	for _, c := range []struct {
		name   string
		fw     lbFirewall
		source string
		want   bool
	}{
		{"no rules", lbFirewall{}, "198.18.0.7", true},
		{"allowed network", lbFirewall{Allow: []string{"cidr:198.18.0.0/24"}}, "198.18.0.7", true},
		{"allowed address", lbFirewall{Allow: []string{"ip:198.18.0.7"}}, "198.18.0.7", true},
		{"outside the allowed", lbFirewall{Allow: []string{"cidr:203.0.113.0/24", "ip:198.18.0.8"}}, "198.18.0.7", false},
		{"denied", lbFirewall{Allow: []string{"cidr:198.18.0.0/15"}, Deny: []string{"ip:198.18.0.7"}}, "198.18.0.7", false},
		{"denied without allow rules", lbFirewall{Deny: []string{"cidr:198.18.0.0/24"}}, "198.18.0.7", false},
		{"no public address", lbFirewall{}, "", false},
	} {
		if got := c.fw.admits(c.source); got != c.want {
			t.Errorf("%s: admits(%q) = %v, want %v", c.name, c.source, got, c.want)
		}
	}
}
