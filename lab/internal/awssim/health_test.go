package awssim

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// healthLog records OnLoadBalancerHealth's reports as "dns:port healthy".
type healthLog struct {
	mu      sync.Mutex
	reports []string
}

func (h *healthLog) record(dnsName string, port int, healthy bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reports = append(h.reports, fmt.Sprintf("%s:%d %t", dnsName, port, healthy))
}

// take returns the reports since the last take.
func (h *healthLog) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.reports
	h.reports = nil
	return out
}

// apiServerLB is an API server load balancer as our actuator builds it:
// an NLB whose listener on 6443 forwards to a TCP target group checked
// every 10 s, healthy after 5 checks.
type apiServerLB struct {
	e       *env
	subnet  string
	lbArn   string
	dnsName string
	tgArn   string
}

func newAPIServerLB(t *testing.T, e *env) *apiServerLB {
	t.Helper()
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	sn := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24"),
		AvailabilityZone: aws.String("eu-west-1a")})).must(t).Subnet
	lb := try(e.elb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("demo-apiserver"), Type: elbv2types.LoadBalancerTypeEnumNetwork,
		Subnets: []string{*sn.SubnetId}})).must(t).LoadBalancers[0]
	tg := try(e.elb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String("demo-apiserver"), Protocol: elbv2types.ProtocolEnumTcp,
		Port: aws.Int32(6443), VpcId: vpc.VpcId, TargetType: elbv2types.TargetTypeEnumInstance,
		HealthCheckIntervalSeconds: aws.Int32(10), HealthCheckTimeoutSeconds: aws.Int32(5), HealthyThresholdCount: aws.Int32(5)})).must(t).TargetGroups[0]
	try(e.elb.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Protocol: elbv2types.ProtocolEnumTcp, Port: aws.Int32(6443),
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}})).must(t)
	return &apiServerLB{e: e, subnet: *sn.SubnetId, lbArn: *lb.LoadBalancerArn, dnsName: *lb.DNSName, tgArn: *tg.TargetGroupArn}
}

func (b *apiServerLB) runInstance(t *testing.T) string {
	t.Helper()
	run := try(b.e.ec2.RunInstances(context.Background(), &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		SubnetId: aws.String(b.subnet)})).must(t)
	return *run.Instances[0].InstanceId
}

func (b *apiServerLB) targets(id string) []elbv2types.TargetDescription {
	return []elbv2types.TargetDescription{{Id: aws.String(id)}}
}

func (b *apiServerLB) register(t *testing.T, id string) {
	t.Helper()
	try(b.e.elb.RegisterTargets(context.Background(), &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(b.tgArn), Targets: b.targets(id)})).must(t)
}

func (b *apiServerLB) deregister(t *testing.T, id string) {
	t.Helper()
	try(b.e.elb.DeregisterTargets(context.Background(), &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(b.tgArn), Targets: b.targets(id)})).must(t)
}

// expect checks the reports since the last check.
func expect(t *testing.T, h *healthLog, when string, want ...string) {
	t.Helper()
	if got := h.take(); !slices.Equal(got, want) {
		t.Errorf("%s: reports %q, want %q", when, got, want)
	}
}

// newHealthEnv is a simulator that scales CAPA's 5 x 10 s to 5 s.
func newHealthEnv(t *testing.T, cfg Config) (*env, *healthLog) {
	cfg.HealthCheckTimeScale = 0.1
	e := newEnv(t, cfg)
	h := &healthLog{}
	e.sim.OnLoadBalancerHealth = h.record
	return e, h
}

func TestLoadBalancerHealthyAfterHealthChecks(t *testing.T) {
	e, h := newHealthEnv(t, Config{})
	b := newAPIServerLB(t, e)
	id := b.runInstance(t)
	b.register(t, id)
	e.clock.Advance(4999 * time.Millisecond)
	expect(t, h, "before 5 x 10 s x 0.1")
	// No call is needed: the health checks' timer reports.
	e.clock.Advance(time.Millisecond)
	expect(t, h, "after 5 x 10 s x 0.1", b.dnsName+":6443 true")
	// A second target changes nothing.
	second := b.runInstance(t)
	b.register(t, second)
	e.clock.Advance(5 * time.Second)
	expect(t, h, "a second healthy target")
}

func TestLoadBalancerUnhealthyWhenTargetDeregistered(t *testing.T) {
	e, h := newHealthEnv(t, Config{})
	b := newAPIServerLB(t, e)
	id := b.runInstance(t)
	b.register(t, id)
	e.clock.Advance(5 * time.Second)
	expect(t, h, "registered", b.dnsName+":6443 true")
	b.deregister(t, id)
	expect(t, h, "deregistered", b.dnsName+":6443 false")
	// Registered again, the target starts its health checks over.
	b.register(t, id)
	e.clock.Advance(4 * time.Second)
	expect(t, h, "registered again, checks under way")
	e.clock.Advance(time.Second)
	expect(t, h, "registered again", b.dnsName+":6443 true")
}

func TestLoadBalancerUnhealthyWhenInstanceTerminates(t *testing.T) {
	e, h := newHealthEnv(t, Config{TerminateDelay: time.Minute})
	b := newAPIServerLB(t, e)
	id := b.runInstance(t)
	b.register(t, id)
	e.clock.Advance(5 * time.Second)
	expect(t, h, "registered", b.dnsName+":6443 true")
	// Shutting down is not running: the target fails its checks at once.
	try(e.ec2.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{id}})).must(t)
	expect(t, h, "terminating", b.dnsName+":6443 false")
	e.clock.Advance(time.Minute)
	expect(t, h, "terminated")
}

func TestLoadBalancerUnhealthyWhenDeleted(t *testing.T) {
	e, h := newHealthEnv(t, Config{})
	b := newAPIServerLB(t, e)
	b.register(t, b.runInstance(t))
	e.clock.Advance(5 * time.Second)
	expect(t, h, "registered", b.dnsName+":6443 true")
	try(e.elb.DeleteLoadBalancer(context.Background(), &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(b.lbArn)})).must(t)
	expect(t, h, "deleted", b.dnsName+":6443 false")
}

func TestLoadBalancerForwardsOnlyOnceActive(t *testing.T) {
	e, h := newHealthEnv(t, Config{LoadBalancerDelay: 30 * time.Second})
	b := newAPIServerLB(t, e)
	b.register(t, b.runInstance(t))
	e.clock.Advance(29 * time.Second)
	expect(t, h, "healthy target, load balancer provisioning")
	e.clock.Advance(time.Second)
	expect(t, h, "load balancer active", b.dnsName+":6443 true")
}

func TestLoadBalancerHealthFollowsTimeScale(t *testing.T) {
	e, h := newHealthEnv(t, Config{})
	b := newAPIServerLB(t, e)
	b.register(t, b.runInstance(t))
	e.clock.Advance(time.Second)
	// At a tenth of 0.1, the checks under way have passed already.
	cfg := e.sim.config()
	cfg.HealthCheckTimeScale = 0.01
	e.sim.SetConfig(cfg)
	expect(t, h, "time scale lowered", b.dnsName+":6443 true")
}
