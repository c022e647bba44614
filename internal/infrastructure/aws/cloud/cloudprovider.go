package cloud

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// What the Kubernetes AWS cloud provider (the cloud controller manager)
// makes in a cluster's VPC for each Service of type LoadBalancer: load
// balancers, their target groups and security groups, tagged
// kubernetes.io/cluster/<cluster name>=owned. A Service deleted before
// the cluster takes them with it; the others are left when the cluster
// goes, and their network interfaces and security groups keep the
// subnets and the VPC from being deleted (DependencyViolation), so they
// are deleted first. Cluster API Provider AWS does so too, for the
// classic ELBs of every cluster and, behind its ExternalResourceGC
// feature gate, for the rest; here it is all of them, for every cluster.
//
// Classic ELBs, the cloud provider's default for a Service without the
// NLB annotation, are not deleted here: that needs the classic
// elasticloadbalancing client, which this provider does not have yet
// (nor the lab a simulator of). A cluster that has one waits at delete,
// its security group or subnets refused with DependencyViolation, until
// the ELB is deleted by hand or its Service before the cluster.

// serviceNameTag names the Service <namespace>/<name> a resource was made
// for.
const serviceNameTag = "kubernetes.io/service-name"

// describeTagsLimit is how many resources one ELBv2 DescribeTags names.
const describeTagsLimit = 20

// ServiceResource is a resource the cloud provider made for a Service.
type ServiceResource struct {
	// Kind is "load balancer", "target group" or "security group".
	Kind string
	// ID is the load balancer's or target group's name, or the group's ID.
	ID string
	// Service is <namespace>/<name>, "" when the resource does not say.
	Service string
}

func (r ServiceResource) String() string {
	if r.Service == "" {
		return r.Kind + " " + r.ID
	}
	return fmt.Sprintf("%s %s of Service %s", r.Kind, r.ID, r.Service)
}

// madeByUs says whether tags are those of a resource this provider made,
// for this cluster or another one sharing the VPC: those have their own
// delete steps, whatever cloud provider tag they carry (the control plane
// and node groups carry cl's).
func madeByUs(tags map[string]string) bool {
	if _, ok := tags[RoleTag]; ok {
		return true
	}
	for k := range tags {
		if strings.HasPrefix(k, clusterTagPrefix) {
			return true
		}
	}
	return false
}

// madeForServices says whether tags mark a resource that the cloud
// provider made for one of cl's Services. The tag names the cluster, not
// its namespace: two clusters of one name in one VPC would share their
// Services' resources, and their cloud controller managers would already
// fight over them.
func (cl Cluster) madeForServices(tags map[string]string) bool {
	return tags[cl.CloudProviderTag()] == ownedValue && !madeByUs(tags)
}

// ClusterVPCs are the IDs of the VPCs the cluster's resources are in: the
// one it was given, or those it made (one, unless a crash made two),
// found by tag; none once they are gone.
func (c Clients) ClusterVPCs(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec) ([]string, error) {
	if spec.VPCID != "" {
		return []string{spec.VPCID}, nil
	}
	out, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: cl.filters(roleVPC, "")})
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, v := range out.Vpcs {
		ids = append(ids, aws.ToString(v.VpcId))
	}
	return ids, nil
}

// DeleteServiceLoadBalancers deletes the network and application load
// balancers in vpcID that the cloud provider made for cl's Services (and
// with them their listeners), then, once they are gone, their target
// groups, which stay in use until then. It returns what it deleted and
// what is still there.
func (c Clients) DeleteServiceLoadBalancers(ctx context.Context, cl Cluster, vpcID string) (deleted, waiting []ServiceResource, err error) {
	lbs, err := c.serviceLoadBalancers(ctx, cl, vpcID)
	if err != nil {
		return nil, nil, err
	}
	for arn, r := range lbs {
		if _, err := c.ELB.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(arn)}); err != nil && !IsNotFound(err) {
			return deleted, nil, fmt.Errorf("deleting %s: %w", r, err)
		}
		deleted = append(deleted, r)
	}
	if len(lbs) > 0 {
		// Look again next pass: ELBv2 deletes in the background.
		return deleted, deleted, nil
	}
	tgs, err := c.serviceTargetGroups(ctx, cl, vpcID)
	if err != nil {
		return nil, nil, err
	}
	for arn, r := range tgs {
		_, err := c.ELB.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: aws.String(arn)})
		switch {
		case err == nil:
			deleted = append(deleted, r)
		case IsDependencyViolation(err):
			// Still the target of a listener of a load balancer going away.
			waiting = append(waiting, r)
		case !IsNotFound(err):
			return deleted, nil, fmt.Errorf("deleting %s: %w", r, err)
		}
	}
	return deleted, waiting, nil
}

// serviceLoadBalancers are the load balancers in vpcID made for cl's
// Services, by ARN. ELBv2 filters neither by VPC nor by tag, so every
// load balancer of the region is listed and the tags of those in the VPC
// read.
func (c Clients) serviceLoadBalancers(ctx context.Context, cl Cluster, vpcID string) (map[string]ServiceResource, error) {
	names := map[string]string{}
	pages := elbv2.NewDescribeLoadBalancersPaginator(c.ELB, &elbv2.DescribeLoadBalancersInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, lb := range page.LoadBalancers {
			if aws.ToString(lb.VpcId) == vpcID {
				names[aws.ToString(lb.LoadBalancerArn)] = aws.ToString(lb.LoadBalancerName)
			}
		}
	}
	return c.madeForServices(ctx, cl, "load balancer", names)
}

// serviceTargetGroups are the target groups in vpcID made for cl's
// Services, by ARN.
func (c Clients) serviceTargetGroups(ctx context.Context, cl Cluster, vpcID string) (map[string]ServiceResource, error) {
	names := map[string]string{}
	pages := elbv2.NewDescribeTargetGroupsPaginator(c.ELB, &elbv2.DescribeTargetGroupsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, tg := range page.TargetGroups {
			if aws.ToString(tg.VpcId) == vpcID {
				names[aws.ToString(tg.TargetGroupArn)] = aws.ToString(tg.TargetGroupName)
			}
		}
	}
	return c.madeForServices(ctx, cl, "target group", names)
}

// madeForServices keeps of the ELBv2 resources names (name by ARN) those
// whose tags say they were made for cl's Services.
func (c Clients) madeForServices(ctx context.Context, cl Cluster, kind string, names map[string]string) (map[string]ServiceResource, error) {
	arns := make([]string, 0, len(names))
	for arn := range names {
		arns = append(arns, arn)
	}
	out := map[string]ServiceResource{}
	for start := 0; start < len(arns); start += describeTagsLimit {
		chunk := arns[start:min(start+describeTagsLimit, len(arns))]
		described, err := c.ELB.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: chunk})
		if err != nil {
			return nil, fmt.Errorf("reading the tags of %ss: %w", kind, err)
		}
		for _, d := range described.TagDescriptions {
			tags := elbTagMap(d.Tags)
			if arn := aws.ToString(d.ResourceArn); cl.madeForServices(tags) {
				out[arn] = ServiceResource{Kind: kind, ID: names[arn], Service: tags[serviceNameTag]}
			}
		}
	}
	return out, nil
}

func elbTagMap(tags []elbv2types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func ec2TagMap(tags []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// DeleteServiceSecurityGroups deletes the security groups in vpcID that
// the cloud provider made for cl's Services. AWS refuses to delete a
// group that another group's rule names, and the cloud provider opens
// cl's node groups to its load balancers' groups, so those rules are
// revoked first, from cl's groups and the Services' own. It returns what
// it deleted and what is still there (in use by the network interfaces
// of a load balancer going away, say).
func (c Clients) DeleteServiceSecurityGroups(ctx context.Context, cl Cluster, vpcID string) (deleted, waiting []ServiceResource, err error) {
	var groups []ec2types.SecurityGroup
	pages := ec2.NewDescribeSecurityGroupsPaginator(c.EC2, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpcID}}}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, err
		}
		groups = append(groups, page.SecurityGroups...)
	}
	services := map[string]ServiceResource{}
	for _, g := range groups {
		if tags := ec2TagMap(g.Tags); cl.madeForServices(tags) {
			services[aws.ToString(g.GroupId)] = ServiceResource{Kind: "security group", ID: aws.ToString(g.GroupId), Service: tags[serviceNameTag]}
		}
	}
	if len(services) == 0 {
		return nil, nil, nil
	}
	for _, g := range groups {
		_, ours := ec2TagMap(g.Tags)[cl.OwnerTag()]
		if _, service := services[aws.ToString(g.GroupId)]; !ours && !service {
			// Not cl's to change.
			continue
		}
		if err := c.revokeRulesNaming(ctx, g, services); err != nil {
			return nil, nil, err
		}
	}
	for id, r := range services {
		_, err := c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
		switch {
		case err == nil:
			deleted = append(deleted, r)
		case IsDependencyViolation(err):
			waiting = append(waiting, r)
		case !IsNotFound(err):
			return deleted, nil, fmt.Errorf("deleting %s: %w", r, err)
		}
	}
	return deleted, waiting, nil
}

// revokeRulesNaming revokes the sources of g's inbound rules that are
// one of groups.
func (c Clients) revokeRulesNaming(ctx context.Context, g ec2types.SecurityGroup, groups map[string]ServiceResource) error {
	var naming []ec2types.IpPermission
	for _, p := range g.IpPermissions {
		cut := p
		cut.IpRanges, cut.Ipv6Ranges, cut.PrefixListIds, cut.UserIdGroupPairs = nil, nil, nil, nil
		for _, pair := range p.UserIdGroupPairs {
			if _, ok := groups[aws.ToString(pair.GroupId)]; ok {
				cut.UserIdGroupPairs = append(cut.UserIdGroupPairs, pair)
			}
		}
		if len(cut.UserIdGroupPairs) > 0 {
			naming = append(naming, cut)
		}
	}
	if len(naming) == 0 {
		return nil
	}
	_, err := c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: naming})
	if err != nil && !IsNotFound(err) && errorCode(err) != "InvalidPermission.NotFound" {
		return fmt.Errorf("revoking the rules of %s that name Service security groups: %w", aws.ToString(g.GroupId), err)
	}
	return nil
}
