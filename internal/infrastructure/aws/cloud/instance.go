package cloud

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// UserDataLimit is EC2's limit on user data before base64.
const UserDataLimit = 16 * 1024

// InstanceSpec is an instance to run for a Machine.
type InstanceSpec struct {
	Cluster Cluster
	// Machine names the Machine, for tags.
	Machine string
	// Token is the idempotency token: the AWSMachine's UID.
	Token        string
	Role         string
	Image        Image
	InstanceType string
	// RootVolumeSizeGiB sizes the image's root device; 0 keeps the
	// image's size.
	RootVolumeSizeGiB  int32
	SSHKeyName         string
	IAMInstanceProfile string
	SubnetID           string
	SecurityGroupIDs   []string
	UserData           []byte
	// RootVolumeKMSKeyID encrypts the root volume with this key instead
	// of the account's default EBS key.
	RootVolumeKMSKeyID string
	// MetadataOptions are the metadata service's; unset fields are
	// hardened: IMDSv2 only (tokens required), hop limit 1.
	MetadataOptions infrav1.InstanceMetadataOptions
}

// FindInstance returns the instance with id, or nil when EC2 does not know
// it. Right after RunInstances that is EC2's eventual consistency, not a
// sign that the instance is gone.
func (c Clients) FindInstance(ctx context.Context, id string) (*ec2types.Instance, error) {
	out, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return firstInstance(out), nil
}

// FindInstanceByToken returns the live instance that RunInstances started
// with token, or nil: it finds an instance whose ID was never recorded.
func (c Clients) FindInstanceByToken(ctx context.Context, token string) (*ec2types.Instance, error) {
	out, err := c.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("client-token"), Values: []string{token}},
		{Name: aws.String("instance-state-name"), Values: []string{"pending", "running", "stopping", "stopped", "shutting-down"}},
	}})
	if err != nil {
		return nil, err
	}
	return firstInstance(out), nil
}

func firstInstance(out *ec2.DescribeInstancesOutput) *ec2types.Instance {
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			return &i
		}
	}
	return nil
}

// RunInstance starts the instance of spec. The token makes a repeated call
// return the same instance instead of a second one.
func (c Clients) RunInstance(ctx context.Context, spec InstanceSpec) (*ec2types.Instance, error) {
	userData, err := EncodeUserData(spec.UserData)
	if err != nil {
		return nil, err
	}
	if err := CheckRootVolume(spec.Image, spec.RootVolumeSizeGiB); err != nil {
		return nil, err
	}
	in := &ec2.RunInstancesInput{
		ImageId: aws.String(spec.Image.ID), InstanceType: ec2types.InstanceType(spec.InstanceType),
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1), ClientToken: aws.String(spec.Token),
		SubnetId: aws.String(spec.SubnetID), SecurityGroupIds: spec.SecurityGroupIDs, UserData: aws.String(userData),
		BlockDeviceMappings: rootVolume(spec),
		TagSpecifications:   instanceTagSpecs(spec),
		MetadataOptions:     metadataOptions(spec.MetadataOptions),
	}
	if spec.SSHKeyName != "" {
		in.KeyName = aws.String(spec.SSHKeyName)
	}
	if spec.IAMInstanceProfile != "" {
		in.IamInstanceProfile = &ec2types.IamInstanceProfileSpecification{Name: aws.String(spec.IAMInstanceProfile)}
	}
	// A subnet or security group made moments ago may not be known yet;
	// the token makes the repeated call safe.
	var out *ec2.RunInstancesOutput
	err = retryNotFound(ctx, func() (err error) {
		out, err = c.EC2.RunInstances(ctx, in)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("running instance for %s: %w", spec.Machine, err)
	}
	return &out.Instances[0], nil
}

// instanceTagSpecs tag the instance, and as CAPA does its volumes and
// network interface, with the cluster's tags and the cloud provider's: the
// CCM takes its cluster ID from its own instance's tag.
func instanceTagSpecs(spec InstanceSpec) []ec2types.TagSpecification {
	tags := spec.Cluster.tags(spec.Role, "", map[string]string{
		MachineTag: spec.Machine, "Name": spec.Machine, spec.Cluster.CloudProviderTag(): ownedValue})
	var out []ec2types.TagSpecification
	for _, rt := range []ec2types.ResourceType{ec2types.ResourceTypeInstance, ec2types.ResourceTypeVolume, ec2types.ResourceTypeNetworkInterface} {
		out = append(out, tagSpecs(rt, tags)...)
	}
	return out
}

// metadataOptions are an instance's metadata options, hardened where o
// leaves them unset.
func metadataOptions(o infrav1.InstanceMetadataOptions) *ec2types.InstanceMetadataOptionsRequest {
	tokens, hops := ec2types.HttpTokensStateRequired, int32(1)
	if o.HTTPTokens != "" {
		tokens = ec2types.HttpTokensState(o.HTTPTokens)
	}
	if o.HTTPPutResponseHopLimit != 0 {
		hops = o.HTTPPutResponseHopLimit
	}
	return &ec2types.InstanceMetadataOptionsRequest{HttpEndpoint: ec2types.InstanceMetadataEndpointStateEnabled, HttpTokens: tokens, HttpPutResponseHopLimit: aws.Int32(hops)}
}

// rootVolume maps the image's own root device (/dev/sda1 on Ubuntu,
// /dev/xvda on Amazon Linux), encrypted, and sized when a size is asked
// for (else the image's snapshot size): a mapping of another name would add
// an empty volume and leave the root as it is.
func rootVolume(spec InstanceSpec) []ec2types.BlockDeviceMapping {
	ebs := &ec2types.EbsBlockDevice{VolumeType: ec2types.VolumeTypeGp3, DeleteOnTermination: aws.Bool(true), Encrypted: aws.Bool(true)}
	if spec.RootVolumeSizeGiB != 0 {
		ebs.VolumeSize = aws.Int32(spec.RootVolumeSizeGiB)
	}
	if spec.RootVolumeKMSKeyID != "" {
		ebs.KmsKeyId = aws.String(spec.RootVolumeKMSKeyID)
	}
	return []ec2types.BlockDeviceMapping{{DeviceName: aws.String(spec.Image.RootDeviceName), Ebs: ebs}}
}

// EncodeUserData base64-encodes user data, gzip-compressing it first when
// it would not fit EC2's limit otherwise (cloud-init reads both).
func EncodeUserData(data []byte) (string, error) {
	if len(data) > UserDataLimit {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(data); err != nil {
			return "", err
		}
		if err := zw.Close(); err != nil {
			return "", err
		}
		if buf.Len() > UserDataLimit {
			return "", permanent("", "user data is %d bytes, %d compressed: more than EC2's limit of %d", len(data), buf.Len(), UserDataLimit)
		}
		data = buf.Bytes()
	}
	return base64.StdEncoding.EncodeToString(data), nil
}

// TerminateInstance terminates an instance and reports whether it is
// gone. An instance run moments ago may not be known to TerminateInstances
// yet; that is not gone either, and the next call tries again.
func (c Clients) TerminateInstance(ctx context.Context, i *ec2types.Instance) (bool, error) {
	switch i.State.Name {
	case ec2types.InstanceStateNameTerminated:
		return true, nil
	case ec2types.InstanceStateNameShuttingDown:
		return false, nil
	}
	if _, err := c.EC2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(i.InstanceId)}}); err != nil && !IsNotFound(err) {
		return false, err
	}
	return false, nil
}

// ClusterInstances returns every instance of the cluster that EC2 still
// shows, terminated ones included: the instances its RunInstances calls
// tagged as the cluster's.
func (c Clients) ClusterInstances(ctx context.Context, cluster Cluster) ([]ec2types.Instance, error) {
	var out []ec2types.Instance
	pages := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{
		Filters:    []ec2types.Filter{{Name: aws.String("tag:" + cluster.OwnerTag()), Values: []string{ownedValue}}},
		MaxResults: aws.Int32(1000),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing the cluster's instances: %w", err)
		}
		for _, r := range page.Reservations {
			out = append(out, r.Instances...)
		}
	}
	return out, nil
}
