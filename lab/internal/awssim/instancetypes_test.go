package awssim

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The instance types the repository's tests and examples name.
var usedInstanceTypes = []string{"t3.micro", "t3.medium", "t3.large", "t4g.large", "m5.large", "m7g.large", "c6i.2xlarge"}

func TestRunInstancesRefusesInstanceTypesAWSRefuses(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	vpc := try(e.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})).must(t).Vpc
	local := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.0.0/20"),
		AvailabilityZone: aws.String(localZone(e.region))})).must(t).Subnet
	regional := try(e.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.VpcId, CidrBlock: aws.String("10.0.16.0/20"),
		AvailabilityZone: aws.String(e.region + "c")})).must(t).Subnet
	run := func(subnet *ec2types.Subnet, instanceType string) error {
		_, err := launch(e, *subnet.SubnetId, func(in *ec2.RunInstancesInput) { in.InstanceType = ec2types.InstanceType(instanceType) })
		return err
	}
	wantError(t, "a type that does not exist", run(regional, "t3.huge"), "InvalidParameterValue", "Invalid value 't3.huge' for InstanceType.")
	wantError(t, "a type the Local Zone does not offer", run(local, "t3.large"), "Unsupported",
		"Your requested instance type (t3.large) is not supported in your requested Availability Zone (eu-west-1-lcl-1a). "+
			"Please retry your request by not specifying an Availability Zone or choosing eu-west-1a, eu-west-1b, eu-west-1c.")
	if err := run(local, "t3.medium"); err != nil {
		t.Errorf("a type the Local Zone offers: %v", err)
	}
	for _, it := range usedInstanceTypes {
		if err := run(regional, it); err != nil && errorCode(err) != "InvalidParameterValue" {
			t.Errorf("%s in a regional zone: %v", it, err)
		} else if err != nil && instanceTypes[it].architecture() == "x86_64" {
			t.Errorf("%s with an x86_64 image: %v", it, err)
		}
	}
}

func TestDescribeInstanceTypes(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	out := try(e.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"m7g.large", "t3.medium"}})).must(t).InstanceTypes
	if len(out) != 2 || out[0].InstanceType != "m7g.large" || out[0].ProcessorInfo.SupportedArchitectures[0] != ec2types.ArchitectureTypeArm64 ||
		*out[0].VCpuInfo.DefaultVCpus != 2 || *out[0].MemoryInfo.SizeInMiB != 8192 || !*out[1].BurstablePerformanceSupported {
		t.Errorf("DescribeInstanceTypes = %+v", out)
	}
	_, err := e.ec2.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"t3.huge"}})
	wantError(t, "a type that does not exist", err, "InvalidInstanceType", "t3.huge")

	arm, pages := 0, 0
	p := ec2.NewDescribeInstanceTypesPaginator(e.ec2, &ec2.DescribeInstanceTypesInput{MaxResults: aws.Int32(5),
		Filters: []ec2types.Filter{{Name: aws.String("processor-info.supported-architecture"), Values: []string{"arm64"}}}})
	for p.HasMorePages() {
		arm += len(try(p.NextPage(ctx)).must(t).InstanceTypes)
		pages++
	}
	if arm != 7+9+9 || pages != 5 {
		t.Errorf("%d arm64 types in %d pages, want 25 in 5", arm, pages)
	}
	for _, it := range usedInstanceTypes {
		if _, ok := instanceTypes[it]; !ok {
			t.Errorf("%s, which the repository uses, is not known", it)
		}
	}
}

func TestDescribeInstanceTypeOfferings(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	where := func(locationType ec2types.LocationType, instanceType string) []string {
		out := try(e.ec2.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{LocationType: locationType,
			Filters: []ec2types.Filter{{Name: aws.String("instance-type"), Values: []string{instanceType}}}})).must(t).InstanceTypeOfferings
		var locations []string
		for _, o := range out {
			if o.LocationType != locationType {
				t.Errorf("offering %+v answers for location type %s", o, locationType)
			}
			locations = append(locations, *o.Location)
		}
		return locations
	}
	if got := where(ec2types.LocationTypeAvailabilityZone, "t3.large"); len(got) != 3 || got[0] != "eu-west-1a" {
		t.Errorf("t3.large's zones = %v", got)
	}
	if got := where(ec2types.LocationTypeAvailabilityZone, "t3.medium"); len(got) != 4 || got[0] != "eu-west-1-lcl-1a" {
		t.Errorf("t3.medium's zones = %v", got)
	}
	if got := where(ec2types.LocationTypeRegion, "m7g.large"); len(got) != 1 || got[0] != "eu-west-1" {
		t.Errorf("m7g.large's regions = %v", got)
	}
	if got := where(ec2types.LocationTypeAvailabilityZone, "t3.huge"); len(got) != 0 {
		t.Errorf("a type that does not exist is offered in %v", got)
	}
	byZone := try(e.ec2.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{LocationType: ec2types.LocationTypeAvailabilityZone,
		Filters: []ec2types.Filter{{Name: aws.String("location"), Values: []string{"eu-west-1-lcl-1a"}}}})).must(t).InstanceTypeOfferings
	if len(byZone) != len(localZoneTypes) {
		t.Errorf("the Local Zone offers %d types, want %d", len(byZone), len(localZoneTypes))
	}
}
