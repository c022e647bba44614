package awssim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// CAPAImageOwner is the account that publishes Cluster API's AMIs, the
// default owner of CAPA's image lookup.
const CAPAImageOwner = "819546954734"

// creationDateFormat is how EC2 writes an image's CreationDate.
const creationDateFormat = "2006-01-02T15:04:05.000Z"

type imageEbs struct {
	SnapshotID          string `xml:"snapshotId"`
	VolumeSize          int    `xml:"volumeSize"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	VolumeType          string `xml:"volumeType"`
	Encrypted           bool   `xml:"encrypted"`
}

type imageDevice struct {
	DeviceName string   `xml:"deviceName"`
	Ebs        imageEbs `xml:"ebs"`
}

type image struct {
	ImageID            string        `xml:"imageId"`
	ImageLocation      string        `xml:"imageLocation"`
	State              string        `xml:"imageState"`
	OwnerID            string        `xml:"imageOwnerId"`
	CreationDate       string        `xml:"creationDate"`
	Public             bool          `xml:"isPublic"`
	Architecture       string        `xml:"architecture"`
	ImageType          string        `xml:"imageType"`
	Name               string        `xml:"name"`
	Description        string        `xml:"description"`
	RootDeviceType     string        `xml:"rootDeviceType"`
	RootDeviceName     string        `xml:"rootDeviceName"`
	BlockDevices       []imageDevice `xml:"blockDeviceMapping>item"`
	VirtualizationType string        `xml:"virtualizationType"`
	Hypervisor         string        `xml:"hypervisor"`
	EnaSupport         bool          `xml:"enaSupport"`
	// ImdsSupport is "v2.0" for an image whose instances require IMDSv2
	// by default.
	ImdsSupport string `xml:"imdsSupport,omitempty"`

	// kubernetesVersion is what the image's kubelet runs, the lab's
	// notion: "" for an image without Kubernetes.
	kubernetesVersion string
	created           time.Time
}

// root is the image's root device mapping.
func (img *image) root() imageDevice {
	for _, d := range img.BlockDevices {
		if d.DeviceName == img.RootDeviceName {
			return d
		}
	}
	return imageDevice{DeviceName: img.RootDeviceName}
}

// ImageSpec registers an image in the catalog.
type ImageSpec struct {
	Name string `json:"name"`
	// Owner is the owning account, by default the simulator's own.
	Owner string `json:"owner,omitempty"`
	// RootDeviceName is /dev/xvda unless set.
	RootDeviceName string `json:"rootDeviceName,omitempty"`
	// SnapshotSizeGiB is the root snapshot's size, 8 unless set.
	SnapshotSizeGiB int `json:"snapshotSizeGiB,omitempty"`
	// Architecture is x86_64 or arm64, x86_64 unless set.
	Architecture string `json:"architecture,omitempty"`
	// KubernetesVersion is what instances of the image run, if anything.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// State is available unless set (pending, failed).
	State string `json:"state,omitempty"`
	// CreationDate is RFC 3339, the time of registration unless set.
	CreationDate string `json:"creationDate,omitempty"`
	// IMDSSupport is "v2.0" for an image whose instances default to
	// IMDSv2 only (httpTokens required, hop limit 2), as Amazon Linux
	// 2023's do; unset, instances default to IMDSv1 and v2.
	IMDSSupport string `json:"imdsSupport,omitempty"`
}

// RegisteredImage is what registering an image returns.
type RegisteredImage struct {
	Name    string `json:"name"`
	ImageID string `json:"imageId"`
}

// ImageID is the ID a catalog image of that name has: derived from the
// name, so that it stays the same across lab restarts.
func ImageID(name string) string { return "ami-" + hashHex("image/"+name) }

func snapshotID(name string) string { return "snap-" + hashHex("snapshot/"+name) }

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:17]
}

// builtinImages are shaped like Cluster API's published AMIs: one per base
// OS and Kubernetes version, named capa-ami-<os>-<version>-<build>, and a
// later build of v1.36.3 so that "newest by CreationDate" matters.
func builtinImages() []ImageSpec {
	type build struct {
		version string
		stamp   int64
	}
	builds := []build{{"v1.35.0", 1757000000}, {"v1.35.3", 1759000000}, {"v1.36.0", 1761000000}, {"v1.36.1", 1762000000},
		{"v1.36.2", 1763000000}, {"v1.36.3", 1764000000}, {"v1.36.3", 1764500000}}
	var out []ImageSpec
	for _, os := range []struct{ name, root string }{{"ubuntu-24.04", "/dev/sda1"}, {"al2023", "/dev/xvda"}} {
		for _, b := range builds {
			out = append(out, ImageSpec{Name: fmt.Sprintf("capa-ami-%s-%s-%d", os.name, b.version, b.stamp), Owner: CAPAImageOwner,
				RootDeviceName: os.root, SnapshotSizeGiB: 8, Architecture: "x86_64", KubernetesVersion: b.version,
				CreationDate: time.Unix(b.stamp, 0).UTC().Format(time.RFC3339)})
		}
	}
	return out
}

var imageNamePattern = regexp.MustCompile(`^[A-Za-z0-9()\[\] ./\-'@_]{3,128}$`)

// newImage checks spec as RegisterImage does and builds the image.
func (s *Simulator) newImage(spec ImageSpec) (*image, error) {
	if !imageNamePattern.MatchString(spec.Name) {
		return nil, fmt.Errorf("image name %q: 3 to 128 letters, digits or ()[] ./-'@_", spec.Name)
	}
	if spec.Owner == "" {
		spec.Owner = accountID
	}
	if spec.RootDeviceName == "" {
		spec.RootDeviceName = "/dev/xvda"
	}
	if spec.SnapshotSizeGiB == 0 {
		spec.SnapshotSizeGiB = 8
	}
	if spec.Architecture == "" {
		spec.Architecture = "x86_64"
	}
	if spec.State == "" {
		spec.State = "available"
	}
	switch {
	case spec.Architecture != "x86_64" && spec.Architecture != "arm64":
		return nil, fmt.Errorf("image %s: architecture %q is not x86_64 or arm64", spec.Name, spec.Architecture)
	case spec.SnapshotSizeGiB < 1 || spec.SnapshotSizeGiB > 16384:
		return nil, fmt.Errorf("image %s: snapshot size %d GiB is not between 1 and 16384", spec.Name, spec.SnapshotSizeGiB)
	case !strings.HasPrefix(spec.RootDeviceName, "/dev/"):
		return nil, fmt.Errorf("image %s: root device %q is not a /dev/ name", spec.Name, spec.RootDeviceName)
	case spec.State != "available" && spec.State != "pending" && spec.State != "failed":
		return nil, fmt.Errorf("image %s: state %q is not available, pending or failed", spec.Name, spec.State)
	case spec.IMDSSupport != "" && spec.IMDSSupport != "v2.0":
		return nil, fmt.Errorf("image %s: imdsSupport %q is not v2.0", spec.Name, spec.IMDSSupport)
	}
	created := s.now()
	if spec.CreationDate != "" {
		t, err := time.Parse(time.RFC3339, spec.CreationDate)
		if err != nil {
			return nil, fmt.Errorf("image %s: creation date: %w", spec.Name, err)
		}
		created = t
	}
	desc := "Cluster API image"
	if spec.KubernetesVersion != "" {
		desc += " with Kubernetes " + spec.KubernetesVersion
	}
	return &image{
		ImageID: ImageID(spec.Name), ImageLocation: spec.Owner + "/" + spec.Name, State: spec.State, OwnerID: spec.Owner,
		CreationDate: created.UTC().Format(creationDateFormat), Public: spec.Owner != accountID, Architecture: spec.Architecture,
		ImageType: "machine", Name: spec.Name, Description: desc, RootDeviceType: "ebs", RootDeviceName: spec.RootDeviceName,
		BlockDevices: []imageDevice{{DeviceName: spec.RootDeviceName, Ebs: imageEbs{SnapshotID: snapshotID(spec.Name),
			VolumeSize: spec.SnapshotSizeGiB, DeleteOnTermination: true, VolumeType: "gp3"}}},
		VirtualizationType: "hvm", Hypervisor: "xen", EnaSupport: true, ImdsSupport: spec.IMDSSupport,
		kubernetesVersion: spec.KubernetesVersion, created: created,
	}, nil
}

// RegisterImages adds images to the catalog (replacing any of the same
// name) and returns their IDs.
func (s *Simulator) RegisterImages(specs []ImageSpec) ([]RegisteredImage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registerImages(specs)
}

func (s *Simulator) registerImages(specs []ImageSpec) ([]RegisteredImage, error) {
	var imgs []*image
	for _, spec := range specs {
		img, err := s.newImage(spec)
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	out := make([]RegisteredImage, 0, len(imgs))
	for _, img := range imgs {
		s.images[img.ImageID] = img
		out = append(out, RegisteredImage{Name: img.Name, ImageID: img.ImageID})
	}
	return out, nil
}

func (s *Simulator) describeImages(p params, _ string) (any, *apiError) {
	for _, id := range p.list("ImageId") {
		if !amiPattern.MatchString(id) {
			return nil, malformedAMI(id)
		}
	}
	owners := p.list("Owner")
	// A request for image IDs that are not there fails as for other
	// resources; with filters or owners, no match is an empty list.
	out, next, err := describe(s, p, "ImageId", s.images, "InvalidAMIID.NotFound", "image", func(img *image) resourceView {
		return resourceView{created: img.created, values: func(name string) ([]string, bool) {
			switch name {
			case "image-id":
				return []string{img.ImageID}, true
			case "name":
				return []string{img.Name}, true
			case "owner-id":
				return []string{img.OwnerID}, true
			case "architecture":
				return []string{img.Architecture}, true
			case "state":
				return []string{img.State}, true
			case "virtualization-type":
				return []string{img.VirtualizationType}, true
			case "root-device-type":
				return []string{img.RootDeviceType}, true
			case "root-device-name":
				return []string{img.RootDeviceName}, true
			case "image-type":
				return []string{img.ImageType}, true
			case "is-public":
				return []string{boolString(img.Public)}, true
			case "description":
				return []string{img.Description}, true
			}
			return nil, false
		}}
	})
	if err != nil {
		if err.code == "InvalidAMIID.NotFound" {
			return nil, amiNotFound(p.list("ImageId")...)
		}
		return nil, err
	}
	var kept []*image
	for _, img := range out {
		if len(owners) == 0 || ownedBy(img, owners) {
			kept = append(kept, img)
		}
	}
	return struct {
		Images    []*image `xml:"imagesSet>item"`
		NextToken string   `xml:"nextToken,omitempty"`
	}{kept, next}, nil
}

// ownedBy matches DescribeImages' Owners: account IDs, or self.
func ownedBy(img *image, owners []string) bool {
	for _, o := range owners {
		if o == img.OwnerID || (o == "self" && img.OwnerID == accountID) {
			return true
		}
	}
	return false
}

var amiPattern = regexp.MustCompile(`^ami-([0-9a-f]{8}|[0-9a-f]{17})$`)

func malformedAMI(id string) *apiError {
	return badRequest("InvalidAMIID.Malformed", "Invalid id: \"%s\" (expecting \"ami-...\")", id)
}

func amiNotFound(ids ...string) *apiError {
	return badRequest("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(ids, ", "))
}

// deviceRequest is one EBS volume RunInstances is to attach.
type deviceRequest struct {
	device              string
	sizeGiB             int
	volumeType          string
	deleteOnTermination bool
	encrypted           bool
	// kmsKeyID is the key the mapping names, "" for EBS's default.
	kmsKeyID string
}

// blockDevices reads RunInstances' BlockDeviceMapping.N against the
// image: a mapping for the root device sizes the root volume (never below
// its snapshot), any other adds a volume.
func blockDevices(p params, img *image) (root deviceRequest, extra []deviceRequest, _ *apiError) {
	snap := img.root().Ebs
	// A volume of an encrypted snapshot is encrypted, whatever the mapping
	// says.
	root = deviceRequest{device: img.RootDeviceName, sizeGiB: snap.VolumeSize, volumeType: snap.VolumeType, deleteOnTermination: true,
		encrypted: snap.Encrypted}
	seen := map[string]bool{}
	for _, bd := range p.indexed("BlockDeviceMapping") {
		name := bd.get("DeviceName")
		if name == "" {
			return root, nil, badRequest("MissingParameter", "The request must contain the parameter deviceName")
		}
		if seen[name] {
			return root, nil, badRequest("InvalidBlockDeviceMapping", "The device '%s' is used in more than one block-device mapping", name)
		}
		seen[name] = true
		req := deviceRequest{device: name, sizeGiB: bd.int("Ebs.VolumeSize", 0), volumeType: bd.get("Ebs.VolumeType"),
			deleteOnTermination: bd.get("Ebs.DeleteOnTermination") != "false"}
		if req.volumeType == "" {
			req.volumeType = "gp2"
		}
		encrypted, key, apiErr := ebsEncryption(bd)
		if apiErr != nil {
			return root, nil, apiErr
		}
		req.encrypted, req.kmsKeyID = encrypted, key
		if name == img.RootDeviceName {
			req.encrypted = req.encrypted || snap.Encrypted
			if req.sizeGiB == 0 {
				req.sizeGiB = snap.VolumeSize
			}
			if req.sizeGiB < snap.VolumeSize {
				return root, nil, badRequest("InvalidBlockDeviceMapping", "Volume of size %dGB is smaller than snapshot '%s', expect size >= %dGB",
					req.sizeGiB, snap.SnapshotID, snap.VolumeSize)
			}
			root = req
			continue
		}
		if req.sizeGiB == 0 {
			return root, nil, badRequest("MissingParameter", "The request must contain the parameter size or snapshotId for device %s", name)
		}
		extra = append(extra, req)
	}
	for _, d := range append([]deviceRequest{root}, extra...) {
		if d.sizeGiB > 16384 {
			return root, nil, badRequest("InvalidParameterValue", "Volume of %dGiB for %s is larger than 16384GiB", d.sizeGiB, d.device)
		}
	}
	return root, extra, nil
}
