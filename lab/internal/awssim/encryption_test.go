package awssim

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// ubuntuRoot is the root device of the Ubuntu images.
const ubuntuRoot = "/dev/sda1"

func withRootEncryption(encrypted *bool, key string) func(*ec2.RunInstancesInput) {
	return func(in *ec2.RunInstancesInput) {
		ebs := &ec2types.EbsBlockDevice{VolumeSize: aws.Int32(20), Encrypted: encrypted}
		if key != "" {
			ebs.KmsKeyId = aws.String(key)
		}
		in.BlockDeviceMappings = []ec2types.BlockDeviceMapping{{DeviceName: aws.String(ubuntuRoot), Ebs: ebs}}
	}
}

func volumesOf(t *testing.T, e *env, instanceID string) []ec2types.Volume {
	t.Helper()
	return try(e.ec2.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("attachment.instance-id"), Values: []string{instanceID}}}})).must(t).Volumes
}

var keyARNPattern = regexp.MustCompile(`^arn:aws:kms:eu-west-1:123456789012:key/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestEncryptedVolumes(t *testing.T) {
	e := newEnv(t, Config{})
	subnetID, _ := testSubnet(t, e)
	root := func(edit func(*ec2.RunInstancesInput)) (string, ec2types.Volume) {
		t.Helper()
		id := *try(launch(e, subnetID, edit)).must(t).Instances[0].InstanceId
		vols := volumesOf(t, e, id)
		if len(vols) != 1 {
			t.Fatalf("volumes of %s: %+v", id, vols)
		}
		return id, vols[0]
	}

	if _, v := root(nil); *v.Encrypted || v.KmsKeyId != nil {
		t.Errorf("a volume of an unencrypted snapshot, by default: encrypted %v, key %v", *v.Encrypted, v.KmsKeyId)
	}
	// Encrypted alone takes EBS's default key, shown by its ARN.
	id, v := root(withRootEncryption(aws.Bool(true), ""))
	if !*v.Encrypted || !keyARNPattern.MatchString(*v.KmsKeyId) {
		t.Errorf("encrypted with the default key: %v %v", *v.Encrypted, aws.ToString(v.KmsKeyId))
	}
	defaultKey := *v.KmsKeyId
	if _, v := root(withRootEncryption(aws.Bool(true), "alias/aws/ebs")); *v.KmsKeyId != defaultKey {
		t.Errorf("alias/aws/ebs is %s, the default key %s", *v.KmsKeyId, defaultKey)
	}
	if i, _ := e.sim.Instance(id); len(i.Volumes) != 1 {
		t.Errorf("Instance().Volumes = %+v", i.Volumes)
	} else if rv, ok := i.RootVolume(); !ok || !rv.Encrypted || rv.KMSKeyID != defaultKey || rv.Device != ubuntuRoot || rv.SizeGiB != 20 {
		t.Errorf("Instance().RootVolume() = %+v", rv)
	}

	const keyID = "1234abcd-12ab-34cd-56ef-1234567890ab"
	if _, v := root(withRootEncryption(aws.Bool(true), keyID)); *v.KmsKeyId != "arn:aws:kms:eu-west-1:123456789012:key/"+keyID {
		t.Errorf("a key ID is shown as %s", *v.KmsKeyId)
	}
	keyARN := "arn:aws:kms:eu-west-1:123456789012:key/" + keyID
	if _, v := root(withRootEncryption(aws.Bool(true), keyARN)); *v.KmsKeyId != keyARN {
		t.Errorf("a key ARN is shown as %s", *v.KmsKeyId)
	}
	_, byAlias := root(withRootEncryption(aws.Bool(true), "alias/cluster-nodes"))
	_, byAliasARN := root(withRootEncryption(aws.Bool(true), "arn:aws:kms:eu-west-1:123456789012:alias/cluster-nodes"))
	if !keyARNPattern.MatchString(*byAlias.KmsKeyId) || *byAlias.KmsKeyId != *byAliasARN.KmsKeyId || *byAlias.KmsKeyId == defaultKey {
		t.Errorf("an alias and its ARN are shown as %s and %s", *byAlias.KmsKeyId, *byAliasARN.KmsKeyId)
	}
	encrypted := try(e.ec2.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
		{Name: aws.String("encrypted"), Values: []string{"true"}}}})).must(t).Volumes
	if len(encrypted) != 6 {
		t.Errorf("the encrypted filter found %d volumes, want 6", len(encrypted))
	}

	for _, c := range []struct {
		what      string
		encrypted *bool
	}{{"a key without Encrypted", nil}, {"a key with Encrypted false", aws.Bool(false)}} {
		_, err := launch(e, subnetID, withRootEncryption(c.encrypted, keyID))
		wantError(t, c.what, err, "InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
	}
}

// EBS checks the key only at launch: an instance whose key it cannot use
// terminates while pending, and leaves no volume.
func TestUnusableKeyFailsTheLaunch(t *testing.T) {
	e := newEnv(t, Config{BootDelay: 3 * time.Second})
	subnetID, _ := testSubnet(t, e)
	var ran, ended []string
	e.sim.OnInstanceRunning = func(i Instance) { ran = append(ran, i.ID) }
	e.sim.OnInstanceTerminated = func(id string) { ended = append(ended, id) }
	for _, key := range []string{"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "not-a-key"} {
		out := try(launch(e, subnetID, withRootEncryption(aws.Bool(true), key))).must(t)
		id := *out.Instances[0].InstanceId
		if out.Instances[0].State.Name != ec2types.InstanceStateNamePending {
			t.Errorf("%s: state %s at launch", key, out.Instances[0].State.Name)
		}
		e.clock.Advance(3 * time.Second)
		i := describeInstance(t, e, id)
		if i.State.Name != ec2types.InstanceStateNameTerminated || i.StateReason == nil || *i.StateReason.Code != "Client.InvalidKMSKey.InvalidState" {
			t.Errorf("%s: state %s, reason %+v", key, i.State.Name, i.StateReason)
		}
		if vols := volumesOf(t, e, id); len(vols) != 0 {
			t.Errorf("%s: volumes left %+v", key, vols)
		}
	}
	if len(ran) != 0 || len(ended) != 2 {
		t.Errorf("ran %v, ended %v", ran, ended)
	}
	for _, r := range e.sim.Resources() {
		if r.Kind == "instance" || r.Kind == "volume" {
			t.Errorf("left: %+v", r)
		}
	}
}
