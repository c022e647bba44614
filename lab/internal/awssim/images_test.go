package awssim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// CAPA's lookup: owner, a name pattern with the version's v optional, the
// architecture and state; the newest by CreationDate wins.
func TestDescribeImagesLooksUpLikeCAPA(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	lookup := func(os, version string) []ec2types.Image {
		return try(e.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{
			{Name: aws.String("owner-id"), Values: []string{CAPAImageOwner}},
			{Name: aws.String("name"), Values: []string{"capa-ami-" + os + "-?" + version + "-*"}},
			{Name: aws.String("architecture"), Values: []string{"x86_64"}},
			{Name: aws.String("state"), Values: []string{"available"}},
			{Name: aws.String("virtualization-type"), Values: []string{"hvm"}},
		}})).must(t).Images
	}
	two := lookup("ubuntu-24.04", "1.36.3")
	if len(two) != 2 {
		t.Fatalf("two builds of v1.36.3 expected, got %+v", two)
	}
	newest := two[0]
	for _, img := range two[1:] {
		if aws.ToString(img.CreationDate) > aws.ToString(newest.CreationDate) {
			newest = img
		}
	}
	if got := aws.ToString(newest.Name); got != "capa-ami-ubuntu-24.04-v1.36.3-1764500000" {
		t.Errorf("newest build = %s", got)
	}
	if _, err := time.Parse(creationDateFormat, aws.ToString(newest.CreationDate)); err != nil {
		t.Errorf("creation date %q is not EC2's format: %v", aws.ToString(newest.CreationDate), err)
	}
	if aws.ToString(newest.RootDeviceName) != "/dev/sda1" || newest.RootDeviceType != ec2types.DeviceTypeEbs ||
		newest.Architecture != ec2types.ArchitectureValuesX8664 || newest.State != ec2types.ImageStateAvailable ||
		aws.ToString(newest.OwnerId) != CAPAImageOwner || aws.ToString(newest.Description) == "" {
		t.Errorf("ubuntu image = %+v", newest)
	}
	if bd := newest.BlockDeviceMappings; len(bd) != 1 || aws.ToString(bd[0].DeviceName) != "/dev/sda1" ||
		!strings.HasPrefix(aws.ToString(bd[0].Ebs.SnapshotId), "snap-") || aws.ToInt32(bd[0].Ebs.VolumeSize) != 8 {
		t.Errorf("ubuntu image block devices = %+v", bd)
	}
	if al := lookup("al2023", "1.35.0"); len(al) != 1 || aws.ToString(al[0].RootDeviceName) != "/dev/xvda" {
		t.Errorf("al2023 v1.35.0 = %+v", al)
	}
	if none := lookup("ubuntu-24.04", "1.34.0"); len(none) != 0 {
		t.Errorf("a version without images matched %d", len(none))
	}

	byID := try(e.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(newest.ImageId)}})).must(t).Images
	if len(byID) != 1 || aws.ToString(byID[0].Name) != aws.ToString(newest.Name) {
		t.Errorf("by ID = %+v", byID)
	}
	if aws.ToString(newest.ImageId) != ImageID(aws.ToString(newest.Name)) || len(aws.ToString(newest.ImageId)) != len("ami-")+17 {
		t.Errorf("image ID %s is not derived from the name", aws.ToString(newest.ImageId))
	}
	if mine := try(e.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})).must(t).Images; len(mine) != 0 {
		t.Errorf("the account owns %d catalog images", len(mine))
	}
	if owned := try(e.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{CAPAImageOwner}})).must(t).Images; len(owned) != 14 {
		t.Errorf("CAPA's account has %d images, want 14", len(owned))
	}
	_, err := e.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
	if errorCode(err) != "InvalidAMIID.NotFound" || !strings.Contains(err.Error(), "The image id '[ami-0123456789abcdef0]' does not exist") {
		t.Errorf("unknown image: %v", err)
	}
	if _, err := e.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-xyz"}}); errorCode(err) != "InvalidAMIID.Malformed" {
		t.Errorf("malformed image ID: %v", err)
	}
	if _, err := e.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []ec2types.Filter{{Name: aws.String("kernel-magic"), Values: []string{"x"}}}}); errorCode(err) != "InvalidParameterValue" {
		t.Errorf("unknown filter: %v", err)
	}
}

func TestRunInstancesRefusesImagesAWSRefuses(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	subnetID, _ := testSubnet(t, e)
	if _, err := e.sim.RegisterImages([]ImageSpec{{Name: "still-pending", State: "pending"}}); err != nil {
		t.Fatal(err)
	}
	run := func(ami, instanceType string) error {
		_, err := e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), InstanceType: ec2types.InstanceType(instanceType),
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID)})
		return err
	}
	for _, c := range []struct {
		ami, instanceType, code, message string
	}{
		{"ami-0123456789abcdef0", "t3.large", "InvalidAMIID.NotFound", "The image id '[ami-0123456789abcdef0]' does not exist"},
		{"ami-12345", "t3.large", "InvalidAMIID.Malformed", `Invalid id: "ami-12345"`},
		{"image-1", "t3.large", "InvalidAMIID.Malformed", ""},
		{ImageID("still-pending"), "t3.large", "InvalidAMIID.Unavailable", ""},
		{ubuntuImage, "m7g.large", "InvalidParameterValue", "architecture 'arm64' of the specified instance type"},
		{ubuntuImage, "t4g.medium", "InvalidParameterValue", ""},
	} {
		err := run(c.ami, c.instanceType)
		if errorCode(err) != c.code || !strings.Contains(errString(err), c.message) {
			t.Errorf("%s on %s: %v, want %s %q", c.ami, c.instanceType, err, c.code, c.message)
		}
	}
	if err := run(ubuntuImage, "g5.xlarge"); err != nil {
		t.Errorf("an x86 GPU type was refused: %v", err)
	}
	if live := e.sim.Resources(); countKind(live, "instance") != 1 {
		t.Errorf("refused launches left instances: %+v", live)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func countKind(live []LiveResource, kind string) int {
	n := 0
	for _, r := range live {
		if r.Kind == kind {
			n++
		}
	}
	return n
}

// The root device is the image's: a mapping of that name sizes it (never
// below the snapshot), a mapping of another name adds a volume.
func TestRunInstancesBlockDevices(t *testing.T) {
	e := newEnv(t, Config{TerminateDelay: time.Second})
	ctx := context.Background()
	subnetID, _ := testSubnet(t, e)
	run := func(devices ...ec2types.BlockDeviceMapping) (*ec2types.Instance, error) {
		out, err := e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), InstanceType: ec2types.InstanceTypeT3Large,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID), BlockDeviceMappings: devices,
			TagSpecifications: append(tagSpec(ec2types.ResourceTypeInstance, "Name", "n"), tagSpec(ec2types.ResourceTypeVolume, "owner", "me")...)})
		if err != nil {
			return nil, err
		}
		return &out.Instances[0], nil
	}
	gp3 := func(device string, size int32) ec2types.BlockDeviceMapping {
		return ec2types.BlockDeviceMapping{DeviceName: aws.String(device), Ebs: &ec2types.EbsBlockDevice{VolumeSize: aws.Int32(size), VolumeType: ec2types.VolumeTypeGp3}}
	}
	volumes := func(i *ec2types.Instance) map[string]ec2types.Volume {
		out := try(e.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []ec2types.Filter{
			{Name: aws.String("attachment.instance-id"), Values: []string{aws.ToString(i.InstanceId)}}}})).must(t)
		byDevice := map[string]ec2types.Volume{}
		for _, v := range out.Volumes {
			byDevice[aws.ToString(v.Attachments[0].Device)] = v
		}
		return byDevice
	}

	sized := try(run(gp3("/dev/sda1", 30))).must(t)
	if aws.ToString(sized.RootDeviceName) != "/dev/sda1" || len(sized.BlockDeviceMappings) != 1 {
		t.Errorf("root-sized instance = %+v", sized.BlockDeviceMappings)
	}
	if v := volumes(sized); len(v) != 1 || aws.ToInt32(v["/dev/sda1"].Size) != 30 || v["/dev/sda1"].VolumeType != ec2types.VolumeTypeGp3 ||
		len(v["/dev/sda1"].Tags) != 1 || aws.ToString(v["/dev/sda1"].SnapshotId) == "" {
		t.Errorf("volumes of the root-sized instance = %+v", v)
	}

	// /dev/xvda is not the Ubuntu image's root: it is a second volume and
	// the root keeps the snapshot's size.
	extra := try(run(gp3("/dev/xvda", 30))).must(t)
	if len(extra.BlockDeviceMappings) != 2 {
		t.Errorf("instance with an extra device = %+v", extra.BlockDeviceMappings)
	}
	if v := volumes(extra); len(v) != 2 || aws.ToInt32(v["/dev/sda1"].Size) != 8 || aws.ToInt32(v["/dev/xvda"].Size) != 30 {
		t.Errorf("volumes of the instance with an extra device = %+v", v)
	}

	_, err := run(gp3("/dev/sda1", 4))
	if errorCode(err) != "InvalidBlockDeviceMapping" || !strings.Contains(err.Error(), "Volume of size 4GB is smaller than snapshot 'snap-") ||
		!strings.Contains(err.Error(), "expect size >= 8GB") {
		t.Errorf("root below the snapshot: %v", err)
	}
	if _, err := run(ec2types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdf"), Ebs: &ec2types.EbsBlockDevice{}}); errorCode(err) != "MissingParameter" {
		t.Errorf("an extra volume without a size: %v", err)
	}

	// Volumes go with their instance unless told otherwise; one that
	// stays is a leak the resource list shows.
	kept := try(run(ec2types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdf"), Ebs: &ec2types.EbsBlockDevice{VolumeSize: aws.Int32(10), DeleteOnTermination: aws.Bool(false)}})).must(t)
	for _, i := range []*ec2types.Instance{sized, extra, kept} {
		try(e.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(i.InstanceId)}})).must(t)
	}
	e.clock.Advance(time.Second)
	left := try(e.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{})).must(t).Volumes
	if len(left) != 1 || aws.ToInt32(left[0].Size) != 10 || left[0].State != ec2types.VolumeStateAvailable {
		t.Errorf("volumes after termination = %+v", left)
	}
	if n := countKind(e.sim.Resources(), "volume"); n != 1 {
		t.Errorf("resource list shows %d volumes, want the one left behind", n)
	}
}

func TestRunningInstanceReportsImageAndProfile(t *testing.T) {
	for _, c := range []struct{ region, dnsSuffix string }{{"us-east-1", ".ec2.internal"}, {"eu-west-1", ".eu-west-1.compute.internal"}} {
		e := newEnvIn(t, Config{}, c.region)
		ctx := context.Background()
		subnetID, _ := testSubnet(t, e)
		var started []Instance
		e.sim.OnInstanceRunning = func(i Instance) { started = append(started, i) }
		out := try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ubuntuImage), InstanceType: ec2types.InstanceTypeT3Large,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID),
			IamInstanceProfile: &ec2types.IamInstanceProfileSpecification{Name: aws.String("nodes.cluster-api-provider-aws.sigs.k8s.io")}})).must(t)
		dns := aws.ToString(out.Instances[0].PrivateDnsName)
		if want := "ip-" + strings.ReplaceAll(aws.ToString(out.Instances[0].PrivateIpAddress), ".", "-") + c.dnsSuffix; dns != want {
			t.Errorf("%s: private DNS name %s, want %s", c.region, dns, want)
		}
		try(e.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})).must(t)
		if len(started) != 1 || started[0].KubernetesVersion != "v1.36.0" || started[0].IAMInstanceProfile != "nodes.cluster-api-provider-aws.sigs.k8s.io" ||
			started[0].PrivateDNSName != dns {
			t.Errorf("%s: OnInstanceRunning = %+v", c.region, started)
		}
	}
}

func TestControlAPIRegistersImages(t *testing.T) {
	e := newEnv(t, Config{})
	srv := httptest.NewServer(e.sim)
	t.Cleanup(srv.Close)
	put := func(body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPut, srv.URL+"/_lab/images", strings.NewReader(body))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := put(`[{"name":"my-image-arm","owner":"111122223333","rootDeviceName":"/dev/xvda","snapshotSizeGiB":20,"architecture":"arm64","kubernetesVersion":"v1.36.1"},
		{"name":"plain-os"}]`)
	var registered []RegisteredImage
	if err := json.Unmarshal([]byte(body), &registered); code != 200 || err != nil || len(registered) != 2 || registered[0].ImageID != ImageID("my-image-arm") {
		t.Fatalf("register: %d %s %v", code, body, err)
	}
	ctx := context.Background()
	imgs := try(e.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{registered[0].ImageID, registered[1].ImageID}})).must(t).Images
	if len(imgs) != 2 {
		t.Fatalf("registered images = %+v", imgs)
	}
	for _, img := range imgs {
		switch aws.ToString(img.Name) {
		case "my-image-arm":
			if aws.ToString(img.OwnerId) != "111122223333" || img.Architecture != ec2types.ArchitectureValuesArm64 || aws.ToInt32(img.BlockDeviceMappings[0].Ebs.VolumeSize) != 20 {
				t.Errorf("arm image = %+v", img)
			}
		case "plain-os":
			if aws.ToString(img.OwnerId) != accountID || aws.ToString(img.RootDeviceName) != "/dev/xvda" || aws.ToInt32(img.BlockDeviceMappings[0].Ebs.VolumeSize) != 8 {
				t.Errorf("image with defaults = %+v", img)
			}
		}
	}
	subnetID, _ := testSubnet(t, e)
	var started []Instance
	e.sim.OnInstanceRunning = func(i Instance) { started = append(started, i) }
	for _, id := range []string{registered[0].ImageID, registered[1].ImageID} {
		instanceType := ec2types.InstanceTypeT3Large
		if id == registered[0].ImageID {
			instanceType = ec2types.InstanceTypeT4gLarge
		}
		try(e.ec2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(id), InstanceType: instanceType,
			MinCount: aws.Int32(1), MaxCount: aws.Int32(1), SubnetId: aws.String(subnetID)})).must(t)
	}
	if len(started) != 2 || started[0].KubernetesVersion != "v1.36.1" || started[1].KubernetesVersion != "" {
		t.Errorf("instances of registered images = %+v", started)
	}
	for _, bad := range []string{`[{"name":"x"}]`, `[{"name":"ok-name","architecture":"sparc"}]`, `[{"name":"ok-name","rootDeviceName":"sda1"}]`, `{`} {
		if code, _ := put(bad); code != 400 {
			t.Errorf("%s was accepted: %d", bad, code)
		}
	}
}
