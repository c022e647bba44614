package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/cloud"
)

// Names AWS refuses in tags and load balancer names: a 63-character
// namespace and a 63-character cluster name with dots. The cluster still
// provisions in the region's availability zones, not its Local Zone.
func TestAccAWSClusterWithLongDottedNames(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	suffix := fmt.Sprintf("%05d", time.Now().UnixNano()%100000)
	namespace := strings.Repeat("n", 63-len(suffix)) + suffix
	if err := e.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}) })
	name := "team.platform." + strings.Repeat("x", 63-len("team.platform.")-len(suffix)) + suffix
	cluster := clusterIn(t, e, namespace, name, func(*infrav1.AWSClusterSpec) {})

	awsCluster := &infrav1.AWSCluster{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: cluster.Name}, awsCluster); err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, fd := range awsCluster.Status.FailureDomains {
		zones = append(zones, fd.Name)
	}
	if strings.Join(zones, ",") != "us-east-1a,us-east-1b,us-east-1c" {
		t.Errorf("failure domains = %v, want the region's first three availability zones", zones)
	}
	if owned := ownedResources(t, namespace, name); len(owned) < 10 {
		t.Errorf("only %d resources carry the owner tag: %v", len(owned), owned)
	}
}

// An existing VPC that has an internet gateway keeps it: AWS allows one
// per VPC. The cluster uses it and leaves it, and the VPC, behind.
func TestAccAWSClusterInAnExistingVPCUsesItsInternetGateway(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	vpc, err := e.clients.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.20.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := awssdk.ToString(vpc.Vpc.VpcId)
	igw, err := e.clients.EC2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	igwID := awssdk.ToString(igw.InternetGateway.InternetGatewayId)
	eventually(t, "internet gateway attached", 10*time.Second, func() (bool, error) {
		_, err := e.clients.EC2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &igwID, VpcId: &vpcID})
		return err == nil, nil
	})
	t.Cleanup(func() {
		_, _ = e.clients.EC2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: &igwID, VpcId: &vpcID})
		_, _ = e.clients.EC2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: &igwID})
		_, _ = e.clients.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &vpcID})
	})
	name := fmt.Sprintf("byo-%d", time.Now().UnixNano()%100000)
	cluster := clusterIn(t, e, "default", name, func(s *infrav1.AWSClusterSpec) {
		s.Network.VPCID = vpcID
		s.Network.AvailabilityZones = []string{"us-east-1a"}
	})
	awsCluster := &infrav1.AWSCluster{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: cluster.Name}, awsCluster); err != nil {
		t.Fatal(err)
	}
	if got := awsCluster.Status.Network.InternetGatewayID; got != igwID {
		t.Errorf("internet gateway %s, want the VPC's own %s", got, igwID)
	}
	gws, err := e.clients.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("attachment.vpc-id"), Values: []string{vpcID}}}})
	if err != nil || len(gws.InternetGateways) != 1 {
		t.Errorf("internet gateways of the VPC: %+v %v", gws, err)
	}
}

// Rules are reconciled by content against AWS's merged permissions: a
// second pass authorizes nothing, a source removed out of band comes back.
func TestAccAWSSecurityGroupRulesReconcileByContent(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	cluster := networkOnlyCluster(t, e, "rules")
	awsCluster := &infrav1.AWSCluster{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: cluster.Name}, awsCluster); err != nil {
		t.Fatal(err)
	}
	cl := cloud.Cluster{Namespace: "default", Name: cluster.Name, UID: string(awsCluster.UID)}
	st := awsCluster.Status.Network
	calls := func(action string) int {
		calls, err := testLab.AWSCalls()
		if err != nil {
			t.Fatal(err)
		}
		return calls["ec2:"+action]
	}
	authorizations := func() int { return calls("AuthorizeSecurityGroupIngress") }
	before, revokes := authorizations(), calls("RevokeSecurityGroupIngress")
	if err := e.clients.ReconcileSecurityGroups(ctx, cl, 6443, &st); err != nil {
		t.Fatal(err)
	}
	if n, r := authorizations()-before, calls("RevokeSecurityGroupIngress")-revokes; n != 0 || r != 0 {
		t.Errorf("a pass over complete groups authorized %d and revoked %d rules", n, r)
	}

	// The API server port open to anywhere, as it was before it was
	// narrowed to the load balancer: the next pass revokes it.
	open := ec2types.IpPermission{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(6443), ToPort: awssdk.Int32(6443),
		IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}}
	if _, err := e.clients.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &st.SecurityGroups.ControlPlane,
		IpPermissions: []ec2types.IpPermission{open}}); err != nil {
		t.Fatal(err)
	}
	if err := e.clients.ReconcileSecurityGroups(ctx, cl, 6443, &st); err != nil {
		t.Fatal(err)
	}
	cp, err := e.clients.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{st.SecurityGroups.ControlPlane}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cp.SecurityGroups[0].IpPermissions {
		for _, r := range p.IpRanges {
			if awssdk.ToString(r.CidrIp) == "0.0.0.0/0" {
				t.Errorf("control plane group still open to anywhere on %d", awssdk.ToInt32(p.FromPort))
			}
		}
	}

	nodePorts := ec2types.IpPermission{IpProtocol: awssdk.String("tcp"), FromPort: awssdk.Int32(30000), ToPort: awssdk.Int32(32767),
		IpRanges: []ec2types.IpRange{{CidrIp: awssdk.String("0.0.0.0/0")}}}
	if _, err := e.clients.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &st.SecurityGroups.Node,
		IpPermissions: []ec2types.IpPermission{nodePorts}}); err != nil {
		t.Fatal(err)
	}
	before = authorizations()
	if err := e.clients.ReconcileSecurityGroups(ctx, cl, 6443, &st); err != nil {
		t.Fatal(err)
	}
	if n := authorizations() - before; n != 1 {
		t.Errorf("restoring one revoked rule took %d authorizations", n)
	}
	groups, err := e.clients.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{st.SecurityGroups.Node}})
	if err != nil {
		t.Fatal(err)
	}
	restored := false
	for _, p := range groups.SecurityGroups[0].IpPermissions {
		restored = restored || awssdk.ToInt32(p.FromPort) == 30000
	}
	if !restored {
		t.Errorf("NodePort rule not restored: %+v", groups.SecurityGroups[0].IpPermissions)
	}
}
