package awssim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// wantError fails the test unless err has the code and its message holds
// the text.
func wantError(t *testing.T, what string, err error, code, text string) {
	t.Helper()
	if errorCode(err) != code || !strings.Contains(errString(err), text) {
		t.Errorf("%s: %v, want %s %q", what, err, code, text)
	}
}

// testNetwork makes a VPC with a subnet in each of two zones.
func testNetwork(t *testing.T, e *env) (vpcID string, subnets []string) {
	t.Helper()
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	for i, az := range []string{e.region + "a", e.region + "b"} {
		sn := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i)),
			AvailabilityZone: aws.String(az)})).must(t).Subnet
		subnets = append(subnets, *sn.SubnetId)
	}
	return *vpc.VpcId, subnets
}

func testGroup(t *testing.T, e *env, vpcID, name string) string {
	t.Helper()
	return *try(e.ec2.CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
		Description: aws.String(name), VpcId: aws.String(vpcID)})).must(t).GroupId
}

// A load balancer's security groups and subnets stay in use while it
// exists and, since its network interfaces go some time after it, for
// LoadBalancerDetachDelay after it is deleted.
func TestLoadBalancerHoldsItsGroupsAndSubnetsUntilItsInterfacesGo(t *testing.T) {
	e := newEnv(t, Config{LoadBalancerDetachDelay: 30 * time.Second})
	ctx := context.Background()
	vpcID, subnets := testNetwork(t, e)
	sg := testGroup(t, e, vpcID, "lb")
	lb := try(e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("demo"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
		Subnets: subnets, SecurityGroups: []string{sg}})).must(t).LoadBalancers[0]

	deleteGroup := func() error {
		_, err := e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)})
		return err
	}
	deleteSubnet := func() error {
		_, err := e.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnets[0])})
		return err
	}
	wantError(t, "DeleteSecurityGroup of a load balancer's group", deleteGroup(), "DependencyViolation", "resource "+sg+" has a dependent object")
	wantError(t, "DeleteSubnet of a load balancer's subnet", deleteSubnet(), "DependencyViolation", "")

	try(e.elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn})).must(t)
	e.clock.Advance(29 * time.Second)
	wantError(t, "DeleteSecurityGroup right after its load balancer", deleteGroup(), "DependencyViolation", "has a dependent object")
	wantError(t, "DeleteSubnet right after its load balancer", deleteSubnet(), "DependencyViolation", "")

	e.clock.Advance(time.Second)
	if err := deleteGroup(); err != nil {
		t.Errorf("DeleteSecurityGroup once the interfaces went: %v", err)
	}
	if err := deleteSubnet(); err != nil {
		t.Errorf("DeleteSubnet once the interfaces went: %v", err)
	}
}

func TestCreateLoadBalancerRefusesUnknownSecurityGroups(t *testing.T) {
	e := newEnv(t, Config{})
	_, subnets := testNetwork(t, e)
	_, err := e.elb.CreateLoadBalancer(context.Background(), &elbv2.CreateLoadBalancerInput{Name: aws.String("demo"),
		Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: subnets, SecurityGroups: []string{"sg-0123456789abcdef0"}})
	wantError(t, "unknown security group", err, "InvalidSecurityGroup", "The security group 'sg-0123456789abcdef0' does not exist")
}

// An instance's network interface holds its groups until it is terminated.
func TestInstanceHoldsItsSecurityGroups(t *testing.T) {
	e := newEnv(t, Config{TerminateDelay: 5 * time.Second})
	ctx := context.Background()
	subnetID, sg := testSubnet(t, e)
	run := try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), InstanceType: ec2types.InstanceTypeT3Medium,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID), SecurityGroupIds: []string{sg}})).must(t)
	deleteGroup := func() error {
		_, err := e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(sg)})
		return err
	}
	wantError(t, "DeleteSecurityGroup of a running instance's group", deleteGroup(), "DependencyViolation", "resource "+sg+" has a dependent object")
	try(e.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*run.Instances[0].InstanceId}})).must(t)
	wantError(t, "DeleteSecurityGroup of a shutting-down instance's group", deleteGroup(), "DependencyViolation", "")
	e.clock.Advance(5 * time.Second)
	if err := deleteGroup(); err != nil {
		t.Errorf("DeleteSecurityGroup after the instance terminated: %v", err)
	}
}

// An internet gateway stays attached while public addresses are mapped in
// its VPC: a NAT gateway's, an instance's, an internet-facing load
// balancer's.
func TestDetachInternetGatewayWaitsForPublicAddresses(t *testing.T) {
	e := newEnv(t, Config{NATGatewayDelay: 10 * time.Second, TerminateDelay: 5 * time.Second, LoadBalancerDetachDelay: 20 * time.Second})
	ctx := context.Background()
	vpcID, subnets := testNetwork(t, e)
	igw := try(e.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).must(t).InternetGateway
	attach := func() {
		try(e.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: aws.String(vpcID)})).must(t)
	}
	detach := func() error {
		_, err := e.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: aws.String(vpcID)})
		return err
	}
	mapped := "Network " + vpcID + " has some mapped public address(es). Please unmap those public address(es) before detaching the gateway."
	attach()

	eip := try(e.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})).must(t)
	nat := try(e.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0]), AllocationId: eip.AllocationId})).must(t).NatGateway
	wantError(t, "detach with a NAT gateway", detach(), "DependencyViolation", mapped)
	try(e.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: nat.NatGatewayId})).must(t)
	wantError(t, "detach with a NAT gateway being deleted", detach(), "DependencyViolation", mapped)
	e.clock.Advance(10 * time.Second)
	if err := detach(); err != nil {
		t.Fatalf("detach once the NAT gateway is deleted: %v", err)
	}
	attach()

	try(e.ec2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: aws.String(subnets[0]),
		MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})).must(t)
	run := try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), InstanceType: ec2types.InstanceTypeT3Medium,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnets[0])})).must(t)
	wantError(t, "detach with an instance's public address", detach(), "DependencyViolation", mapped)
	try(e.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*run.Instances[0].InstanceId}})).must(t)
	wantError(t, "detach with a shutting-down instance", detach(), "DependencyViolation", mapped)
	e.clock.Advance(5 * time.Second)
	if err := detach(); err != nil {
		t.Fatalf("detach once the instance terminated: %v", err)
	}
	attach()

	try(e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("private"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
		Scheme: elbv2types.LoadBalancerSchemeEnumInternal, Subnets: subnets})).must(t)
	public := try(e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("public"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
		Subnets: subnets})).must(t).LoadBalancers[0]
	wantError(t, "detach with an internet-facing load balancer", detach(), "DependencyViolation", mapped)
	try(e.elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: public.LoadBalancerArn})).must(t)
	wantError(t, "detach while its interfaces linger", detach(), "DependencyViolation", mapped)
	e.clock.Advance(20 * time.Second)
	if err := detach(); err != nil {
		t.Errorf("detach with only an internal load balancer: %v", err)
	}
}

func TestSecurityGroupEgressRules(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	vpcID, _ := testNetwork(t, e)
	nodes, lb := testGroup(t, e, vpcID, "nodes"), testGroup(t, e, vpcID, "lb")
	describe := func(filters ...ec2types.Filter) []ec2types.SecurityGroup {
		return try(e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: append(filters,
			ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpcID}})})).must(t).SecurityGroups
	}
	if g := describe(ec2types.Filter{Name: aws.String("group-id"), Values: []string{nodes}}); len(g) != 1 || len(g[0].IpPermissionsEgress) != 1 ||
		*g[0].IpPermissionsEgress[0].IpProtocol != "-1" || *g[0].IpPermissionsEgress[0].IpRanges[0].CidrIp != "0.0.0.0/0" {
		t.Fatalf("a new group's outbound rules = %+v", g)
	}
	allowAll := []ec2types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}}}}
	try(e.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(nodes), IpPermissions: allowAll})).must(t)
	_, err := e.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(nodes), IpPermissions: allowAll})
	wantError(t, "revoking an outbound rule twice", err, "InvalidPermission.NotFound", "")

	toLB := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6443), ToPort: aws.Int32(6443),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb)}}}}
	try(e.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(nodes), IpPermissions: toLB})).must(t)
	_, err = e.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(nodes), IpPermissions: toLB})
	wantError(t, "authorizing an outbound rule twice", err, "InvalidPermission.Duplicate", "")
	fromLB := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(10250), ToPort: aws.Int32(10250),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lb)}}}}
	try(e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(nodes), IpPermissions: fromLB})).must(t)

	for _, name := range []string{"ip-permission.group-id", "egress.ip-permission.group-id"} {
		if g := describe(ec2types.Filter{Name: aws.String(name), Values: []string{lb}}); len(g) != 1 || *g[0].GroupId != nodes {
			t.Errorf("groups with %s %s = %+v", name, lb, g)
		}
	}
	if g := describe(ec2types.Filter{Name: aws.String("egress.ip-permission.cidr"), Values: []string{"0.0.0.0/0"}}); len(g) != 2 {
		t.Errorf("%d groups allow all outbound traffic, want the lb group and the default one", len(g))
	}

	deleteLB := func() error {
		_, err := e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(lb)})
		return err
	}
	try(e.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(nodes), IpPermissions: fromLB})).must(t)
	wantError(t, "DeleteSecurityGroup of a group an outbound rule names", deleteLB(), "DependencyViolation", "resource "+lb+" has a dependent object")
	try(e.ec2.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(nodes), IpPermissions: toLB})).must(t)
	if err := deleteLB(); err != nil {
		t.Errorf("DeleteSecurityGroup once no rule names it: %v", err)
	}
}
