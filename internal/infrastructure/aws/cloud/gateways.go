package cloud

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// The gateways out of a cluster's VPC: the internet gateway of the public
// subnets, and the NAT gateways of the private ones with their elastic
// IPs.

func (c Clients) ensureInternetGateway(ctx context.Context, cl Cluster, st *infrav1.NetworkStatus) error {
	out, err := c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: cl.filters(roleIGW, "")})
	if err != nil {
		return err
	}
	var igw ec2types.InternetGateway
	if len(out.InternetGateways) > 0 {
		igw = out.InternetGateways[0]
	} else {
		// A VPC has at most one internet gateway: one that an existing VPC
		// has already is used (and, not being ours, never deleted).
		attached, err := c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{
			{Name: aws.String("attachment.vpc-id"), Values: []string{st.VPCID}}}})
		if err != nil {
			return err
		}
		if len(attached.InternetGateways) > 0 {
			st.InternetGatewayID = aws.ToString(attached.InternetGateways[0].InternetGatewayId)
			return nil
		}
		created, err := c.EC2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
			TagSpecifications: tagSpecs(ec2types.ResourceTypeInternetGateway, cl.tags(roleIGW, "", nil))})
		if err != nil {
			return fmt.Errorf("creating internet gateway: %w", err)
		}
		igw = *created.InternetGateway
	}
	st.InternetGatewayID = aws.ToString(igw.InternetGatewayId)
	if len(igw.Attachments) == 0 {
		if err := retryNotFound(ctx, func() error {
			_, err := c.EC2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGatewayId, VpcId: aws.String(st.VPCID)})
			return err
		}); err != nil {
			return fmt.Errorf("attaching internet gateway: %w", err)
		}
	}
	return nil
}

// deleteInternetGateways detaches and deletes the cluster's internet
// gateway; one it used but did not make is left alone.
func (c Clients) deleteInternetGateways(ctx context.Context, cl Cluster) (bool, error) {
	igws, err := c.EC2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: cl.filters(roleIGW, "")})
	if err != nil {
		return false, err
	}
	for _, g := range igws.InternetGateways {
		for _, a := range g.Attachments {
			if _, err := c.EC2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: g.InternetGatewayId, VpcId: a.VpcId}); err != nil && !IsNotFound(err) {
				// Public addresses still mapped in the VPC (an instance
				// shutting down, a load balancer's lingering interfaces)
				// go by themselves: wait for them, as for the other steps.
				if IsDependencyViolation(err) {
					return false, nil
				}
				return false, err
			}
		}
		if _, err := c.EC2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: g.InternetGatewayId}); err != nil && !IsNotFound(err) {
			return false, err
		}
	}
	return true, nil
}

// ensureNATGateways returns the NAT gateway serving each zone and whether
// all are available.
func (c Clients) ensureNATGateways(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec, zones []string, st *infrav1.NetworkStatus) (map[string]string, bool, error) {
	natZones := zones[:1]
	if spec.NATGatewayPerZone {
		natZones = zones
	}
	byZone := map[string]string{}
	ready := true
	st.NATGatewayIDs, st.ElasticIPs = nil, nil
	for _, zone := range natZones {
		out, err := c.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: append(cl.filters(roleNAT, zone),
			ec2types.Filter{Name: aws.String("state"), Values: []string{"pending", "available"}})})
		if err != nil {
			return nil, false, err
		}
		var nat ec2types.NatGateway
		if len(out.NatGateways) > 0 {
			nat = out.NatGateways[0]
		} else {
			eip, err := c.ensureElasticIP(ctx, cl, zone)
			if err != nil {
				return nil, false, err
			}
			var created *ec2.CreateNatGatewayOutput
			err = retryNotFound(ctx, func() (err error) {
				created, err = c.EC2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
					SubnetId: aws.String(subnetID(st.Subnets, zone, true)), AllocationId: aws.String(eip),
					ClientToken:       aws.String(clientToken(cl.UID, "nat-"+zone)),
					TagSpecifications: tagSpecs(ec2types.ResourceTypeNatgateway, cl.tags(roleNAT, zone, nil))})
				return err
			})
			if err != nil {
				return nil, false, fmt.Errorf("creating NAT gateway in %s: %w", zone, err)
			}
			nat = *created.NatGateway
		}
		for _, a := range nat.NatGatewayAddresses {
			st.ElasticIPs = append(st.ElasticIPs, aws.ToString(a.AllocationId))
		}
		st.NATGatewayIDs = append(st.NATGatewayIDs, aws.ToString(nat.NatGatewayId))
		ready = ready && nat.State == ec2types.NatGatewayStateAvailable
		byZone[zone] = aws.ToString(nat.NatGatewayId)
	}
	for _, zone := range zones {
		if byZone[zone] == "" {
			byZone[zone] = byZone[natZones[0]]
		}
	}
	return byZone, ready, nil
}

// deleteNATGateways deletes the cluster's NAT gateways and reports done
// once all are deleted: they take a while to go, and hold their elastic
// IPs until then.
func (c Clients) deleteNATGateways(ctx context.Context, cl Cluster) (bool, error) {
	done := true
	nats, err := c.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: cl.filters(roleNAT, "")})
	if err != nil {
		return false, err
	}
	for _, n := range nats.NatGateways {
		switch n.State {
		case ec2types.NatGatewayStateDeleted:
			continue
		case ec2types.NatGatewayStatePending, ec2types.NatGatewayStateAvailable, ec2types.NatGatewayStateFailed:
			if _, err := c.EC2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: n.NatGatewayId}); err != nil && !IsNotFound(err) {
				return false, err
			}
		}
		// Look again: deletion may have completed at once.
		again, err := c.EC2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{aws.ToString(n.NatGatewayId)}})
		if err != nil && !IsNotFound(err) {
			return false, err
		}
		if err == nil && len(again.NatGateways) > 0 && again.NatGateways[0].State != ec2types.NatGatewayStateDeleted {
			done = false
		}
	}
	return done, nil
}

func (c Clients) ensureElasticIP(ctx context.Context, cl Cluster, zone string) (string, error) {
	out, err := c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: cl.filters(roleNATEIP, zone)})
	if err != nil {
		return "", err
	}
	if len(out.Addresses) > 0 {
		return aws.ToString(out.Addresses[0].AllocationId), nil
	}
	created, err := c.EC2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc,
		TagSpecifications: tagSpecs(ec2types.ResourceTypeElasticIp, cl.tags(roleNATEIP, zone, nil))})
	if err != nil {
		return "", fmt.Errorf("allocating an elastic IP for the NAT gateway in %s: %w", zone, err)
	}
	return aws.ToString(created.AllocationId), nil
}

// releaseNATElasticIPs releases the elastic IPs allocated for the NAT
// gateways, waiting while one is still associated.
func (c Clients) releaseNATElasticIPs(ctx context.Context, cl Cluster) (bool, error) {
	eips, err := c.EC2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: cl.filters(roleNATEIP, "")})
	if err != nil {
		return false, err
	}
	for _, a := range eips.Addresses {
		if _, err := c.EC2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: a.AllocationId}); err != nil && !IsNotFound(err) {
			if IsDependencyViolation(err) {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}

// clientToken derives an idempotency token (at most 64 characters) from an
// object's UID and what the call makes.
func clientToken(uid, what string) string {
	t := uid + "-" + what
	if len(t) > 64 {
		t = t[:64]
	}
	return t
}
