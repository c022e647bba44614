package cloud

import (
	"context"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// adoptSubnets records the existing subnets a cluster is given, told
// public or private as EC2 routes them: a subnet whose route table (its
// own, or else the VPC's main one) sends 0.0.0.0/0 to an internet gateway
// is public. The cloud provider's role tags, where set, say it instead.
// The machines need a private subnet and the internet-facing API server
// load balancer a public one.
func (c Clients) adoptSubnets(ctx context.Context, spec infrav1.NetworkSpec, st *infrav1.NetworkStatus) error {
	out, err := c.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: spec.SubnetIDs})
	if err != nil {
		if IsNotFound(err) {
			return permanent("", "subnet_ids: %s", Message(err))
		}
		return err
	}
	tables, err := c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{st.VPCID}}}})
	if err != nil {
		return err
	}
	var subnets []infrav1.SubnetStatus
	publicCount, privateCount := 0, 0
	for _, sn := range out.Subnets {
		id := aws.ToString(sn.SubnetId)
		if vpc := aws.ToString(sn.VpcId); vpc != st.VPCID {
			return permanent("", "subnet %s is in VPC %s, not in the cluster's VPC %s", id, vpc, st.VPCID)
		}
		public := routesToInternetGateway(routeTableOf(id, tables.RouteTables))
		switch {
		case tagValue(sn.Tags, ELBRoleTag) != "":
			public = true
		case tagValue(sn.Tags, InternalELBRoleTag) != "":
			public = false
		}
		if public {
			publicCount++
		} else {
			privateCount++
		}
		subnets = append(subnets, infrav1.SubnetStatus{ID: id, AvailabilityZone: aws.ToString(sn.AvailabilityZone),
			CIDRBlock: aws.ToString(sn.CidrBlock), Public: public})
	}
	if privateCount == 0 {
		return permanent("", "subnet_ids %s: none is private (every one routes 0.0.0.0/0 to an internet gateway), and the machines go in private subnets",
			strings.Join(spec.SubnetIDs, ", "))
	}
	if publicCount == 0 {
		return permanent("", "subnet_ids %s: none is public (routes 0.0.0.0/0 to an internet gateway), and the API server's internet-facing load balancer needs one",
			strings.Join(spec.SubnetIDs, ", "))
	}
	sort.Slice(subnets, func(i, j int) bool {
		if subnets[i].AvailabilityZone != subnets[j].AvailabilityZone {
			return subnets[i].AvailabilityZone < subnets[j].AvailabilityZone
		}
		return subnets[i].Public && !subnets[j].Public
	})
	st.Subnets = subnets
	return nil
}

// routeTableOf is the route table of a subnet: the one associated with
// it, else the VPC's main table.
func routeTableOf(subnet string, tables []ec2types.RouteTable) *ec2types.RouteTable {
	var main *ec2types.RouteTable
	for i := range tables {
		for _, a := range tables[i].Associations {
			if aws.ToString(a.SubnetId) == subnet {
				return &tables[i]
			}
			if aws.ToBool(a.Main) {
				main = &tables[i]
			}
		}
	}
	return main
}

func routesToInternetGateway(t *ec2types.RouteTable) bool {
	if t == nil {
		return false
	}
	for _, r := range t.Routes {
		if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" && strings.HasPrefix(aws.ToString(r.GatewayId), "igw-") {
			return true
		}
	}
	return false
}
