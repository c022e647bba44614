package cloud

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"strings"
	"testing"
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
