package aws

import (
	"context"
	"errors"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/smithy-go"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// serviceResources are what a cloud controller manager makes for a
// Service of type LoadBalancer with the NLB annotation.
type serviceResources struct {
	securityGroup, loadBalancer, targetGroup string
}

// A cloud controller manager left an internal NLB with a listener and a
// target group, and a security group that the NLB uses and that the
// cluster's node group lets in, as it does for a Service nobody deleted.
// Deleting the cluster deletes them before the network they block, in
// one go: the VPC is deleted at the first try. The cluster has no
// cloud controller manager label: the clean-up is for every cluster.
func TestAccAWSClusterDeleteRemovesServiceLoadBalancers(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, e, "ccm")
	awsCluster := &infrav1.AWSCluster{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: cluster.Name}, awsCluster); err != nil {
		t.Fatal(err)
	}
	st := awsCluster.Status.Network
	left := makeServiceResources(t, e, cluster.Name, st)
	checkSimulatorRefusesInUse(t, e, st, left)

	before, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.Delete(ctx, cluster); err != nil {
		t.Fatal(err)
	}
	eventually(t, "Cluster deleted", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(cluster), &clusterv1.Cluster{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if live, err := testLab.AWSResources(); err != nil || len(live) != 0 {
		t.Errorf("simulator resources left after delete: %+v %v", live, err)
	}
	after, err := testLab.AWSCalls()
	if err != nil {
		t.Fatal(err)
	}
	if n := after["ec2:DeleteVpc"] - before["ec2:DeleteVpc"]; n != 1 {
		t.Errorf("DeleteVpc called %d times, want once: the delete waited on what the Service's resources blocked", n)
	}
	if n := after["ec2:DeleteSubnet"] - before["ec2:DeleteSubnet"]; n != len(st.Subnets) {
		t.Errorf("DeleteSubnet called %d times for %d subnets", n, len(st.Subnets))
	}

	var events corev1.EventList
	if err := e.c.List(ctx, &events, client.InNamespace("default")); err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, ev := range events.Items {
		if ev.InvolvedObject.Name == cluster.Name && ev.Reason == "ServiceResourceDeleted" {
			deleted++
			t.Log(ev.Message)
		}
	}
	if deleted != 3 {
		t.Errorf("%d ServiceResourceDeleted events, want one each for the load balancer, target group and security group", deleted)
	}
}

// makeServiceResources makes in the cluster's VPC what the cloud
// controller manager makes for a Service default/web, tagged as it tags
// them.
func makeServiceResources(t *testing.T, e env, clusterName string, st infrav1.NetworkStatus) serviceResources {
	t.Helper()
	ctx := context.Background()
	tags := map[string]string{"kubernetes.io/cluster/" + clusterName: "owned", "kubernetes.io/service-name": "default/web"}
	var ec2Tags []ec2types.Tag
	var elbTags []elbv2types.Tag
	for k, v := range tags {
		ec2Tags = append(ec2Tags, ec2types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
		elbTags = append(elbTags, elbv2types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
	}
	var private []string
	for _, s := range st.Subnets {
		if !s.Public {
			private = append(private, s.ID)
		}
	}

	sg, err := e.clients.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("k8s-elb-web"), VpcId: &st.VPCID,
		Description:       awssdk.String("Security group for Kubernetes ELB (default/web)"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeSecurityGroup, Tags: ec2Tags}}})
	if err != nil {
		t.Fatal(err)
	}
	var res serviceResources
	res.securityGroup = awssdk.ToString(sg.GroupId)
	// The cloud controller manager opens the node group to the load
	// balancer's group on the Service's node port.
	fromService := ec2types.IpPermission{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(30080), ToPort: awssdk.Int32(30080),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: sg.GroupId}}}
	eventually(t, "node group open to the Service's group", 10*time.Second, func() (bool, error) {
		_, err := e.clients.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &st.SecurityGroups.Node,
			IpPermissions: []ec2types.IpPermission{fromService}})
		return err == nil, nil
	})

	lb, err := e.clients.ELB.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: awssdk.String("k8s-default-web-0123456789"),
		Type: elbv2types.LoadBalancerTypeEnumNetwork, Scheme: elbv2types.LoadBalancerSchemeEnumInternal,
		Subnets: private, SecurityGroups: []string{res.securityGroup}, Tags: elbTags})
	if err != nil {
		t.Fatal(err)
	}
	res.loadBalancer = awssdk.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	tg, err := e.clients.ELB.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: awssdk.String("k8s-default-web-9876543210"),
		Protocol: elbv2types.ProtocolEnumTcp, Port: awssdk.Int32(30080), VpcId: &st.VPCID, TargetType: elbv2types.TargetTypeEnumInstance, Tags: elbTags})
	if err != nil {
		t.Fatal(err)
	}
	res.targetGroup = awssdk.ToString(tg.TargetGroups[0].TargetGroupArn)
	if _, err := e.clients.ELB.CreateListener(ctx, &elbv2.CreateListenerInput{LoadBalancerArn: &res.loadBalancer, Port: awssdk.Int32(80),
		Protocol: elbv2types.ProtocolEnumTcp, Tags: elbTags,
		DefaultActions: []elbv2types.Action{{Type: elbv2types.ActionTypeEnumForward, TargetGroupArn: &res.targetGroup}}}); err != nil {
		t.Fatal(err)
	}
	return res
}

// checkSimulatorRefusesInUse checks what the test relies on: like EC2,
// the simulator refuses to delete a subnet that holds a load balancer, a
// security group that another group's rule names, and a VPC that holds a
// security group.
func checkSimulatorRefusesInUse(t *testing.T, e env, st infrav1.NetworkStatus, left serviceResources) {
	t.Helper()
	ctx := context.Background()
	for _, s := range st.Subnets {
		if !s.Public {
			_, err := e.clients.EC2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &s.ID})
			expectDependencyViolation(t, "deleting the subnet of the Service's load balancer", err)
		}
	}
	_, err := e.clients.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &left.securityGroup})
	expectDependencyViolation(t, "deleting the Service's security group the node group names", err)

	vpc, err := e.clients.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.99.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	var sg *ec2.CreateSecurityGroupOutput
	eventually(t, "security group in a new VPC", 10*time.Second, func() (bool, error) {
		sg, err = e.clients.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: awssdk.String("lone"), VpcId: vpc.Vpc.VpcId,
			Description: awssdk.String("lone")})
		return err == nil, nil
	})
	_, err = e.clients.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.Vpc.VpcId})
	expectDependencyViolation(t, "deleting a VPC that holds a security group", err)
	// A group made a moment ago may not be known by ID yet.
	eventually(t, "lone security group deleted", 10*time.Second, func() (bool, error) {
		_, err := e.clients.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
		return err == nil, nil
	})
	if _, err := e.clients.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpc.Vpc.VpcId}); err != nil {
		t.Fatal(err)
	}
}

func expectDependencyViolation(t *testing.T, what string, err error) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "DependencyViolation" {
		t.Errorf("%s: %v, want DependencyViolation", what, err)
	}
}
