package cloud

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	infrav1 "github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/aws/api/v1alpha1"
)

func TestEncodeUserData(t *testing.T) {
	small := []byte("#cloud-config\nruncmd: [kubeadm init]\n")
	enc, err := EncodeUserData(small)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := base64.StdEncoding.DecodeString(enc); !bytes.Equal(got, small) {
		t.Errorf("small user data changed: %q", got)
	}

	// kubeadm cloud-init with certificates is often over 16 KB; it
	// compresses well and must still fit.
	big := []byte("#cloud-config\n" + strings.Repeat("write_files: [{path: /etc/kubernetes/pki/ca.crt}]\n", 600))
	enc, err = EncodeUserData(big)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(enc)
	if len(raw) > UserDataLimit {
		t.Fatalf("encoded user data is %d bytes", len(raw))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("large user data not gzipped: %v", err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, big) {
		t.Error("gzipped user data does not round-trip")
	}

	// Incompressible data over the limit is an error, not a silent cut.
	noise := make([]byte, 3*UserDataLimit)
	_, _ = rand.Read(noise)
	if _, err := EncodeUserData([]byte(hex.EncodeToString(noise))); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("oversized user data: %v", err)
	}
}

func TestSubnetCIDRs(t *testing.T) {
	public, private, err := SubnetCIDRs("10.0.0.0/16", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"}
	for i := range want {
		if public[i] != want[i] {
			t.Errorf("public[%d] = %s, want %s", i, public[i], want[i])
		}
	}
	if private[0] != "10.0.48.0/20" || private[2] != "10.0.80.0/20" {
		t.Errorf("private = %v", private)
	}
	if _, _, err := SubnetCIDRs("10.0.0.0/26", 3); err == nil {
		t.Error("a /26 VPC was split into /30 subnets")
	}
	if _, _, err := SubnetCIDRs("fd00::/56", 1); err == nil {
		t.Error("an IPv6 VPC CIDR was accepted")
	}
}

func TestLoadBalancerNameFitsAndIsUnique(t *testing.T) {
	long := Cluster{Namespace: "team-a", Name: strings.Repeat("x", 60)}
	if n := LoadBalancerName(long); len(n) > 32 {
		t.Errorf("%q is %d characters, over ELB's 32", n, len(n))
	}
	a, b := LoadBalancerName(Cluster{Namespace: "a", Name: "demo"}), LoadBalancerName(Cluster{Namespace: "b", Name: "demo"})
	if a == b {
		t.Errorf("clusters in two namespaces share the load balancer name %q", a)
	}
}

func TestImageNamePatternIsCAPAs(t *testing.T) {
	for _, c := range []struct {
		lookup  *infrav1.ImageLookup
		version string
		want    string
	}{
		{nil, "v1.36.0", "capa-ami-ubuntu-24.04-?1.36.0-*"},
		{nil, "1.36.0", "capa-ami-ubuntu-24.04-?1.36.0-*"},
		{&infrav1.ImageLookup{BaseOS: "al2023"}, "v1.35.3", "capa-ami-al2023-?1.35.3-*"},
		{&infrav1.ImageLookup{NameFormat: "team-{{.K8sVersion}}-{{.BaseOS}}"}, "v1.36.1", "team-1.36.1-ubuntu-24.04"},
	} {
		if got, err := ImageNamePattern(c.lookup, c.version); err != nil || got != c.want {
			t.Errorf("%+v %s: %q %v, want %q", c.lookup, c.version, got, err, c.want)
		}
	}
	_, err := ImageNamePattern(&infrav1.ImageLookup{NameFormat: "{{.Version}}"}, "v1.36.0")
	if p := AsPermanent(err); p == nil || p.Reason != "InvalidImageLookup" {
		t.Errorf("unknown template field: %v", err)
	}
}

func TestArchitecture(t *testing.T) {
	for typ, want := range map[string]string{"t3.large": "x86_64", "t4g.medium": "arm64", "m7g.xlarge": "arm64", "c7gn.large": "arm64",
		"m6gd.large": "arm64", "a1.large": "arm64", "g5.xlarge": "x86_64", "m5.large": "x86_64", "inf2.xlarge": "x86_64"} {
		if got := Architecture(typ); got != want {
			t.Errorf("%s: %s, want %s", typ, got, want)
		}
	}
}

func TestRootVolumeBelowSnapshotIsRefused(t *testing.T) {
	img := Image{ID: "ami-0123456789abcdef0", RootDeviceName: "/dev/sda1", SnapshotSizeGiB: 20}
	if p := AsPermanent(CheckRootVolume(img, 10)); p == nil || p.Reason != "RootVolumeTooSmall" {
		t.Errorf("10 GiB below a 20 GiB snapshot was accepted")
	}
	for _, size := range []int32{0, 20, 100} {
		if err := CheckRootVolume(img, size); err != nil {
			t.Errorf("%d GiB: %v", size, err)
		}
	}
}

func TestNamesFitAWSLimits(t *testing.T) {
	long := Cluster{Namespace: strings.Repeat("n", 63), Name: "team.platform." + strings.Repeat("x", 49)}
	if key := long.OwnerTag(); len(key) > 128 || !strings.HasPrefix(key, "terraform-capi.io/cluster/nnn") {
		t.Errorf("owner tag %q is %d characters", key, len(key))
	}
	other := Cluster{Namespace: long.Namespace, Name: long.Name[:len(long.Name)-1] + "y"}
	if long.OwnerTag() == other.OwnerTag() {
		t.Errorf("two clusters share the owner tag %q", long.OwnerTag())
	}
	if short := (Cluster{Namespace: "default", Name: "demo"}).OwnerTag(); short != "terraform-capi.io/cluster/default/demo" {
		t.Errorf("short owner tag = %q", short)
	}
	for _, cl := range []Cluster{long, {Namespace: "default", Name: "a.b"}, {Namespace: "default", Name: "..."}, {Namespace: "default", Name: "x.-y"}} {
		name := LoadBalancerName(cl)
		if len(name) > 32 || !regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$`).MatchString(name) {
			t.Errorf("load balancer name %q for %q is not one ELBv2 takes", name, cl.Name)
		}
	}
	for k, v := range long.tags("public-subnet", "us-east-1a", nil) {
		if len(k) > 128 || len(v) > 256 {
			t.Errorf("tag %s=%s over the limits", k, v)
		}
	}
}

func TestMissingSourcesComparesContent(t *testing.T) {
	merged := []ec2types.IpPermission{
		{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-cp")}, {GroupId: aws.String("sg-node")}}},
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6443), ToPort: aws.Int32(6443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}},
	}
	all := func(g string) ec2types.IpPermission {
		return ec2types.IpPermission{IpProtocol: aws.String("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(g)}}}
	}
	if m := missingSources(merged, all("sg-node")); m != nil {
		t.Errorf("a source inside a merged permission counted missing: %+v", m)
	}
	if m := missingSources(merged, all("sg-lb")); m == nil || aws.ToString(m.UserIdGroupPairs[0].GroupId) != "sg-lb" {
		t.Errorf("a new source not reported: %+v", m)
	}
	api := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(6443), ToPort: aws.Int32(6443),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}, UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-lb")}}}
	if m := missingSources(merged, api); m == nil || len(m.IpRanges) != 0 || len(m.UserIdGroupPairs) != 1 {
		t.Errorf("only the missing group should be left: %+v", m)
	}
}

// Only what the cloud provider made for this cluster's Services is
// deleted as such: not this provider's own resources (the node groups
// carry the same cloud provider tag), nor those of another cluster or
// shared with one.
func TestMadeForServices(t *testing.T) {
	cl := Cluster{Namespace: "default", Name: "prod"}
	other := Cluster{Namespace: "team", Name: "prod"}
	for _, c := range []struct {
		tags map[string]string
		want bool
	}{
		{map[string]string{"kubernetes.io/cluster/prod": "owned", serviceNameTag: "default/web"}, true},
		{map[string]string{"kubernetes.io/cluster/prod": "owned"}, true},
		{map[string]string{"kubernetes.io/cluster/prod": "shared", serviceNameTag: "default/web"}, false},
		{map[string]string{"kubernetes.io/cluster/staging": "owned", serviceNameTag: "default/web"}, false},
		{securityGroupTags(cl, roleNodeSG), false},
		{securityGroupTags(other, roleNodeSG), false},
	} {
		if got := cl.madeForServices(c.tags); got != c.want {
			t.Errorf("madeForServices(%v) = %v, want %v", c.tags, got, c.want)
		}
	}
}
