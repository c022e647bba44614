package cloud

import (
	"slices"
	"testing"

	"github.com/digitalocean/godo"
)

func TestLoadBalancerAllowRules(t *testing.T) {
	if got := AllowRules(nil, []string{"198.18.0.2"}); got != nil {
		t.Errorf("no sources: rules %v, want none (everyone admitted)", got)
	}
	got := AllowRules([]string{"203.0.113.0/24", "127.0.0.1/32", "192.0.2.7", "::/0", "2001:db8::/32"}, []string{"198.18.0.3", "198.18.0.2", "198.18.0.3"})
	want := []string{"cidr:127.0.0.1/32", "cidr:203.0.113.0/24", "ip:192.0.2.7", "ip:198.18.0.2", "ip:198.18.0.3"}
	if !slices.Equal(got, want) {
		t.Errorf("rules %v, want %v", got, want)
	}
}

func TestLoadBalancerFirewallComparedInAnyOrder(t *testing.T) {
	cl := Cluster{Namespace: "default", Name: "prod", Region: "nyc3"}
	want := loadBalancerRequest(cl, LoadBalancerSpec{Port: 6443, VPCUUID: "v", Allow: []string{"cidr:203.0.113.0/24", "ip:198.18.0.2"}})
	lb := &godo.LoadBalancer{Firewall: &godo.LBFirewall{Allow: []string{"ip:198.18.0.2", "cidr:203.0.113.0/24"}}}
	if !admitsAsWanted(lb, want) {
		t.Error("the same rules in another order count as different")
	}
	for name, fw := range map[string]*godo.LBFirewall{
		"no firewall":   nil,
		"a droplet off": {Allow: []string{"cidr:203.0.113.0/24"}},
		"a deny rule":   {Allow: want.Firewall.Allow, Deny: []string{"ip:198.18.0.9"}},
	} {
		if admitsAsWanted(&godo.LoadBalancer{Firewall: fw}, want) {
			t.Errorf("%s: taken for the wanted rules", name)
		}
	}
	open := loadBalancerRequest(cl, LoadBalancerSpec{Port: 6443, VPCUUID: "v"})
	if !admitsAsWanted(&godo.LoadBalancer{}, open) || !admitsAsWanted(&godo.LoadBalancer{Firewall: &godo.LBFirewall{}}, open) {
		t.Error("a load balancer without rules is not taken for an open one")
	}
}
