package aws

import (
	"context"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// existingNetwork is a VPC made outside Cluster API: an internet gateway,
// a public subnet routed to it, and a private subnet on the main table.
type existingNetwork struct {
	vpc, igw, public, private, routes string
}

func makeExistingNetwork(t *testing.T, e env) existingNetwork {
	t.Helper()
	ctx := context.Background()
	ec := e.clients.EC2
	var n existingNetwork
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// EC2 is eventually consistent: what was just made may not be known
	// yet to the next call.
	retry := func(what string, call func() error) {
		t.Helper()
		var err error
		eventually(t, what, 30*time.Second, func() (bool, error) {
			err = call()
			return err == nil, nil
		})
		must(err)
	}
	vpc, err := ec.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: awssdk.String("10.50.0.0/16")})
	must(err)
	n.vpc = awssdk.ToString(vpc.Vpc.VpcId)
	igw, err := ec.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	must(err)
	n.igw = awssdk.ToString(igw.InternetGateway.InternetGatewayId)
	t.Cleanup(func() { removeExistingNetwork(t, e, n) })
	retry("internet gateway attached", func() error {
		_, err := ec.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &n.igw, VpcId: &n.vpc})
		return err
	})
	retry("subnets made", func() error {
		if n.public == "" {
			out, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &n.vpc, CidrBlock: awssdk.String("10.50.0.0/20"), AvailabilityZone: awssdk.String("us-east-1a")})
			if err != nil {
				return err
			}
			n.public = awssdk.ToString(out.Subnet.SubnetId)
		}
		out, err := ec.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: &n.vpc, CidrBlock: awssdk.String("10.50.16.0/20"), AvailabilityZone: awssdk.String("us-east-1a")})
		if err == nil {
			n.private = awssdk.ToString(out.Subnet.SubnetId)
		}
		return err
	})
	retry("route table made", func() error {
		out, err := ec.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: &n.vpc})
		if err == nil {
			n.routes = awssdk.ToString(out.RouteTable.RouteTableId)
		}
		return err
	})
	retry("default route to the gateway", func() error {
		_, err := ec.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: &n.routes, DestinationCidrBlock: awssdk.String("0.0.0.0/0"), GatewayId: &n.igw})
		return err
	})
	retry("public subnet on the route table", func() error {
		_, err := ec.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: &n.routes, SubnetId: &n.public})
		return err
	})
	return n
}

// removeExistingNetwork removes the user's network, which outlives the
// cluster, once the cluster's own resources in it are gone.
func removeExistingNetwork(t *testing.T, e env, n existingNetwork) {
	ctx := context.Background()
	ec := e.clients.EC2
	eventually(t, "existing network removed", 60*time.Second, func() (bool, error) {
		if n.routes != "" {
			out, _ := ec.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{n.routes}})
			for _, t := range out.RouteTables {
				for _, a := range t.Associations {
					_, _ = ec.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId})
				}
			}
			_, _ = ec.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: &n.routes})
		}
		for _, id := range []string{n.public, n.private} {
			if id != "" {
				_, _ = ec.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: awssdk.String(id)})
			}
		}
		_, _ = ec.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: &n.igw, VpcId: &n.vpc})
		_, _ = ec.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: &n.igw})
		_, err := ec.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &n.vpc})
		return err == nil, nil
	})
}

// A cluster in an existing VPC with its own internet gateway and subnets
// uses them as they are: the public subnet (routed to the gateway) takes
// the load balancer, the private one the machines and the failure domain;
// no second internet gateway, no NAT gateway, no route table or subnet is
// made; the machine runs in the private subnet; the delete leaves the
// user's network as it was (clusterIn checks nothing of the cluster's is
// left).
func TestAccAWSClusterInAnExistingVPC(t *testing.T) {
	e := startEngine(t)
	ctx := context.Background()
	n := makeExistingNetwork(t, e)
	cluster := clusterIn(t, e, "default", "byo-"+time.Now().Format("150405"), func(s *infrav1.AWSClusterSpec) {
		s.Network.VPCID = n.vpc
		s.Network.SubnetIDs = []string{n.private, n.public}
	})
	awsCluster := &infrav1.AWSCluster{}
	if err := e.c.Get(ctx, client.ObjectKey{Namespace: "default", Name: cluster.Name}, awsCluster); err != nil {
		t.Fatal(err)
	}
	st := awsCluster.Status.Network
	if len(st.Subnets) != 2 || st.Subnets[0].ID != n.public || !st.Subnets[0].Public || st.Subnets[1].ID != n.private || st.Subnets[1].Public {
		t.Errorf("subnets %+v, want %s public and %s private", st.Subnets, n.public, n.private)
	}
	if fd := awsCluster.Status.FailureDomains; len(fd) != 1 || fd[0].Name != "us-east-1a" {
		t.Errorf("failure domains %+v", fd)
	}
	vpcFilter := []ec2types.Filter{{Name: awssdk.String("vpc-id"), Values: []string{n.vpc}}}
	igws, err := e.clients.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{
		{Name: awssdk.String("attachment.vpc-id"), Values: []string{n.vpc}}}})
	if err != nil || len(igws.InternetGateways) != 1 {
		t.Errorf("internet gateways of the VPC: %d, %v", len(igws.InternetGateways), err)
	}
	nats, err := e.clients.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: vpcFilter})
	if err != nil || len(nats.NatGateways) != 0 {
		t.Errorf("NAT gateways made in the VPC: %d, %v", len(nats.NatGateways), err)
	}
	tables, err := e.clients.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: vpcFilter})
	if err != nil || len(tables.RouteTables) != 2 {
		t.Errorf("route tables of the VPC: %d (the main one and the user's), %v", len(tables.RouteTables), err)
	}
	subnets, err := e.clients.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: vpcFilter})
	if err != nil || len(subnets.Subnets) != 2 {
		t.Errorf("subnets of the VPC: %d, %v", len(subnets.Subnets), err)
	}

	_, am := standaloneMachine(t, e, cluster, "m", "v1.36.0", infrav1.AWSMachineSpec{InstanceType: "t3.medium"})
	eventually(t, "machine running", 90*time.Second, func() (bool, error) {
		err := e.c.Get(ctx, client.ObjectKeyFromObject(am), am)
		return err == nil && ptr.Deref(am.Status.Initialization.Provisioned, false), err
	})
	out, err := e.clients.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{am.Spec.InstanceID}})
	if err != nil {
		t.Fatal(err)
	}
	if got := awssdk.ToString(out.Reservations[0].Instances[0].SubnetId); got != n.private {
		t.Errorf("instance in subnet %s, want the private %s", got, n.private)
	}
}
