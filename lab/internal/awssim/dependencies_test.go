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
