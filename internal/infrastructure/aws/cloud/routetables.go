package cloud

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// ensureRouteTables routes the public subnets to the internet gateway and
// each zone's private subnet to the NAT gateway serving the zone.
func (c Clients) ensureRouteTables(ctx context.Context, cl Cluster, zones []string, natByZone map[string]string, st *infrav1.NetworkStatus) error {
	st.RouteTableIDs = nil
	public, err := c.ensureRouteTable(ctx, cl, rolePublicRoutes, "", st.VPCID, ec2types.Route{GatewayId: aws.String(st.InternetGatewayID)}, publicSubnets(st.Subnets))
	if err != nil {
		return err
	}
	st.RouteTableIDs = append(st.RouteTableIDs, public)
	for _, zone := range zones {
		id, err := c.ensureRouteTable(ctx, cl, rolePrivateRoutes, zone, st.VPCID, ec2types.Route{NatGatewayId: aws.String(natByZone[zone])},
			[]string{subnetID(st.Subnets, zone, false)})
		if err != nil {
			return err
		}
		st.RouteTableIDs = append(st.RouteTableIDs, id)
	}
	return nil
}

// ensureRouteTable makes a route table with a default route to target,
// associated with subnets.
func (c Clients) ensureRouteTable(ctx context.Context, cl Cluster, role, zone, vpcID string, target ec2types.Route, subnets []string) (string, error) {
	out, err := c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: cl.filters(role, zone)})
	if err != nil {
		return "", err
	}
	var rt ec2types.RouteTable
	if len(out.RouteTables) > 0 {
		rt = out.RouteTables[0]
	} else {
		var created *ec2.CreateRouteTableOutput
		err := retryNotFound(ctx, func() (err error) {
			created, err = c.EC2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID),
				TagSpecifications: tagSpecs(ec2types.ResourceTypeRouteTable, cl.tags(role, zone, nil))})
			return err
		})
		if err != nil {
			return "", fmt.Errorf("creating route table %s: %w", role, err)
		}
		rt = *created.RouteTable
	}
	hasDefault := false
	for _, r := range rt.Routes {
		hasDefault = hasDefault || aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0"
	}
	if !hasDefault {
		if err := retryNotFound(ctx, func() error {
			_, err := c.EC2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rt.RouteTableId, DestinationCidrBlock: aws.String("0.0.0.0/0"),
				GatewayId: target.GatewayId, NatGatewayId: target.NatGatewayId})
			return err
		}); err != nil && errorCode(err) != "RouteAlreadyExists" {
			return "", fmt.Errorf("adding the default route to %s: %w", aws.ToString(rt.RouteTableId), err)
		}
	}
	associated := map[string]bool{}
	for _, a := range rt.Associations {
		associated[aws.ToString(a.SubnetId)] = true
	}
	for _, sn := range subnets {
		if associated[sn] {
			continue
		}
		if err := retryNotFound(ctx, func() error {
			_, err := c.EC2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rt.RouteTableId, SubnetId: aws.String(sn)})
			return err
		}); err != nil {
			return "", fmt.Errorf("associating %s with %s: %w", aws.ToString(rt.RouteTableId), sn, err)
		}
	}
	return aws.ToString(rt.RouteTableId), nil
}

// deleteRouteTables disassociates the cluster's route tables from their
// subnets, then deletes them.
func (c Clients) deleteRouteTables(ctx context.Context, cl Cluster) (bool, error) {
	for _, role := range []string{rolePublicRoutes, rolePrivateRoutes} {
		out, err := c.EC2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: cl.filters(role, "")})
		if err != nil {
			return false, err
		}
		for _, rt := range out.RouteTables {
			for _, a := range rt.Associations {
				if aws.ToBool(a.Main) {
					continue
				}
				if _, err := c.EC2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil && !IsNotFound(err) {
					return false, err
				}
			}
			if _, err := c.EC2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: rt.RouteTableId}); err != nil && !IsNotFound(err) {
				return false, err
			}
		}
	}
	return true, nil
}
