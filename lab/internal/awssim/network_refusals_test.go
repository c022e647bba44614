package awssim

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// CreateVpc and CreateSubnet refuse what EC2 refuses, with its codes and
// messages: a VPC outside /16 to /28, a subnet outside /16 to /28 or its
// VPC's network, one that overlaps another subnet of the VPC, and a zone
// that is not of the region.
func TestCreateVpcAndSubnetRefuseWhatEC2Refuses(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	createVpc := func(cidr string) error {
		_, err := e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
		return err
	}
	wantError(t, "a /8 VPC", createVpc("10.0.0.0/8"), "InvalidVpc.Range", "The CIDR '10.0.0.0/8' is invalid.")
	wantError(t, "a /29 VPC", createVpc("10.0.0.0/29"), "InvalidVpc.Range", "The CIDR '10.0.0.0/29' is invalid.")
	wantError(t, "a VPC CIDR that is none", createVpc("10.0.0.0/33"), "InvalidParameterValue",
		"Value (10.0.0.0/33) for parameter cidrBlock is invalid. This is not a valid CIDR block.")
	wantError(t, "an IPv6 VPC CIDR", createVpc("fd00::/56"), "InvalidParameterValue", "for parameter cidrBlock is invalid")

	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/20")})).must(t).Vpc
	createSubnet := func(cidr, zone string) error {
		_, err := e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(zone)})
		return err
	}
	for _, cidr := range []string{"10.1.0.0/24", "10.0.0.0/16", "10.0.0.0/19", "10.0.0.0/29"} {
		wantError(t, "subnet "+cidr+" of a 10.0.0.0/20 VPC", createSubnet(cidr, "eu-west-1a"), "InvalidSubnet.Range", "The CIDR '"+cidr+"' is invalid.")
	}
	wantError(t, "a subnet CIDR that is none", createSubnet("10.0.0.0", "eu-west-1a"), "InvalidParameterValue",
		"Value (10.0.0.0) for parameter cidrBlock is invalid. This is not a valid CIDR block.")
	if err := createSubnet("10.0.0.0/24", "eu-west-1a"); err != nil {
		t.Fatal(err)
	}
	wantError(t, "a subnet inside another", createSubnet("10.0.0.128/25", "eu-west-1b"), "InvalidSubnet.Conflict",
		"The CIDR '10.0.0.128/25' conflicts with another subnet")
	wantError(t, "a subnet around another", createSubnet("10.0.0.0/21", "eu-west-1b"), "InvalidSubnet.Conflict",
		"The CIDR '10.0.0.0/21' conflicts with another subnet")
	wantError(t, "a zone of another region", createSubnet("10.0.1.0/24", "us-east-1a"), "InvalidParameterValue",
		"Value (us-east-1a) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: eu-west-1a, eu-west-1b, eu-west-1c.")
	if err := createSubnet("10.0.1.0/24", "eu-west-1-lcl-1a"); err != nil {
		t.Errorf("a subnet in the region's Local Zone: %v", err)
	}
}
