package cloud

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/digitalocean/godo"
)

// Load balancer statuses.
const (
	LoadBalancerActive  = "active"
	LoadBalancerErrored = "errored"
)

// The API server health check is Cluster API Provider DigitalOcean's: TCP
// on the API server port every 10 s with a 5 s timeout, healthy after 5
// checks and unhealthy after 3.
const (
	apiHealthCheckIntervalSeconds = 10
	apiHealthCheckTimeoutSeconds  = 5
	apiHealthyThreshold           = 5
	apiUnhealthyThreshold         = 3
)

// LoadBalancerSpec is what the API server load balancer is made with.
type LoadBalancerSpec struct {
	// Port is the API server port, on the load balancer and the droplets.
	Port int32
	// VPCUUID is the cluster's VPC.
	VPCUUID string
	// Allow are the load balancer's firewall rules (ip:<address> or
	// cidr:<network>); none admits every source. See AllowRules.
	Allow []string
}

// AllowRules are the firewall rules of an API server load balancer that
// only sources (addresses or CIDRs) may reach: they, and the cluster's own
// droplets at their public addresses (kubelets and kubeadm reach the API
// server through the load balancer's public IP, from the droplet's public
// address). No sources admit every client, and no rule is needed. The
// load balancer is on IPv4 only (its default network stack): IPv6
// sources, which the droplets' firewall takes, have no rule here.
func AllowRules(sources, dropletAddresses []string) []string {
	if len(sources) == 0 {
		return nil
	}
	var rules []string
	for _, s := range append(slices.Clone(sources), dropletAddresses...) {
		if rule := allowRule(s); rule != "" {
			rules = append(rules, rule)
		}
	}
	return sorted(union(rules, nil))
}

// allowRule is a load balancer rule for an IPv4 address (ip:) or network
// (cidr:), the only forms the API takes; "" for anything else.
func allowRule(source string) string {
	if a, err := netip.ParseAddr(source); err == nil && a.Unmap().Is4() {
		return "ip:" + a.Unmap().String()
	}
	if p, err := netip.ParsePrefix(source); err == nil && p.Addr().Unmap().Is4() {
		return "cidr:" + source
	}
	return ""
}

// loadBalancerRequest is the API server load balancer: TCP on the port to
// the same port of the droplets with the control plane tag, in the VPC,
// behind the firewall rules.
func loadBalancerRequest(cl Cluster, spec LoadBalancerSpec) *godo.LoadBalancerRequest {
	p := int(spec.Port)
	return &godo.LoadBalancerRequest{
		Name:            cl.LoadBalancerName(),
		Region:          cl.Region,
		SizeUnit:        1,
		ForwardingRules: []godo.ForwardingRule{{EntryProtocol: protocolTCP, EntryPort: p, TargetProtocol: protocolTCP, TargetPort: p}},
		HealthCheck: &godo.HealthCheck{Protocol: protocolTCP, Port: p,
			CheckIntervalSeconds: apiHealthCheckIntervalSeconds, ResponseTimeoutSeconds: apiHealthCheckTimeoutSeconds,
			HealthyThreshold: apiHealthyThreshold, UnhealthyThreshold: apiUnhealthyThreshold},
		Tag:      cl.ControlPlaneTag(),
		VPCUUID:  spec.VPCUUID,
		Firewall: &godo.LBFirewall{Allow: spec.Allow},
	}
}

// EnsureLoadBalancer makes the API server load balancer exist as spec
// says and returns it, and what it did: "created", "updated" (another
// port or other firewall rules, after a change of the spec or of the
// cluster's droplets) or "". Its IP comes some time after it is made.
func (c *Client) EnsureLoadBalancer(ctx context.Context, cl Cluster, spec LoadBalancerSpec) (*godo.LoadBalancer, string, error) {
	want := loadBalancerRequest(cl, spec)
	lb, err := c.findLoadBalancerByName(ctx, cl)
	if err != nil {
		return nil, "", err
	}
	if lb == nil {
		if err := c.ensureTag(ctx, cl.ControlPlaneTag()); err != nil {
			return nil, "", err
		}
		lb, _, err = c.godo.LoadBalancers.Create(withoutResend(ctx), want)
		if err != nil {
			return nil, "", fmt.Errorf("creating load balancer %s: %w", want.Name, err)
		}
		return lb, "created", nil
	}
	if lb.VPCUUID != "" && lb.VPCUUID != spec.VPCUUID {
		return nil, "", permanent("", "load balancer %s is in VPC %s, not in the cluster's VPC %s", lb.ID, lb.VPCUUID, spec.VPCUUID)
	}
	if forwards(lb, want) && admitsAsWanted(lb, want) {
		return lb, "", nil
	}
	if lb.Status != LoadBalancerActive {
		// DigitalOcean refuses changes to a load balancer on its way.
		return lb, "", nil
	}
	lb, _, err = c.godo.LoadBalancers.Update(ctx, lb.ID, want)
	if err != nil {
		return nil, "", fmt.Errorf("updating load balancer %s: %w", want.Name, err)
	}
	return lb, "updated", nil
}

// forwards says whether lb has want's single forwarding rule and health
// check port.
func forwards(lb *godo.LoadBalancer, want *godo.LoadBalancerRequest) bool {
	if len(lb.ForwardingRules) != 1 || lb.HealthCheck == nil {
		return false
	}
	r, w := lb.ForwardingRules[0], want.ForwardingRules[0]
	return r.EntryProtocol == w.EntryProtocol && r.EntryPort == w.EntryPort && r.TargetProtocol == w.TargetProtocol && r.TargetPort == w.TargetPort &&
		lb.HealthCheck.Protocol == want.HealthCheck.Protocol && lb.HealthCheck.Port == want.HealthCheck.Port
}

// admitsAsWanted says whether lb's firewall has want's rules, in any
// order, and no deny rule.
func admitsAsWanted(lb *godo.LoadBalancer, want *godo.LoadBalancerRequest) bool {
	var have godo.LBFirewall
	if lb.Firewall != nil {
		have = *lb.Firewall
	}
	return len(have.Deny) == 0 && slices.Equal(sorted(have.Allow), sorted(want.Firewall.Allow))
}

// findLoadBalancerByName returns the cluster's API server load balancer:
// the one of its name that sends to its control plane tag, or nil.
func (c *Client) findLoadBalancerByName(ctx context.Context, cl Cluster) (*godo.LoadBalancer, error) {
	name := cl.LoadBalancerName()
	lbs, err := listAll(ctx, func(ctx context.Context, opt *godo.ListOptions) ([]godo.LoadBalancer, *godo.Response, error) {
		return c.godo.LoadBalancers.ListByNames(ctx, []string{name}, opt)
	})
	if err != nil {
		return nil, fmt.Errorf("listing load balancers: %w", err)
	}
	for _, lb := range lbs {
		if lb.Name == name && lb.Tag == cl.ControlPlaneTag() {
			return &lb, nil
		}
	}
	return nil, nil
}

// DeleteLoadBalancer deletes the API server load balancer, if any, and
// says whether there was one. It leaves the VPC some time after.
func (c *Client) DeleteLoadBalancer(ctx context.Context, cl Cluster) (bool, error) {
	lb, err := c.findLoadBalancerByName(ctx, cl)
	if err != nil || lb == nil {
		return false, err
	}
	if _, err := c.godo.LoadBalancers.Delete(ctx, lb.ID); err != nil && !IsNotFound(err) {
		return false, fmt.Errorf("deleting load balancer %s: %w", lb.ID, err)
	}
	return true, nil
}
