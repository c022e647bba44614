package cloud

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"text/template"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

// The image lookup's defaults are Cluster API Provider AWS's: the images
// Cluster API publishes for each Kubernetes release.
const (
	DefaultImageOwner      = "819546954734"
	DefaultImageNameFormat = "capa-ami-{{.BaseOS}}-?{{.K8sVersion}}-*"
	DefaultImageBaseOS     = "ubuntu-24.04"
)

// Image is what launching an instance needs to know of its AMI.
type Image struct {
	ID, Name       string
	RootDeviceName string
	Architecture   string
	// SnapshotSizeGiB is the root snapshot's size, the smallest root
	// volume the image boots with.
	SnapshotSizeGiB int32
}

// ImageRequest says which image a machine boots: AMI when set, or else the
// newest image Lookup finds for the Kubernetes version.
type ImageRequest struct {
	AMI               string
	Lookup            *infrav1.ImageLookup
	KubernetesVersion string
	InstanceType      string
}

// Architecture is the EC2 architecture of an instance type: arm64 for the
// Graviton families (a g after the generation, as t4g, m7g, c7gn; and a1),
// x86_64 for the rest.
func Architecture(instanceType string) string {
	family, _, _ := strings.Cut(instanceType, ".")
	if family == "a1" {
		return "arm64"
	}
	i := strings.IndexAny(family, "0123456789")
	if i < 1 {
		return "x86_64"
	}
	for i < len(family) && family[i] >= '0' && family[i] <= '9' {
		i++
	}
	if i < len(family) && family[i] == 'g' {
		return "arm64"
	}
	return "x86_64"
}

// withDefaults fills in the lookup's unset fields.
func withDefaults(l *infrav1.ImageLookup) infrav1.ImageLookup {
	out := infrav1.ImageLookup{Owner: DefaultImageOwner, NameFormat: DefaultImageNameFormat, BaseOS: DefaultImageBaseOS}
	if l == nil {
		return out
	}
	if l.Owner != "" {
		out.Owner = l.Owner
	}
	if l.NameFormat != "" {
		out.NameFormat = l.NameFormat
	}
	if l.BaseOS != "" {
		out.BaseOS = l.BaseOS
	}
	return out
}

// ImageNamePattern renders a lookup's name format for a Kubernetes
// version. As in CAPA, the version goes in without its leading v (the
// format's ? stands for it), so v1.36.0 and 1.36.0 find the same images.
func ImageNamePattern(l *infrav1.ImageLookup, kubernetesVersion string) (string, error) {
	lookup := withDefaults(l)
	tmpl, err := template.New("image name").Option("missingkey=error").Parse(lookup.NameFormat)
	if err != nil {
		return "", permanent(infrav1.InvalidImageLookupReason, "image name format %q: %v", lookup.NameFormat, err)
	}
	var b bytes.Buffer
	data := struct{ BaseOS, K8sVersion string }{lookup.BaseOS, strings.TrimPrefix(kubernetesVersion, "v")}
	if err := tmpl.Execute(&b, data); err != nil {
		return "", permanent(infrav1.InvalidImageLookupReason, "image name format %q: %v", lookup.NameFormat, err)
	}
	return b.String(), nil
}

// ResolveImage finds the image req asks for and checks that an instance
// of req.InstanceType can boot it.
func (c Clients) ResolveImage(ctx context.Context, req ImageRequest) (Image, error) {
	if req.AMI != "" {
		return c.describeImage(ctx, req.AMI, Architecture(req.InstanceType))
	}
	return c.lookupImage(ctx, req)
}

func (c Clients) describeImage(ctx context.Context, id, arch string) (Image, error) {
	out, err := c.EC2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	switch code := errorCode(err); {
	case code == "InvalidAMIID.NotFound" || code == "InvalidAMIID.Malformed" || (err == nil && len(out.Images) == 0):
		return Image{}, permanent(infrav1.ImageNotFoundReason, "image %s does not exist in this region or is not shared with this account", id)
	case err != nil:
		return Image{}, fmt.Errorf("describing image %s: %w", id, err)
	}
	img := out.Images[0]
	switch img.State {
	case ec2types.ImageStateAvailable:
	case ec2types.ImageStatePending:
		return Image{}, fmt.Errorf("image %s is still pending", id)
	default:
		return Image{}, permanent(infrav1.ImageNotAvailableReason, "image %s is %s, not available", id, img.State)
	}
	if got := string(img.Architecture); got != arch {
		return Image{}, permanent(infrav1.ImageArchitectureMismatchReason, "image %s is %s but the instance type needs %s", id, got, arch)
	}
	return imageOf(img)
}

func (c Clients) lookupImage(ctx context.Context, req ImageRequest) (Image, error) {
	lookup := withDefaults(req.Lookup)
	if req.KubernetesVersion == "" {
		return Image{}, permanent(infrav1.ImageLookupNeedsVersionReason, "the Machine has no Kubernetes version to look an image up by; set ami")
	}
	pattern, err := ImageNamePattern(req.Lookup, req.KubernetesVersion)
	if err != nil {
		return Image{}, err
	}
	arch := Architecture(req.InstanceType)
	in := &ec2.DescribeImagesInput{Owners: []string{lookup.Owner}, Filters: []ec2types.Filter{
		{Name: aws.String("name"), Values: []string{pattern}},
		{Name: aws.String("architecture"), Values: []string{arch}},
		{Name: aws.String("state"), Values: []string{"available"}},
		{Name: aws.String("virtualization-type"), Values: []string{"hvm"}},
	}}
	var found []ec2types.Image
	for p := ec2.NewDescribeImagesPaginator(c.EC2, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return Image{}, fmt.Errorf("looking up images named %s: %w", pattern, err)
		}
		found = append(found, out.Images...)
	}
	if len(found) == 0 {
		return Image{}, permanent(infrav1.ImageNotFoundReason, "no available %s image of owner %s is named %s (Kubernetes %s, base OS %s)",
			arch, lookup.Owner, pattern, req.KubernetesVersion, lookup.BaseOS)
	}
	return imageOf(newestImage(found))
}

// newestImage is the image created last. EC2's creation dates
// (2006-01-02T15:04:05.000Z) sort as strings; the name breaks ties.
func newestImage(images []ec2types.Image) ec2types.Image {
	sort.Slice(images, func(i, j int) bool {
		a, b := aws.ToString(images[i].CreationDate), aws.ToString(images[j].CreationDate)
		if a != b {
			return a > b
		}
		return aws.ToString(images[i].Name) > aws.ToString(images[j].Name)
	})
	return images[0]
}

// imageOf reads what launching needs; an image without an EBS root device
// cannot take a root volume size.
func imageOf(img ec2types.Image) (Image, error) {
	out := Image{ID: aws.ToString(img.ImageId), Name: aws.ToString(img.Name), RootDeviceName: aws.ToString(img.RootDeviceName),
		Architecture: string(img.Architecture)}
	if img.RootDeviceType != ec2types.DeviceTypeEbs || out.RootDeviceName == "" {
		return Image{}, permanent(infrav1.ImageNotEBSBackedReason, "image %s has no EBS root device", out.ID)
	}
	for _, bd := range img.BlockDeviceMappings {
		if aws.ToString(bd.DeviceName) == out.RootDeviceName && bd.Ebs != nil {
			out.SnapshotSizeGiB = aws.ToInt32(bd.Ebs.VolumeSize)
		}
	}
	return out, nil
}

// CheckRootVolume refuses a root volume smaller than the image's
// snapshot, which RunInstances would refuse too; 0 keeps the image's size.
func CheckRootVolume(img Image, sizeGiB int32) error {
	if sizeGiB != 0 && sizeGiB < img.SnapshotSizeGiB {
		return permanent(infrav1.RootVolumeTooSmallReason, "root volume of %d GiB is smaller than image %s's snapshot of %d GiB",
			sizeGiB, img.ID, img.SnapshotSizeGiB)
	}
	return nil
}
