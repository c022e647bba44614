package awssim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func withMetadata(o ec2types.InstanceMetadataOptionsRequest) func(*ec2.RunInstancesInput) {
	return func(in *ec2.RunInstancesInput) { in.MetadataOptions = &o }
}

func describeInstance(t *testing.T, e *env, id string) ec2types.Instance {
	t.Helper()
	out := try(e.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})).must(t)
	return out.Reservations[0].Instances[0]
}

func TestMetadataOptions(t *testing.T) {
	e := newEnv(t, Config{BootDelay: 5 * time.Second})
	subnetID, _ := testSubnet(t, e)

	// Without MetadataOptions, EC2's defaults for an image that does not
	// ask for IMDSv2.
	plain := try(launch(e, subnetID, nil)).must(t).Instances[0]
	if m := plain.MetadataOptions; m.State != ec2types.InstanceMetadataOptionsStatePending || m.HttpTokens != ec2types.HttpTokensStateOptional ||
		*m.HttpPutResponseHopLimit != 1 || m.HttpEndpoint != ec2types.InstanceMetadataEndpointStateEnabled ||
		m.HttpProtocolIpv6 != ec2types.InstanceMetadataProtocolStateDisabled || m.InstanceMetadataTags != ec2types.InstanceMetadataTagsStateDisabled {
		t.Errorf("default metadata options = %+v", m)
	}
	strict := try(launch(e, subnetID, withMetadata(ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensStateRequired,
		HttpPutResponseHopLimit: aws.Int32(2)}))).must(t).Instances[0]
	e.clock.Advance(5 * time.Second)
	if m := describeInstance(t, e, *strict.InstanceId).MetadataOptions; m.State != ec2types.InstanceMetadataOptionsStateApplied ||
		m.HttpTokens != ec2types.HttpTokensStateRequired || *m.HttpPutResponseHopLimit != 2 || m.HttpEndpoint != ec2types.InstanceMetadataEndpointStateEnabled {
		t.Errorf("metadata options of a running instance = %+v", m)
	}
	required := try(e.ec2.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("metadata-options.http-tokens"), Values: []string{"required"}}}})).must(t).Reservations
	if len(required) != 1 || *required[0].Instances[0].InstanceId != *strict.InstanceId {
		t.Errorf("instances requiring IMDSv2: %+v", required)
	}
	if i, ok := e.sim.Instance(*strict.InstanceId); !ok || i.MetadataOptions.HTTPTokens != "required" || i.MetadataOptions.HTTPPutResponseHopLimit != 2 {
		t.Errorf("Instance() = %+v", i.MetadataOptions)
	}
	off := try(launch(e, subnetID, withMetadata(ec2types.InstanceMetadataOptionsRequest{HttpEndpoint: ec2types.InstanceMetadataEndpointStateDisabled}))).must(t).Instances[0]
	if m := off.MetadataOptions; m.HttpEndpoint != ec2types.InstanceMetadataEndpointStateDisabled || m.HttpTokens != ec2types.HttpTokensStateOptional {
		t.Errorf("disabled endpoint = %+v", m)
	}

	for _, c := range []struct {
		what string
		opts ec2types.InstanceMetadataOptionsRequest
		text string
	}{
		{"tokens", ec2types.InstanceMetadataOptionsRequest{HttpTokens: "maybe"}, "'maybe' is not valid for the parameter 'HttpTokens'"},
		{"endpoint", ec2types.InstanceMetadataOptionsRequest{HttpEndpoint: "on"}, "'on' is not valid for the parameter 'HttpEndpoint'"},
		{"hop limit 0", ec2types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(0)}, "between 1 and 64"},
		{"hop limit 65", ec2types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(65)}, "between 1 and 64"},
	} {
		_, err := launch(e, subnetID, withMetadata(c.opts))
		wantError(t, c.what, err, "InvalidParameterValue", c.text)
	}
	if _, err := launch(e, subnetID, withMetadata(ec2types.InstanceMetadataOptionsRequest{HttpPutResponseHopLimit: aws.Int32(64)})); err != nil {
		t.Errorf("hop limit 64: %v", err)
	}
}

// An image with ImdsSupport v2.0 makes its instances IMDSv2 only, with
// two hops, unless MetadataOptions say otherwise.
func TestMetadataOptionsOfAnIMDSv2Image(t *testing.T) {
	e := newEnv(t, Config{})
	subnetID, _ := testSubnet(t, e)
	imgs, err := e.sim.RegisterImages([]ImageSpec{{Name: "al2023-v2-only", KubernetesVersion: "v1.36.3", IMDSSupport: "v2.0"}})
	if err != nil {
		t.Fatal(err)
	}
	img := try(e.ec2.DescribeImages(context.Background(), &ec2.DescribeImagesInput{ImageIds: []string{imgs[0].ImageID}})).must(t).Images[0]
	if img.ImdsSupport != ec2types.ImdsSupportValuesV20 {
		t.Errorf("DescribeImages: imdsSupport %q", img.ImdsSupport)
	}
	withImage := func(in *ec2.RunInstancesInput) { in.ImageId = aws.String(imgs[0].ImageID) }
	m := try(launch(e, subnetID, withImage)).must(t).Instances[0].MetadataOptions
	if m.HttpTokens != ec2types.HttpTokensStateRequired || *m.HttpPutResponseHopLimit != 2 {
		t.Errorf("defaults of a v2.0 image = %+v", m)
	}
	m = try(launch(e, subnetID, func(in *ec2.RunInstancesInput) {
		withImage(in)
		withMetadata(ec2types.InstanceMetadataOptionsRequest{HttpTokens: ec2types.HttpTokensStateOptional})(in)
	})).must(t).Instances[0].MetadataOptions
	if m.HttpTokens != ec2types.HttpTokensStateOptional || *m.HttpPutResponseHopLimit != 2 {
		t.Errorf("optional tokens on a v2.0 image = %+v", m)
	}
	if _, err := e.sim.RegisterImages([]ImageSpec{{Name: "bad", IMDSSupport: "v1"}}); err == nil {
		t.Error("imdsSupport v1 was accepted")
	}
}
