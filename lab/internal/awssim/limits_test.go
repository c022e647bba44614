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

func TestOneInternetGatewayPerVPC(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	first := try(e.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).must(t).InternetGateway
	second := try(e.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).must(t).InternetGateway
	try(e.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: first.InternetGatewayId, VpcId: vpc.VpcId})).must(t)
	_, err := e.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: second.InternetGatewayId, VpcId: vpc.VpcId})
	if errorCode(err) != "Resource.AlreadyAssociated" || !strings.Contains(err.Error(), "already has an internet gateway attached") {
		t.Errorf("second internet gateway on one VPC: %v", err)
	}
}

func TestLoadBalancerAndTargetGroupNames(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	sn := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.0.0/24"), AvailabilityZone: aws.String("eu-west-1a")})).must(t).Subnet
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"demo-api-1a2b3c4", true}, {strings.Repeat("a", 32), true},
		{strings.Repeat("a", 33), false}, {"a.b-api", false}, {"demo_api", false}, {"-demo", false}, {"demo-", false}, {"", false},
	} {
		_, lbErr := e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(c.name), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{*sn.SubnetId}})
		_, tgErr := e.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(c.name), Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(6443), VpcId: vpc.VpcId})
		for what, err := range map[string]error{"load balancer": lbErr, "target group": tgErr} {
			if c.ok && err != nil {
				t.Errorf("%s %q refused: %v", what, c.name, err)
			}
			if !c.ok && errorCode(err) != "ValidationError" {
				t.Errorf("%s %q: %v, want ValidationError", what, c.name, err)
			}
		}
	}
	if _, err := e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("internal-x"), Subnets: []string{*sn.SubnetId}}); errorCode(err) != "ValidationError" {
		t.Errorf("internal- prefix: %v", err)
	}
}

func TestTagLimits(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	vpcWith := func(kv ...string) error {
		_, err := e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, kv...)})
		return err
	}
	if err := vpcWith(strings.Repeat("k", 128), strings.Repeat("v", 256)); err != nil {
		t.Errorf("tags at the limits: %v", err)
	}
	for what, kv := range map[string][]string{
		"129-character key":   {strings.Repeat("k", 129), "v"},
		"257-character value": {"k", strings.Repeat("v", 257)},
		"aws: key":            {"aws:cloudformation:stack-name", "x"},
	} {
		if err := vpcWith(kv...); errorCode(err) != "InvalidParameterValue" {
			t.Errorf("%s: %v", what, err)
		}
	}
	var many []string
	for i := 0; i < 51; i++ {
		many = append(many, fmt.Sprintf("k%d", i), "v")
	}
	if err := vpcWith(many...); errorCode(err) != "TagLimitExceeded" {
		t.Errorf("51 tags: %v", err)
	}
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, many[:98]...)})).must(t).Vpc
	_, err := e.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*vpc.VpcId}, Tags: []ec2types.Tag{{Key: aws.String("k49"), Value: aws.String("v")}, {Key: aws.String("k50"), Value: aws.String("v")}}})
	if errorCode(err) != "TagLimitExceeded" {
		t.Errorf("CreateTags past 50: %v", err)
	}
	try(e.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*vpc.VpcId}, Tags: []ec2types.Tag{{Key: aws.String("k1"), Value: aws.String("changed")}}})).must(t)

	sn := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.1.0.0/24"), AvailabilityZone: aws.String("eu-west-1a")})).must(t).Subnet
	_, err = e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("tags"), Subnets: []string{*sn.SubnetId},
		Tags: []elbv2types.Tag{{Key: aws.String(strings.Repeat("k", 129)), Value: aws.String("v")}}})
	if errorCode(err) != "ValidationError" {
		t.Errorf("ELB tag key of 129 characters: %v", err)
	}
}

// AWS keeps one rule per source and shows them merged per protocol and
// ports; rules are added and revoked one source at a time.
func TestSecurityGroupPermissionsMerge(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	a := try(e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("a"), Description: aws.String("a"), VpcId: vpc.VpcId})).must(t).GroupId
	b := try(e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("b"), Description: aws.String("b"), VpcId: vpc.VpcId})).must(t).GroupId
	all := func(group *string) ec2types.IpPermission {
		return ec2types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: group}}}
	}
	api := func(cidr string) ec2types.IpPermission {
		return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6443), ToPort: aws.Int32(6443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}
	}
	for _, perm := range []ec2types.IpPermission{all(a), all(b), api("10.0.0.0/16"), api("192.0.2.0/24")} {
		try(e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: a, IpPermissions: []ec2types.IpPermission{perm}})).must(t)
	}
	perms := try(e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*a}})).must(t).SecurityGroups[0].IpPermissions
	if len(perms) != 2 || len(perms[0].UserIdGroupPairs) != 2 || perms[0].FromPort != nil || len(perms[1].IpRanges) != 2 {
		t.Fatalf("merged permissions = %+v", perms)
	}
	// A permission with a source already there is a duplicate, even in a
	// request that also holds a new one; nothing of it is added.
	both := api("198.51.100.0/24")
	both.IpRanges = append(both.IpRanges, ec2types.IpRange{CidrIp: aws.String("10.0.0.0/16")})
	if _, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: a, IpPermissions: []ec2types.IpPermission{both}}); errorCode(err) != "InvalidPermission.Duplicate" {
		t.Errorf("authorizing a source already there: %v", err)
	}
	// Revoking the merged permission as described removes every source.
	try(e.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: a, IpPermissions: perms[1:]})).must(t)
	try(e.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: a, IpPermissions: []ec2types.IpPermission{all(b)}})).must(t)
	perms = try(e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*a}})).must(t).SecurityGroups[0].IpPermissions
	if len(perms) != 1 || len(perms[0].UserIdGroupPairs) != 1 || *perms[0].UserIdGroupPairs[0].GroupId != *a {
		t.Errorf("after revoking = %+v", perms)
	}
	if _, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: a, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}}); errorCode(err) != "InvalidParameterValue" {
		t.Errorf("tcp without ports: %v", err)
	}
}

// A target group as CAPA configures the API server's: health checks in
// ELBv2's ranges, targets initial until HealthyThreshold x Interval have
// passed (scaled for the lab), client IP preservation off.
func TestTargetGroupHealthChecksAndAttributes(t *testing.T) {
	e := newEnv(t, Config{HealthCheckTimeScale: 0.1})
	ctx := context.Background()
	subnetID, _ := testSubnet(t, e)
	vpcID := e.sim.subnets[subnetID].VpcID
	create := func(interval, timeout, healthy int32) (elbv2types.TargetGroup, error) {
		out, err := e.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(fmt.Sprintf("tg-%d-%d-%d", interval, timeout, healthy)),
			Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(6443), VpcId: aws.String(vpcID), HealthCheckProtocol: elbv2types.ProtocolEnumTcp,
			HealthCheckIntervalSeconds: aws.Int32(interval), HealthCheckTimeoutSeconds: aws.Int32(timeout), HealthyThresholdCount: aws.Int32(healthy),
			UnhealthyThresholdCount: aws.Int32(3)})
		if err != nil {
			return elbv2types.TargetGroup{}, err
		}
		return out.TargetGroups[0], nil
	}
	for _, bad := range [][3]int32{{4, 2, 5}, {10, 11, 5}, {10, 5, 1}, {10, 5, 11}} {
		if _, err := create(bad[0], bad[1], bad[2]); errorCode(err) != "ValidationError" {
			t.Errorf("health check %v: %v", bad, err)
		}
	}
	tg := try(create(10, 5, 5)).must(t)
	if aws.ToInt32(tg.HealthCheckIntervalSeconds) != 10 || aws.ToInt32(tg.HealthCheckTimeoutSeconds) != 5 || aws.ToInt32(tg.HealthyThresholdCount) != 5 {
		t.Errorf("target group = %+v", tg)
	}
	attrs := func() map[string]string {
		out := try(e.elb.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn})).must(t)
		m := map[string]string{}
		for _, a := range out.Attributes {
			m[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		return m
	}
	if got := attrs()["preserve_client_ip.enabled"]; got != "true" {
		t.Errorf("instance targets preserve client IPs by default, got %q", got)
	}
	try(e.elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []elbv2types.TargetGroupAttribute{{Key: aws.String("preserve_client_ip.enabled"), Value: aws.String("false")}}})).must(t)
	if got := attrs()["preserve_client_ip.enabled"]; got != "false" {
		t.Errorf("after the change: %q", got)
	}
	if _, err := e.elb.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: tg.TargetGroupArn,
		Attributes: []elbv2types.TargetGroupAttribute{{Key: aws.String("no.such.attribute"), Value: aws.String("1")}}}); errorCode(err) != "ValidationError" {
		t.Errorf("unknown attribute: %v", err)
	}

	lb := try(e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("api"), Type: elbv2types.LoadBalancerTypeEnumNetwork, Subnets: []string{subnetID}})).must(t).LoadBalancers[0]
	run := try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID)})).must(t)
	id := run.Instances[0].InstanceId
	try(e.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []elbv2types.TargetDescription{{Id: id}}})).must(t)
	state := func() (elbv2types.TargetHealthStateEnum, elbv2types.TargetHealthReasonEnum) {
		h := try(e.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})).must(t).TargetHealthDescriptions[0].TargetHealth
		return h.State, h.Reason
	}
	if s, r := state(); s != elbv2types.TargetHealthStateEnumUnused || r != elbv2types.TargetHealthReasonEnumNotInUse {
		t.Errorf("target of a group no listener uses: %s %s", s, r)
	}
	try(e.elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(6443),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})).must(t)
	// 5 checks 10 s apart, at a tenth of real time: 5 s.
	e.clock.Advance(4900 * time.Millisecond)
	if s, r := state(); s != elbv2types.TargetHealthStateEnumInitial || r != elbv2types.TargetHealthReasonEnumRegistrationInProgress {
		t.Errorf("before 5 x 10 s x 0.1: %s %s", s, r)
	}
	e.clock.Advance(100 * time.Millisecond)
	if s, _ := state(); s != elbv2types.TargetHealthStateEnumHealthy {
		t.Errorf("after 5 x 10 s x 0.1: %s", s)
	}
}
