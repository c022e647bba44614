package cloud

import (
	"regexp"
	"strings"
	"testing"
)

// DigitalOcean's patterns for tag, VPC and firewall names.
var (
	tagPattern      = regexp.MustCompile(`^[a-zA-Z0-9_\-:]{1,255}$`)
	vpcPattern      = regexp.MustCompile(`^[a-zA-Z0-9\-\.]+$`)
	firewallPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9\.-]+$`)
)

func TestNamesAreValidAndUniquePerCluster(t *testing.T) {
	long := strings.Repeat("a.b", 80)
	clusters := []Cluster{
		{Namespace: "default", Name: "prod"},
		{Namespace: "other", Name: "prod"},
		{Namespace: "default", Name: "prod.eu-1"},
		{Namespace: "default", Name: "prod-eu-1"},
		{Namespace: "default", Name: long},
		{Namespace: "default", Name: long + "x"},
		{Namespace: "default", Name: "..."},
	}
	seen := map[string]bool{}
	for _, cl := range clusters {
		for _, tag := range []string{cl.Tag(), cl.ControlPlaneTag()} {
			if !tagPattern.MatchString(tag) {
				t.Errorf("%s: tag %q is not a DigitalOcean tag", cl.Name, tag)
			}
		}
		if !vpcPattern.MatchString(cl.VPCName()) || !firewallPattern.MatchString(cl.FirewallName()) || !firewallPattern.MatchString(cl.LoadBalancerName()) {
			t.Errorf("%s: names %q %q %q", cl.Name, cl.VPCName(), cl.FirewallName(), cl.LoadBalancerName())
		}
		if seen[cl.Tag()] {
			t.Errorf("%s/%s: tag %q shared with another cluster", cl.Namespace, cl.Name, cl.Tag())
		}
		seen[cl.Tag()] = true
	}
	if tag := MachineTag("0b1c9a7e-5f0d-4d1e-9a55-2f4d7c1b3e8a"); !tagPattern.MatchString(tag) {
		t.Errorf("machine tag %q", tag)
	}
}
