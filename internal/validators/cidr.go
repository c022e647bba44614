package validators

import (
	"fmt"
	"net"
)

// NamedCIDR is a CIDR with the attribute it came from, for messages.
type NamedCIDR struct {
	Attribute string
	CIDR      string
}

// Overlaps reports every pair of networks that share addresses. Values that
// do not parse are skipped: the per-value check reports them.
func Overlaps(cidrs []NamedCIDR) []string {
	var problems []string
	nets := make([]*net.IPNet, len(cidrs))
	for i, c := range cidrs {
		_, n, err := net.ParseCIDR(c.CIDR)
		if err == nil {
			nets[i] = n
		}
	}
	for i := range cidrs {
		for j := i + 1; j < len(cidrs); j++ {
			if nets[i] == nil || nets[j] == nil {
				continue
			}
			if nets[i].Contains(nets[j].IP) || nets[j].Contains(nets[i].IP) {
				problems = append(problems, fmt.Sprintf("%s %s overlaps %s %s",
					cidrs[i].Attribute, cidrs[i].CIDR, cidrs[j].Attribute, cidrs[j].CIDR))
			}
		}
	}
	return problems
}
