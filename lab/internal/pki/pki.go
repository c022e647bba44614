// Package pki creates the certificates and keys of the lab's management
// plane: one CA, a serving certificate for the API server on loopback, an
// admin client certificate and the service-account signing key. Everything
// is created once and reused, so kubeconfigs stay valid across restarts.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files names the PEM files of a lab's PKI directory.
type Files struct {
	Dir string
}

func (f Files) CACert() string      { return filepath.Join(f.Dir, "ca.crt") }
func (f Files) CAKey() string       { return filepath.Join(f.Dir, "ca.key") }
func (f Files) ServingCert() string { return filepath.Join(f.Dir, "apiserver.crt") }
func (f Files) ServingKey() string  { return filepath.Join(f.Dir, "apiserver.key") }
func (f Files) AdminCert() string   { return filepath.Join(f.Dir, "admin.crt") }
func (f Files) AdminKey() string    { return filepath.Join(f.Dir, "admin.key") }
func (f Files) ServiceAccountKey() string {
	return filepath.Join(f.Dir, "sa.key")
}
func (f Files) ServiceAccountPub() string {
	return filepath.Join(f.Dir, "sa.pub")
}

// validity is long on purpose: a lab directory may be kept for months.
const validity = 10 * 365 * 24 * time.Hour

// Ensure creates whatever is missing in the PKI directory. Existing files are
// kept as they are.
func Ensure(f Files) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	if exists(f.CACert()) && exists(f.CAKey()) && exists(f.ServingCert()) &&
		exists(f.AdminCert()) && exists(f.ServiceAccountKey()) {
		return nil
	}

	caKey, err := newKey()
	if err != nil {
		return err
	}
	caTmpl := template("capi-lab-ca", nil)
	caTmpl.IsCA = true
	caTmpl.BasicConstraintsValid = true
	caTmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return fmt.Errorf("creating CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}

	serving := template("kube-apiserver", nil)
	serving.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	serving.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	serving.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}

	admin := template("capi-lab-admin", []string{"system:masters"})
	admin.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}

	if err := writeCert(f.CACert(), caDER); err != nil {
		return err
	}
	if err := writeKey(f.CAKey(), caKey); err != nil {
		return err
	}
	if err := issue(f.ServingCert(), f.ServingKey(), serving, caCert, caKey); err != nil {
		return err
	}
	if err := issue(f.AdminCert(), f.AdminKey(), admin, caCert, caKey); err != nil {
		return err
	}

	saKey, err := newKey()
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return err
	}
	if err := os.WriteFile(f.ServiceAccountPub(), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return err
	}
	return writeKey(f.ServiceAccountKey(), saKey)
}

func issue(certPath, keyPath string, tmpl, ca *x509.Certificate, caKey crypto.Signer) error {
	key, err := newKey()
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("issuing %s: %w", tmpl.Subject.CommonName, err)
	}
	if err := writeCert(certPath, der); err != nil {
		return err
	}
	return writeKey(keyPath, key)
}

func template(commonName string, organizations []string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	now := time.Now().Add(-time.Hour)
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: commonName, Organization: organizations},
		NotBefore:    now,
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
}

func newKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func writeCert(path string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
