package cloud

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// DefaultVPCCIDR is the CIDR of a VPC created for a cluster.
const DefaultVPCCIDR = "10.0.0.0/16"

func (c Clients) ensureVPC(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec, st *infrav1.NetworkStatus) error {
	if spec.VPCID != "" {
		if _, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{spec.VPCID}}); err != nil {
			return fmt.Errorf("VPC %s: %w", spec.VPCID, err)
		}
		st.VPCID = spec.VPCID
		return nil
	}
	if st.VPCID != "" {
		return nil
	}
	out, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: cl.filters(roleVPC, "")})
	if err != nil {
		return err
	}
	if len(out.Vpcs) > 0 {
		st.VPCID = aws.ToString(out.Vpcs[0].VpcId)
		return nil
	}
	created, err := c.EC2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(vpcCIDR(spec)),
		TagSpecifications: tagSpecs(ec2types.ResourceTypeVpc, cl.tags(roleVPC, "", nil))})
	if err != nil {
		return fmt.Errorf("creating VPC: %w", err)
	}
	st.VPCID = aws.ToString(created.Vpc.VpcId)
	for _, attr := range []*ec2.ModifyVpcAttributeInput{
		{VpcId: created.Vpc.VpcId, EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
		{VpcId: created.Vpc.VpcId, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
	} {
		if err := retryNotFound(ctx, func() error { _, err := c.EC2.ModifyVpcAttribute(ctx, attr); return err }); err != nil {
			return fmt.Errorf("enabling DNS on VPC %s: %w", st.VPCID, err)
		}
	}
	return nil
}

// vpcCIDR is the CIDR of the VPC made for spec.
func vpcCIDR(spec infrav1.NetworkSpec) string {
	if spec.CIDRBlock != "" {
		return spec.CIDRBlock
	}
	return DefaultVPCCIDR
}

// deleteVPC deletes the VPC made for the cluster; one the spec brought is
// not the cluster's to delete. It waits while the VPC still has members.
func (c Clients) deleteVPC(ctx context.Context, cl Cluster, spec infrav1.NetworkSpec) (bool, error) {
	if spec.VPCID != "" {
		return true, nil
	}
	vpcs, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: cl.filters(roleVPC, "")})
	if err != nil {
		return false, err
	}
	for _, v := range vpcs.Vpcs {
		if _, err := c.EC2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: v.VpcId}); err != nil && !IsNotFound(err) {
			if IsDependencyViolation(err) {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}
