package pki

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestEnsureCreatesAChainAndKeepsIt(t *testing.T) {
	f := Files{Dir: t.TempDir()}
	if err := Ensure(f); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f.CACert())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)

	serving, err := tls.LoadX509KeyPair(f.ServingCert(), f.ServingKey())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(serving.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("serving certificate for 127.0.0.1: %v", err)
	}

	admin, err := tls.LoadX509KeyPair(f.AdminCert(), f.AdminKey())
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(admin.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("admin client certificate: %v", err)
	}
	if len(leaf.Subject.Organization) != 1 || leaf.Subject.Organization[0] != "system:masters" {
		t.Errorf("admin organization = %v", leaf.Subject.Organization)
	}

	// A second Ensure keeps what exists, so old kubeconfigs stay valid.
	if err := Ensure(f); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(f.CACert())
	if string(again) != string(caPEM) {
		t.Error("CA was regenerated")
	}
}
