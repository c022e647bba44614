package cloud

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

const (
	roleControlPlaneSG = "controlplane-sg"
	roleNodeSG         = "node-sg"
	roleLoadBalancerSG = "apiserver-lb-sg"
)

// ReconcileSecurityGroups makes the control plane, node and load balancer
// security groups exist with their rules and records them in st.
func (c Clients) ReconcileSecurityGroups(ctx context.Context, cl Cluster, apiServerPort int32, st *infrav1.NetworkStatus) error {
	groups := map[string]*ec2types.SecurityGroup{}
	for _, role := range []string{roleControlPlaneSG, roleNodeSG, roleLoadBalancerSG} {
		g, err := c.ensureSecurityGroup(ctx, cl, role, st.VPCID)
		if err != nil {
			return err
		}
		groups[role] = g
	}
	cp, node, lb := aws.ToString(groups[roleControlPlaneSG].GroupId), aws.ToString(groups[roleNodeSG].GroupId), aws.ToString(groups[roleLoadBalancerSG].GroupId)
	st.SecurityGroups = infrav1.SecurityGroups{ControlPlane: cp, Node: node, LoadBalancer: lb}

	anywhere := func(proto string, from, to int32) ec2types.IpPermission {
		return ec2types.IpPermission{IpProtocol: aws.String(proto), FromPort: aws.Int32(from), ToPort: aws.Int32(to),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}
	}
	fromGroup := func(proto string, from, to int32, group string) ec2types.IpPermission {
		p := ec2types.IpPermission{IpProtocol: aws.String(proto), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(group)}}}
		if proto != "-1" {
			p.FromPort, p.ToPort = aws.Int32(from), aws.Int32(to)
		}
		return p
	}
	vpcCIDR, err := c.vpcCIDR(ctx, st.VPCID)
	if err != nil {
		return err
	}
	apiFromLB := fromGroup("tcp", apiServerPort, apiServerPort, lb)
	apiFromLB.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(vpcCIDR)}}
	rules := map[string][]ec2types.IpPermission{
		// Clients reach the API server through the load balancer.
		roleLoadBalancerSG: {anywhere("tcp", apiServerPort, apiServerPort)},
		roleControlPlaneSG: {
			// The load balancer does not keep client addresses (its target
			// group has preserve_client_ip off, as CAPA's), so the API
			// server port is open only to it and to the VPC, where its
			// health checks and nodes come from.
			apiFromLB,
			fromGroup("tcp", 2379, 2380, cp), // etcd
			fromGroup("-1", 0, 0, node),
			fromGroup("-1", 0, 0, cp),
		},
		roleNodeSG: {
			fromGroup("-1", 0, 0, cp),
			fromGroup("-1", 0, 0, node),
			anywhere("tcp", 30000, 32767), // NodePort services
		},
	}
	for role, want := range rules {
		if err := c.ensureRules(ctx, groups[role], want); err != nil {
			return err
		}
	}
	return nil
}

// vpcCIDR is a VPC's CIDR block. It is looked up by filter: a VPC made
// moments ago may not be known by ID yet.
func (c Clients) vpcCIDR(ctx context.Context, vpcID string) (string, error) {
	out, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}}})
	if err != nil {
		return "", err
	}
	if len(out.Vpcs) == 0 {
		return "", fmt.Errorf("VPC %s not found", vpcID)
	}
	return aws.ToString(out.Vpcs[0].CidrBlock), nil
}

// ensureRules makes g's rules want: it authorizes the sources g lacks and
// revokes those it has beyond them (such as the API server port open to
// anywhere, from before it was narrowed). AWS shows a group's rules
// merged into one permission per protocol and port range, so what counts
// is each source, not the number of permissions.
func (c Clients) ensureRules(ctx context.Context, g *ec2types.SecurityGroup, want []ec2types.IpPermission) error {
	for _, extra := range extraSources(g.IpPermissions, want) {
		_, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []ec2types.IpPermission{extra}})
		if err != nil && errorCode(err) != "InvalidPermission.NotFound" {
			return fmt.Errorf("revoking a rule of security group %s: %w", aws.ToString(g.GroupId), err)
		}
	}
	for _, rule := range want {
		missing := missingSources(g.IpPermissions, rule)
		if missing == nil {
			continue
		}
		err := retryNotFound(ctx, func() error {
			_, err := c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: []ec2types.IpPermission{*missing}})
			return err
		})
		if err != nil && errorCode(err) != "InvalidPermission.Duplicate" {
			return fmt.Errorf("adding a rule to security group %s: %w", aws.ToString(g.GroupId), err)
		}
	}
	return nil
}

// missingSources returns rule cut to the sources that no permission of
// the same protocol and ports in have holds, or nil if none is missing.
func missingSources(have []ec2types.IpPermission, rule ec2types.IpPermission) *ec2types.IpPermission {
	cidrs, groups := map[string]bool{}, map[string]bool{}
	for _, p := range have {
		if samePorts(p, rule) {
			for _, r := range p.IpRanges {
				cidrs[aws.ToString(r.CidrIp)] = true
			}
			for _, g := range p.UserIdGroupPairs {
				groups[aws.ToString(g.GroupId)] = true
			}
		}
	}
	missing := rule
	missing.IpRanges, missing.UserIdGroupPairs = nil, nil
	for _, r := range rule.IpRanges {
		if !cidrs[aws.ToString(r.CidrIp)] {
			missing.IpRanges = append(missing.IpRanges, r)
		}
	}
	for _, g := range rule.UserIdGroupPairs {
		if !groups[aws.ToString(g.GroupId)] {
			missing.UserIdGroupPairs = append(missing.UserIdGroupPairs, g)
		}
	}
	if len(missing.IpRanges) == 0 && len(missing.UserIdGroupPairs) == 0 {
		return nil
	}
	return &missing
}

// extraSources returns the permissions of have cut to the sources that
// no permission of want with the same protocol and ports holds.
func extraSources(have, want []ec2types.IpPermission) []ec2types.IpPermission {
	var out []ec2types.IpPermission
	for _, p := range have {
		if extra := missingSources(want, p); extra != nil {
			out = append(out, *extra)
		}
	}
	return out
}

// samePorts says whether two permissions are for the same protocol and
// port range (all protocols have no ports).
func samePorts(a, b ec2types.IpPermission) bool {
	if aws.ToString(a.IpProtocol) != aws.ToString(b.IpProtocol) {
		return false
	}
	if aws.ToString(a.IpProtocol) == "-1" {
		return true
	}
	return aws.ToInt32(a.FromPort) == aws.ToInt32(b.FromPort) && aws.ToInt32(a.ToPort) == aws.ToInt32(b.ToPort)
}

// securityGroupTags are a group's tags. The groups of instances (each has
// one) carry the cloud provider's cluster tag, as CAPA's do: the CCM
// opens them to the load balancers of Services, and finds them by it on
// an instance, where it must find exactly one.
func securityGroupTags(cl Cluster, role string) map[string]string {
	if role == roleLoadBalancerSG {
		return cl.tags(role, "", nil)
	}
	return cl.tags(role, "", map[string]string{cl.CloudProviderTag(): ownedValue})
}

func (c Clients) ensureSecurityGroup(ctx context.Context, cl Cluster, role, vpcID string) (*ec2types.SecurityGroup, error) {
	out, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: append(cl.filters(role, ""),
		ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpcID}})})
	if err != nil {
		return nil, err
	}
	if len(out.SecurityGroups) > 0 {
		g := &out.SecurityGroups[0]
		return g, c.ensureTags(ctx, aws.ToString(g.GroupId), g.Tags, securityGroupTags(cl, role))
	}
	// Names are unique per VPC; a shared VPC may hold several clusters.
	name := cl.Namespace + "-" + cl.Name + "-" + role
	var created *ec2.CreateSecurityGroupOutput
	err = retryNotFound(ctx, func() (err error) {
		created, err = c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), VpcId: aws.String(vpcID),
			Description:       aws.String("Cluster " + cl.Namespace + "/" + cl.Name + ": " + role),
			TagSpecifications: tagSpecs(ec2types.ResourceTypeSecurityGroup, securityGroupTags(cl, role))})
		return err
	})
	if errorCode(err) == "InvalidGroup.Duplicate" {
		// Made by an earlier pass whose tags the filter did not see yet.
		return c.securityGroupNamed(ctx, name, vpcID)
	}
	if err != nil {
		return nil, fmt.Errorf("creating security group %s: %w", name, err)
	}
	return &ec2types.SecurityGroup{GroupId: created.GroupId, GroupName: aws.String(name)}, nil
}

func (c Clients) securityGroupNamed(ctx context.Context, name, vpcID string) (*ec2types.SecurityGroup, error) {
	out, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{name}}, {Name: aws.String("vpc-id"), Values: []string{vpcID}}}})
	if err != nil {
		return nil, err
	}
	if len(out.SecurityGroups) == 0 {
		return nil, fmt.Errorf("security group %s exists in %s but is not found by name", name, vpcID)
	}
	return &out.SecurityGroups[0], nil
}

// DeleteSecurityGroups revokes the groups' rules (they reference each
// other) and deletes them. It reports false while instances still use them.
func (c Clients) DeleteSecurityGroups(ctx context.Context, cl Cluster) (bool, error) {
	var groups []ec2types.SecurityGroup
	for _, role := range []string{roleControlPlaneSG, roleNodeSG, roleLoadBalancerSG} {
		out, err := c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: cl.filters(role, "")})
		if err != nil {
			return false, err
		}
		groups = append(groups, out.SecurityGroups...)
	}
	for _, g := range groups {
		if len(g.IpPermissions) == 0 {
			continue
		}
		if _, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: g.IpPermissions}); err != nil && !IsNotFound(err) {
			return false, fmt.Errorf("revoking the rules of %s: %w", aws.ToString(g.GroupId), err)
		}
	}
	for _, g := range groups {
		if _, err := c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId}); err != nil && !IsNotFound(err) {
			if IsDependencyViolation(err) {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}
