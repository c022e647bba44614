package awssim

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// fakeClock moves only when a test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []fakeTimer
}

type fakeTimer struct {
	at time.Time
	f  func()
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

// AfterFunc calls f when Advance reaches d from now.
func (c *fakeClock) AfterFunc(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = append(c.timers, fakeTimer{c.now.Add(d), f})
}

// Advance moves the clock and then fires the timers that are due, outside
// the clock's lock since they read it.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
		} else {
			due = append(due, t.f)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

type env struct {
	region string
	sim    *Simulator
	clock  *fakeClock
	ec2    *ec2.Client
	elb    *elbv2.Client
	sm     *secretsmanager.Client
}

// newEnv serves a simulator on loopback and points the real SDK clients
// (EC2, ELBv2, Secrets Manager) of eu-west-1 at it.
func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	return newEnvIn(t, cfg, "eu-west-1")
}

// newEnvIn is newEnv with the clients in region.
func newEnvIn(t *testing.T, cfg Config, region string) *env {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg.Now, cfg.AfterFunc = clock.Now, clock.AfterFunc
	sim := New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	awsCfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
	}
	return &env{region: region, sim: sim, clock: clock, ec2: ec2.NewFromConfig(awsCfg), elb: elbv2.NewFromConfig(awsCfg),
		sm: secretsmanager.NewFromConfig(awsCfg)}
}

func tagSpec(rt ec2types.ResourceType, kv ...string) []ec2types.TagSpecification {
	var tags []ec2types.Tag
	for i := 0; i < len(kv); i += 2 {
		tags = append(tags, ec2types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: tags}}
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// result carries a call's value and error, so that a test can write
// try(client.Call(...)).must(t).
type result[T any] struct {
	v   T
	err error
}

func try[T any](v T, err error) result[T] { return result[T]{v, err} }

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func TestNetworkLifecycle(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	owned := "sigs.k8s.io/cluster-api-provider-aws/cluster/demo"

	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"),
		TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, owned, "owned", "Name", "demo")})).must(t).Vpc
	if len(*vpc.VpcId) != len("vpc-")+17 {
		t.Errorf("VPC ID %q is not AWS-shaped", *vpc.VpcId)
	}
	found := try(e.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + owned), Values: []string{"owned"}},
		{Name: aws.String("state"), Values: []string{"available"}},
	}})).must(t).Vpcs
	if len(found) != 1 || *found[0].VpcId != *vpc.VpcId || len(found[0].Tags) != 2 {
		t.Fatalf("DescribeVpcs by tag = %+v", found)
	}
	none := try(e.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + owned), Values: []string{"shared"}},
	}})).must(t).Vpcs
	if len(none) != 0 {
		t.Errorf("filter on another tag value matched %d VPCs", len(none))
	}

	zones := try(e.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})).must(t).AvailabilityZones
	if len(zones) != 4 || *zones[0].ZoneName != "eu-west-1a" || *zones[3].ZoneType != "local-zone" || *zones[3].ParentZoneName != "eu-west-1a" {
		t.Fatalf("zones = %+v", zones)
	}
	onlyAZs := try(e.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{Filters: []ec2types.Filter{
		{Name: aws.String("zone-type"), Values: []string{"availability-zone"}}}})).must(t).AvailabilityZones
	if len(onlyAZs) != 3 {
		t.Errorf("zone-type filter: %d zones", len(onlyAZs))
	}

	public := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.0.0/20"),
		AvailabilityZone: zones[0].ZoneName, TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, owned, "owned")})).must(t).Subnet
	private := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.16.0/20"),
		AvailabilityZone: zones[0].ZoneName})).must(t).Subnet
	if _, err := e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.8.0/24")}); errorCode(err) != "InvalidSubnet.Conflict" {
		t.Errorf("overlapping subnet: %v", err)
	}
	try(e.ec2.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{SubnetId: public.SubnetId,
		MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})).must(t)

	igw := try(e.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).must(t).InternetGateway
	try(e.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId})).must(t)

	eip := try(e.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})).must(t)
	nat := try(e.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: public.SubnetId, AllocationId: eip.AllocationId,
		ClientToken: aws.String("nat-token")})).must(t).NatGateway
	again := try(e.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: public.SubnetId, AllocationId: eip.AllocationId,
		ClientToken: aws.String("nat-token")})).must(t).NatGateway
	if *again.NatGatewayId != *nat.NatGatewayId {
		t.Errorf("CreateNatGateway with the same client token made %s and %s", *nat.NatGatewayId, *again.NatGatewayId)
	}

	rt := try(e.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpc.VpcId})).must(t).RouteTable
	try(e.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: nat.NatGatewayId})).must(t)
	if _, err := e.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igw.InternetGatewayId}); errorCode(err) != "RouteAlreadyExists" {
		t.Errorf("duplicate route: %v", err)
	}
	assoc := try(e.ec2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTableId, SubnetId: private.SubnetId})).must(t)
	tables := try(e.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("association.subnet-id"), Values: []string{*private.SubnetId}}}})).must(t).RouteTables
	if len(tables) != 1 || len(tables[0].Routes) != 2 || *tables[0].Routes[1].NatGatewayId != *nat.NatGatewayId {
		t.Fatalf("route table of the private subnet = %+v", tables)
	}

	lbSG := try(e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("demo-lb"), Description: aws.String("lb"), VpcId: vpc.VpcId})).must(t)
	cpSG := try(e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("demo-cp"), Description: aws.String("cp"), VpcId: vpc.VpcId})).must(t)
	rule := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6443), ToPort: aws.Int32(6443),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: lbSG.GroupId}}}
	try(e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: cpSG.GroupId, IpPermissions: []ec2types.IpPermission{rule}})).must(t)
	if _, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: cpSG.GroupId, IpPermissions: []ec2types.IpPermission{rule}}); errorCode(err) != "InvalidPermission.Duplicate" {
		t.Errorf("duplicate rule: %v", err)
	}
	groups := try(e.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{*cpSG.GroupId}})).must(t).SecurityGroups
	if len(groups) != 1 || len(groups[0].IpPermissions) != 1 || *groups[0].IpPermissions[0].UserIdGroupPairs[0].GroupId != *lbSG.GroupId ||
		*groups[0].IpPermissions[0].FromPort != 6443 {
		t.Fatalf("security group = %+v", groups)
	}

	// Deleting in the wrong order fails as AWS does.
	if _, err := e.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.VpcId}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteVpc with subnets: %v", err)
	}
	if _, err := e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lbSG.GroupId}); errorCode(err) != "DependencyViolation" {
		t.Errorf("DeleteSecurityGroup referenced by another group: %v", err)
	}
	if _, err := e.ec2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: eip.AllocationId}); errorCode(err) != "InvalidIPAddress.InUse" {
		t.Errorf("ReleaseAddress of a NAT gateway's address: %v", err)
	}
	if got := len(e.sim.Resources()); got != 9 {
		t.Errorf("live resources = %d, want 9: %+v", got, e.sim.Resources())
	}

	// Deleting in the right order leaves nothing.
	try(e.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: cpSG.GroupId, IpPermissions: []ec2types.IpPermission{rule}})).must(t)
	if _, err := e.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: cpSG.GroupId, IpPermissions: []ec2types.IpPermission{rule}}); errorCode(err) != "InvalidPermission.NotFound" {
		t.Errorf("revoking a rule twice: %v", err)
	}
	try(e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: lbSG.GroupId})).must(t)
	try(e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: cpSG.GroupId})).must(t)
	try(e.ec2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: assoc.AssociationId})).must(t)
	try(e.ec2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: rt.RouteTableId})).must(t)
	try(e.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: nat.NatGatewayId})).must(t)
	try(e.ec2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: eip.AllocationId})).must(t)
	try(e.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId})).must(t)
	try(e.ec2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId})).must(t)
	try(e.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: public.SubnetId})).must(t)
	try(e.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: private.SubnetId})).must(t)
	try(e.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.VpcId})).must(t)
	if left := e.sim.Resources(); len(left) != 0 {
		t.Errorf("resources left: %+v", left)
	}
}

// ubuntuImage is a built-in catalog image, CAPA's Ubuntu 24.04 for v1.36.0.
var ubuntuImage = ImageID("capa-ami-ubuntu-24.04-v1.36.0-1761000000")

// testSubnet makes a VPC, a subnet and a security group for instances.
func testSubnet(t *testing.T, e *env) (subnetID, groupID string) {
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	sn := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.0.0/20"), AvailabilityZone: aws.String(e.region + "b")})).must(t).Subnet
	sg := try(e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("nodes"), Description: aws.String("nodes"), VpcId: vpc.VpcId})).must(t)
	return *sn.SubnetId, *sg.GroupId
}

func TestInstancesBootIdempotentlyAndTerminate(t *testing.T) {
	e := newEnv(t, Config{BootDelay: 10 * time.Second, TerminateDelay: 5 * time.Second})
	ctx := context.Background()
	subnetID, groupID := testSubnet(t, e)
	var started []Instance
	e.sim.OnInstanceRunning = func(i Instance) { started = append(started, i) }

	userData := []byte("#cloud-config\nruncmd: [kubeadm init]\n")
	run := func() *ec2.RunInstancesOutput {
		return try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
			ImageId: aws.String(ubuntuImage), InstanceType: ec2types.InstanceTypeT3Medium, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(subnetID), SecurityGroupIds: []string{groupID}, ClientToken: aws.String("uid-1234"),
			UserData:          aws.String(base64.StdEncoding.EncodeToString(userData)),
			TagSpecifications: tagSpec(ec2types.ResourceTypeInstance, "Name", "cp-0"),
		})).must(t)
	}
	first, second := run(), run()
	id := *first.Instances[0].InstanceId
	if *second.Instances[0].InstanceId != id {
		t.Errorf("the same client token made two instances: %s and %s", id, *second.Instances[0].InstanceId)
	}
	if first.Instances[0].State.Name != ec2types.InstanceStateNamePending {
		t.Errorf("new instance state = %s, want pending", first.Instances[0].State.Name)
	}
	if got := *first.Instances[0].Placement.AvailabilityZone; got != "eu-west-1b" {
		t.Errorf("availability zone = %s", got)
	}

	state := func() ec2types.InstanceStateName {
		out := try(e.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})).must(t)
		return out.Reservations[0].Instances[0].State.Name
	}
	e.clock.Advance(9 * time.Second)
	if s := state(); s != ec2types.InstanceStateNamePending || len(started) != 0 {
		t.Errorf("before the boot delay: %s, %d started", s, len(started))
	}
	e.clock.Advance(time.Second)
	if s := state(); s != ec2types.InstanceStateNameRunning {
		t.Errorf("after the boot delay: %s", s)
	}
	if len(started) != 1 || started[0].ID != id || string(started[0].UserData) != string(userData) || started[0].Tags["Name"] != "cp-0" {
		t.Errorf("OnInstanceRunning calls = %+v", started)
	}

	byTag := try(e.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:Name"), Values: []string{"cp-*"}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running"}},
	}})).must(t)
	if len(byTag.Reservations) != 1 {
		t.Errorf("DescribeInstances by tag wildcard and state = %+v", byTag.Reservations)
	}

	attr := try(e.ec2.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: aws.String(id), Attribute: ec2types.InstanceAttributeNameUserData})).must(t)
	if got, _ := base64.StdEncoding.DecodeString(*attr.UserData.Value); string(got) != string(userData) {
		t.Errorf("user data = %q", got)
	}

	term := try(e.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})).must(t)
	if term.TerminatingInstances[0].CurrentState.Name != ec2types.InstanceStateNameShuttingDown {
		t.Errorf("terminating state = %s", term.TerminatingInstances[0].CurrentState.Name)
	}
	e.clock.Advance(5 * time.Second)
	if s := state(); s != ec2types.InstanceStateNameTerminated {
		t.Errorf("after the terminate delay: %s", s)
	}
	for _, r := range e.sim.Resources() {
		if r.Kind == "instance" {
			t.Errorf("terminated instance listed as live: %+v", r)
		}
	}
}

func TestDescribeInstancesPaginates(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	subnetID, _ := testSubnet(t, e)
	try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(12), MaxCount: aws.Int32(12), SubnetId: aws.String(subnetID)})).must(t)
	pages, seen := 0, map[string]bool{}
	p := ec2.NewDescribeInstancesPaginator(e.ec2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5)})
	for p.HasMorePages() {
		out := try(p.NextPage(ctx)).must(t)
		pages++
		for _, r := range out.Reservations {
			for _, i := range r.Instances {
				seen[*i.InstanceId] = true
			}
		}
	}
	if pages != 3 || len(seen) != 12 {
		t.Errorf("%d pages, %d distinct instances; want 3 and 12", pages, len(seen))
	}
	if _, err := e.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(2)}); errorCode(err) != "InvalidParameterValue" {
		t.Errorf("MaxResults 2: %v", err)
	}
}

func TestEventualConsistency(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	subnetID, _ := testSubnet(t, e)
	e.sim.SetConfig(Config{ConsistencyDelay: 2 * time.Second})
	e.clock.Advance(time.Minute)
	out := try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID)})).must(t)
	id := *out.Instances[0].InstanceId
	if _, err := e.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}); errorCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("describe right after create: %v, want InvalidInstanceID.NotFound", err)
	}
	e.clock.Advance(2 * time.Second)
	if _, err := e.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}); err != nil {
		t.Errorf("describe after the consistency delay: %v", err)
	}
}

// With 30% of RunInstances throttled, the SDK's standard retryer still
// gets every instance, and the client tokens keep it to one each.
func TestThrottledRunInstancesRetriesToOneInstanceEach(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	subnetID, _ := testSubnet(t, e)
	e.sim.SetFaults([]Fault{{Action: "RunInstances", Rate: 0.3, Error: "throttling"}})
	for n := 0; n < 10; n++ {
		try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
			SubnetId: aws.String(subnetID), ClientToken: aws.String(fmt.Sprintf("machine-%d", n))})).must(t)
	}
	instances := 0
	for _, r := range e.sim.Resources() {
		if r.Kind == "instance" {
			instances++
		}
	}
	calls := e.sim.Calls()["ec2:RunInstances"]
	if instances != 10 || calls <= 10 {
		t.Errorf("%d instances after %d RunInstances calls; want 10 instances and retried calls", instances, calls)
	}
}

func TestFaultKinds(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	e.sim.SetFaults([]Fault{{Action: "ec2:DescribeVpcs", Rate: 1, Error: "capacity"}, {Action: "DescribeLoadBalancers", Rate: 1, Error: "throttling"}})
	if _, err := e.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}, func(o *ec2.Options) { o.RetryMaxAttempts = 1 }); errorCode(err) != "InsufficientInstanceCapacity" {
		t.Errorf("capacity fault: %v", err)
	}
	if _, err := e.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{}, func(o *elbv2.Options) { o.RetryMaxAttempts = 1 }); errorCode(err) != "Throttling" {
		t.Errorf("ELB throttling fault: %v", err)
	}
	e.sim.SetFaults(nil)
	try(e.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})).must(t)
}

func TestUserDataLimit(t *testing.T) {
	e := newEnv(t, Config{})
	subnetID, _ := testSubnet(t, e)
	big := make([]byte, userDataLimit+1)
	_, err := e.ec2.RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(subnetID), UserData: aws.String(base64.StdEncoding.EncodeToString(big))})
	if errorCode(err) != "InvalidParameterValue" {
		t.Errorf("oversized user data: %v", err)
	}
}

func TestLoadBalancerLifecycle(t *testing.T) {
	e := newEnv(t, Config{LoadBalancerDelay: 30 * time.Second})
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	var subnets []string
	for i, az := range []string{"eu-west-1a", "eu-west-1b"} {
		sn := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i)), AvailabilityZone: aws.String(az)})).must(t).Subnet
		subnets = append(subnets, *sn.SubnetId)
	}
	create := func() elbv2types.LoadBalancer {
		return try(e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("demo-apiserver"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
			Scheme: elbv2types.LoadBalancerSchemeEnumInternetFacing, Subnets: subnets,
			Tags: []elbv2types.Tag{{Key: aws.String("owner"), Value: aws.String("demo")}}})).must(t).LoadBalancers[0]
	}
	lb := create()
	if again := create(); *again.LoadBalancerArn != *lb.LoadBalancerArn {
		t.Errorf("CreateLoadBalancer is not idempotent by name")
	}
	if lb.State.Code != elbv2types.LoadBalancerStateEnumProvisioning || lb.DNSName == nil || len(lb.AvailabilityZones) != 2 {
		t.Errorf("new load balancer = %+v", lb)
	}
	e.clock.Advance(30 * time.Second)
	got := try(e.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"demo-apiserver"}})).must(t).LoadBalancers
	if len(got) != 1 || got[0].State.Code != elbv2types.LoadBalancerStateEnumActive {
		t.Errorf("after the delay: %+v", got)
	}
	if _, err := e.elb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{"missing"}}); errorCode(err) != "LoadBalancerNotFound" {
		t.Errorf("missing load balancer: %v", err)
	}

	tg := try(e.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("demo-apiserver"), Protocol: elbv2types.ProtocolEnumTcp,
		Port: aws.Int32(6443), VpcId: vpc.VpcId, TargetType: elbv2types.TargetTypeEnumInstance})).must(t).TargetGroups[0]
	l := try(e.elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(6443),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})).must(t).Listeners[0]

	run := try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnets[0])})).must(t)
	id := *run.Instances[0].InstanceId
	try(e.elb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: tg.TargetGroupArn, Targets: []elbv2types.TargetDescription{{Id: aws.String(id)}}})).must(t)
	health := func() elbv2types.TargetHealthStateEnum {
		out := try(e.elb.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})).must(t).TargetHealthDescriptions
		if len(out) != 1 || *out[0].Target.Id != id || *out[0].Target.Port != 6443 {
			t.Fatalf("target health = %+v", out)
		}
		return out[0].TargetHealth.State
	}
	// ELBv2's defaults: healthy after 5 checks 30 s apart.
	e.clock.Advance(149 * time.Second)
	if got := health(); got != elbv2types.TargetHealthStateEnumInitial {
		t.Errorf("target health before 5 x 30 s = %s", got)
	}
	e.clock.Advance(time.Second)
	if got := health(); got != elbv2types.TargetHealthStateEnumHealthy {
		t.Errorf("target health after 5 x 30 s = %s", got)
	}
	tags := try(e.elb.DescribeTags(ctx, &elbv2.DescribeTagsInput{ResourceArns: []string{*lb.LoadBalancerArn}})).must(t).TagDescriptions
	if len(tags) != 1 || len(tags[0].Tags) != 1 || *tags[0].Tags[0].Key != "owner" {
		t.Errorf("tags = %+v", tags)
	}
	byLB := try(e.elb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: lb.LoadBalancerArn})).must(t).TargetGroups
	if len(byLB) != 1 {
		t.Errorf("target groups of the load balancer = %+v", byLB)
	}
	listeners := try(e.elb.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})).must(t).Listeners
	if len(listeners) != 1 || *listeners[0].ListenerArn != *l.ListenerArn || *listeners[0].Port != 6443 {
		t.Errorf("listeners = %+v", listeners)
	}

	if _, err := e.elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); errorCode(err) != "ResourceInUse" {
		t.Errorf("deleting a target group in use: %v", err)
	}
	try(e.elb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn})).must(t)
	try(e.elb.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn})).must(t)
	for _, r := range e.sim.Resources() {
		if r.Kind == "loadbalancer" || r.Kind == "targetgroup" || r.Kind == "listener" {
			t.Errorf("left after delete: %+v", r)
		}
	}
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, Config{})
	srv := httptest.NewServer(e.sim)
	t.Cleanup(srv.Close)
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ctx := context.Background()
	try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})).must(t)

	if code, body := do("GET", "/_lab/resources", ""); code != 200 || !strings.Contains(body, `"kind":"vpc"`) {
		t.Errorf("resources: %d %s", code, body)
	}
	if code, body := do("GET", "/_lab/calls", ""); code != 200 || !strings.Contains(body, `"ec2:CreateVpc":1`) {
		t.Errorf("calls: %d %s", code, body)
	}
	if code, _ := do("PUT", "/_lab/faults", `[{"action":"DescribeVpcs","rate":1,"error":"server"}]`); code != 204 {
		t.Errorf("put faults: %d", code)
	}
	if _, err := e.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}, func(o *ec2.Options) { o.RetryMaxAttempts = 1 }); errorCode(err) != "InternalError" {
		t.Errorf("injected server error: %v", err)
	}
	if code, _ := do("PUT", "/_lab/faults", `[{"action":"DescribeVpcs","rate":2}]`); code != 400 {
		t.Errorf("a rate above 1 was accepted: %d", code)
	}
	if code, _ := do("DELETE", "/_lab/faults", ""); code != 204 {
		t.Errorf("delete faults: %d", code)
	}
	try(e.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})).must(t)
	if code, _ := do("PUT", "/_lab/timing", `{"bootDelay":"45s"}`); code != 204 || e.sim.cfg.BootDelay != 45*time.Second {
		t.Errorf("timing: %d, boot delay %s", code, e.sim.cfg.BootDelay)
	}
}

// Eventual consistency holds for every call that names a new resource,
// not only for Describe by ID.
func TestEventualConsistencyForCallsNamingNewResources(t *testing.T) {
	e := newEnv(t, Config{ConsistencyDelay: 2 * time.Second})
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	if _, err := e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.0.0/20")}); errorCode(err) != "InvalidVpcID.NotFound" {
		t.Errorf("subnet in a VPC made a moment ago: %v", err)
	}
	if _, err := e.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); errorCode(err) != "InvalidVpcID.NotFound" {
		t.Errorf("modifying a VPC made a moment ago: %v", err)
	}
	igw := try(e.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})).must(t).InternetGateway
	e.clock.Advance(2 * time.Second)
	if _, err := e.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: vpc.VpcId}); err != nil {
		t.Errorf("attaching after the delay: %v", err)
	}
	sn := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.0.0/20"), AvailabilityZone: aws.String("eu-west-1a")})).must(t).Subnet
	sg := try(e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("g"), VpcId: vpc.VpcId})).must(t)
	_, err := e.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	if errorCode(err) != "InvalidGroup.NotFound" {
		t.Errorf("rule on a group made a moment ago: %v", err)
	}
	if _, err := e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: sn.SubnetId}); errorCode(err) != "InvalidSubnetID.NotFound" {
		t.Errorf("instance in a subnet made a moment ago: %v", err)
	}
	e.clock.Advance(2 * time.Second)
	run := try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: sn.SubnetId})).must(t)
	if _, err := e.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*run.Instances[0].InstanceId}}); errorCode(err) != "InvalidInstanceID.NotFound" {
		t.Errorf("terminating an instance run a moment ago: %v", err)
	}
	// Filters see new resources at once, which is what finding an
	// instance by its client token relies on.
	byVPC := try(e.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpc.VpcId}}}})).must(t)
	if len(byVPC.Reservations) != 1 {
		t.Errorf("filtered DescribeInstances = %+v", byVPC.Reservations)
	}
}
