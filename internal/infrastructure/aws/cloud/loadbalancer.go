package cloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// LoadBalancerName is the API server load balancer's (and target group's)
// name, unique per namespace and name. ELBv2 takes at most 32
// alphanumerics and hyphens, so the cluster name (a DNS subdomain, dots
// allowed) is cut and its other characters become hyphens; the hash of
// the full namespace and name keeps it unique.
func LoadBalancerName(cl Cluster) string {
	sum := sha256.Sum256([]byte(cl.Namespace + "/" + cl.Name))
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, cl.Name)
	if len(name) > 20 {
		name = name[:20]
	}
	if name = strings.Trim(name, "-"); name == "" {
		name = "cluster"
	}
	return fmt.Sprintf("%s-api-%s", name, hex.EncodeToString(sum[:])[:7])
}

// ReconcileLoadBalancer makes the API server's network load balancer, its
// target group and listener exist in the public subnets, records them in
// st and reports whether the load balancer is active.
func (c Clients) ReconcileLoadBalancer(ctx context.Context, cl Cluster, port int32, st *infrav1.NetworkStatus) (bool, error) {
	name := LoadBalancerName(cl)
	tags := []elbv2types.Tag{}
	for k, v := range cl.tags("apiserver-lb", "", nil) {
		tags = append(tags, elbv2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	var lb elbv2types.LoadBalancer
	out, err := c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	switch {
	case err == nil && len(out.LoadBalancers) > 0:
		lb = out.LoadBalancers[0]
	case err == nil || IsNotFound(err):
		created, err := c.ELB.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(name),
			Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: elbv2types.LoadBalancerSchemeEnumInternetFacing,
			Subnets: publicSubnets(st.Subnets), SecurityGroups: []string{st.SecurityGroups.LoadBalancer}, Tags: tags})
		if err != nil {
			return false, fmt.Errorf("creating load balancer %s: %w", name, err)
		}
		lb = created.LoadBalancers[0]
	default:
		return false, err
	}
	st.LoadBalancer.ARN, st.LoadBalancer.DNSName = aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.DNSName)

	tg, err := c.ensureTargetGroup(ctx, name, port, st.VPCID, tags)
	if err != nil {
		return false, err
	}
	st.LoadBalancer.TargetGroupARN = tg
	listeners, err := c.ELB.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: lb.LoadBalancerArn})
	if err != nil {
		return false, err
	}
	for _, l := range listeners.Listeners {
		if aws.ToInt32(l.Port) == port {
			st.LoadBalancer.ListenerARN = aws.ToString(l.ListenerArn)
		}
	}
	if st.LoadBalancer.ListenerARN == "" {
		created, err := c.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: lb.LoadBalancerArn, Port: aws.Int32(port),
			Protocol: elbv2types.ProtocolEnumTcp, Tags: tags,
			DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}})
		if err != nil {
			return false, fmt.Errorf("creating the listener of %s: %w", name, err)
		}
		st.LoadBalancer.ListenerARN = aws.ToString(created.Listeners[0].ListenerArn)
	}
	return lb.State != nil && lb.State.Code == elbv2types.LoadBalancerStateEnumActive, nil
}

// The API server target group's health check is CAPA's: TCP on the API
// server port every 10 s with a 5 s timeout, healthy after 5 checks and
// unhealthy after 3. (ELBv2's defaults, 30 s and 5 checks, leave a new
// control plane unreachable through the load balancer for 150 s.)
const (
	apiHealthCheckIntervalSeconds = 10
	apiHealthCheckTimeoutSeconds  = 5
	apiHealthyThreshold           = 5
	apiUnhealthyThreshold         = 3
)

// preserveClientIP is the target group attribute CAPA turns off: with it
// on, a node reaching the API server through the load balancer can be
// routed back to itself, which NLBs do not support (hairpinning), and the
// control plane group would have to be open to every client address.
const preserveClientIP = "preserve_client_ip.enabled"

func (c Clients) ensureTargetGroup(ctx context.Context, name string, port int32, vpcID string, tags []elbv2types.Tag) (string, error) {
	out, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil && !IsNotFound(err) {
		return "", err
	}
	var tg elbv2types.TargetGroup
	if err == nil && len(out.TargetGroups) > 0 {
		tg = out.TargetGroups[0]
		if err := c.ensureHealthCheck(ctx, tg, port); err != nil {
			return "", err
		}
	} else {
		created, err := c.ELB.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(name), Protocol: elbv2types.ProtocolEnumTcp,
			Port: aws.Int32(port), VpcId: aws.String(vpcID), TargetType: elbv2types.TargetTypeEnumInstance, Tags: tags,
			HealthCheckEnabled: aws.Bool(true), HealthCheckProtocol: elbv2types.ProtocolEnumTcp, HealthCheckPort: aws.String(strconv.Itoa(int(port))),
			HealthCheckIntervalSeconds: aws.Int32(apiHealthCheckIntervalSeconds), HealthCheckTimeoutSeconds: aws.Int32(apiHealthCheckTimeoutSeconds),
			HealthyThresholdCount: aws.Int32(apiHealthyThreshold), UnhealthyThresholdCount: aws.Int32(apiUnhealthyThreshold)})
		if err != nil {
			return "", fmt.Errorf("creating target group %s: %w", name, err)
		}
		tg = created.TargetGroups[0]
	}
	return aws.ToString(tg.TargetGroupArn), c.ensureClientIPNotPreserved(ctx, aws.ToString(tg.TargetGroupArn))
}

// ensureHealthCheck brings an existing target group's health check to
// CAPA's settings.
func (c Clients) ensureHealthCheck(ctx context.Context, tg elbv2types.TargetGroup, port int32) error {
	if aws.ToInt32(tg.HealthCheckIntervalSeconds) == apiHealthCheckIntervalSeconds && aws.ToInt32(tg.HealthCheckTimeoutSeconds) == apiHealthCheckTimeoutSeconds &&
		aws.ToInt32(tg.HealthyThresholdCount) == apiHealthyThreshold && aws.ToInt32(tg.UnhealthyThresholdCount) == apiUnhealthyThreshold {
		return nil
	}
	_, err := c.ELB.ModifyTargetGroup(ctx, &elbv2.ModifyTargetGroupInput{TargetGroupArn: tg.TargetGroupArn,
		HealthCheckEnabled: aws.Bool(true), HealthCheckProtocol: elbv2types.ProtocolEnumTcp, HealthCheckPort: aws.String(strconv.Itoa(int(port))),
		HealthCheckIntervalSeconds: aws.Int32(apiHealthCheckIntervalSeconds), HealthCheckTimeoutSeconds: aws.Int32(apiHealthCheckTimeoutSeconds),
		HealthyThresholdCount: aws.Int32(apiHealthyThreshold), UnhealthyThresholdCount: aws.Int32(apiUnhealthyThreshold)})
	if err != nil {
		return fmt.Errorf("setting the health check of target group %s: %w", aws.ToString(tg.TargetGroupName), err)
	}
	return nil
}

func (c Clients) ensureClientIPNotPreserved(ctx context.Context, arn string) error {
	out, err := c.ELB.DescribeTargetGroupAttributes(ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		return err
	}
	for _, a := range out.Attributes {
		if aws.ToString(a.Key) == preserveClientIP && aws.ToString(a.Value) == "false" {
			return nil
		}
	}
	_, err = c.ELB.ModifyTargetGroupAttributes(ctx, &elbv2.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(arn),
		Attributes: []elbv2types.TargetGroupAttribute{{Key: aws.String(preserveClientIP), Value: aws.String("false")}}})
	if err != nil {
		return fmt.Errorf("turning off client IP preservation of %s: %w", arn, err)
	}
	return nil
}

// DeleteLoadBalancer deletes the load balancer (with its listener) and the
// target group. It reports false while the target group is still in use.
func (c Clients) DeleteLoadBalancer(ctx context.Context, cl Cluster) (bool, error) {
	name := LoadBalancerName(cl)
	out, err := c.ELB.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{Names: []string{name}})
	if err != nil && !IsNotFound(err) {
		return false, err
	}
	if err == nil {
		for _, lb := range out.LoadBalancers {
			if _, err := c.ELB.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: lb.LoadBalancerArn}); err != nil && !IsNotFound(err) {
				return false, err
			}
		}
	}
	tgs, err := c.ELB.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{Names: []string{name}})
	if err != nil && !IsNotFound(err) {
		return false, err
	}
	if err == nil {
		for _, tg := range tgs.TargetGroups {
			if _, err := c.ELB.DeleteTargetGroup(ctx, &elbv2.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}); err != nil && !IsNotFound(err) {
				if IsDependencyViolation(err) {
					return false, nil
				}
				return false, err
			}
		}
	}
	return true, nil
}

// RegisterTarget adds an instance to the API server's target group.
func (c Clients) RegisterTarget(ctx context.Context, targetGroupARN, instanceID string) error {
	_, err := c.ELB.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(targetGroupARN),
		Targets: []elbv2types.TargetDescription{{Id: aws.String(instanceID)}}})
	return err
}

// DeregisterTarget removes an instance from the target group; a target
// group already gone is fine.
func (c Clients) DeregisterTarget(ctx context.Context, targetGroupARN, instanceID string) error {
	_, err := c.ELB.DeregisterTargets(ctx, &elbv2.DeregisterTargetsInput{TargetGroupArn: aws.String(targetGroupARN),
		Targets: []elbv2types.TargetDescription{{Id: aws.String(instanceID)}}})
	if IsNotFound(err) {
		return nil
	}
	return err
}
