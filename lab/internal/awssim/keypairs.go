package awssim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"strings"
	"time"
)

// keyPair is an EC2 key pair: the public half of an SSH key that
// RunInstances names by KeyName.
type keyPair struct {
	KeyPairID   string `xml:"keyPairId"`
	KeyName     string `xml:"keyName"`
	KeyType     string `xml:"keyType"`
	Fingerprint string `xml:"keyFingerprint"`
	CreateTime  string `xml:"createTime"`
	Tags        []Tag  `xml:"tagSet>item"`
	// PublicKey is shown only to DescribeKeyPairs with IncludePublicKey.
	PublicKey string `xml:"publicKey,omitempty"`
	publicKey string
	created   time.Time
}

func (k *keyPair) createdAt() time.Time { return k.created }

// keyPairNamed finds a visible key pair by name.
func (s *Simulator) keyPairNamed(name string) (*keyPair, bool) {
	for _, k := range s.keyPairs {
		if k.KeyName == name && !s.notYetVisible(k.created) {
			return k, true
		}
	}
	return nil, false
}

func keyPairNotFound(nameOrID string) *apiError {
	return badRequest("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", nameOrID)
}

// checkKeyName applies EC2's rules for a new key pair's name: given, at
// most 255 ASCII characters, not taken.
func (s *Simulator) checkKeyName(name string) *apiError {
	if name == "" {
		return badRequest("MissingParameter", "The request must contain the parameter KeyName")
	}
	if len(name) > 255 || strings.ContainsFunc(name, func(r rune) bool { return r > 127 }) {
		return badRequest("InvalidParameterValue", "Value (%s) for parameter keyName is invalid. Length exceeds maximum of 255 ASCII characters or contains non-ASCII characters", name)
	}
	for _, k := range s.keyPairs {
		if k.KeyName == name {
			return badRequest("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", name)
		}
	}
	return nil
}

func (s *Simulator) addKeyPair(p params, name, keyType, fingerprint, publicKey string) *keyPair {
	k := &keyPair{KeyPairID: newID("key"), KeyName: name, KeyType: keyType, Fingerprint: fingerprint,
		CreateTime: s.now().UTC().Format(time.RFC3339), Tags: tagList(p.tagSpecs("key-pair")), publicKey: publicKey, created: s.now()}
	s.keyPairs[k.KeyPairID] = k
	return k
}

func (s *Simulator) createKeyPair(p params, _ string) (any, *apiError) {
	name := p.get("KeyName")
	if err := s.checkKeyName(name); err != nil {
		return nil, err
	}
	keyType := p.get("KeyType")
	if keyType == "" {
		keyType = "rsa"
	}
	// PuTTY's format is accepted, but the key comes back in PEM all the
	// same: no client of the simulator reads PPK.
	if f := p.get("KeyFormat"); f != "" && f != "pem" && f != "ppk" {
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter keyFormat is invalid.", f)
	}
	var material, fingerprint, public string
	switch keyType {
	case "rsa":
		material, fingerprint, public = newRSAKey(name)
	case "ed25519":
		material, fingerprint, public = newEd25519Key(name)
	default:
		return nil, badRequest("InvalidParameterValue", "Value (%s) for parameter keyType is invalid.", keyType)
	}
	k := s.addKeyPair(p, name, keyType, fingerprint, public)
	return struct {
		KeyPairID   string `xml:"keyPairId"`
		KeyName     string `xml:"keyName"`
		Fingerprint string `xml:"keyFingerprint"`
		KeyMaterial string `xml:"keyMaterial"`
		Tags        []Tag  `xml:"tagSet>item"`
	}{k.KeyPairID, k.KeyName, k.Fingerprint, material, k.Tags}, nil
}

func (s *Simulator) importKeyPair(p params, _ string) (any, *apiError) {
	name := p.get("KeyName")
	if err := s.checkKeyName(name); err != nil {
		return nil, err
	}
	material, err := base64.StdEncoding.DecodeString(p.get("PublicKeyMaterial"))
	if err != nil || len(material) == 0 {
		return nil, badRequest("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	keyType, blob, ok := parseAuthorizedKey(material)
	if !ok {
		return nil, badRequest("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	// EC2 fingerprints an imported RSA key with MD5 (RFC 4716), an
	// ED25519 key as OpenSSH does, with SHA-256.
	fingerprint := sha256Fingerprint(blob)
	if keyType == "rsa" {
		sum := md5.Sum(blob)
		fingerprint = colonHex(sum[:])
	}
	k := s.addKeyPair(p, name, keyType, fingerprint, strings.TrimSpace(string(material)))
	return struct {
		KeyPairID   string `xml:"keyPairId"`
		KeyName     string `xml:"keyName"`
		Fingerprint string `xml:"keyFingerprint"`
		Tags        []Tag  `xml:"tagSet>item"`
	}{k.KeyPairID, k.KeyName, k.Fingerprint, k.Tags}, nil
}

func (s *Simulator) describeKeyPairs(p params, _ string) (any, *apiError) {
	var ids []string
	for _, name := range p.list("KeyName") {
		k, ok := s.keyPairNamed(name)
		if !ok {
			return nil, keyPairNotFound(name)
		}
		ids = append(ids, k.KeyPairID)
	}
	for _, id := range p.list("KeyPairId") {
		if _, ok := lookup(s, s.keyPairs, id); !ok {
			return nil, keyPairNotFound(id)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		ids = keys(s.keyPairs)
	}
	out := []keyPair{}
	for _, id := range ids {
		k := s.keyPairs[id]
		ok, err := matchFilters(p.filters(), k.Tags, func(name string) ([]string, bool) {
			switch name {
			case "key-name":
				return []string{k.KeyName}, true
			case "key-pair-id":
				return []string{k.KeyPairID}, true
			case "fingerprint":
				return []string{k.Fingerprint}, true
			case "key-type":
				return []string{k.KeyType}, true
			}
			return nil, false
		})
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		shown := *k
		if p.get("IncludePublicKey") == "true" {
			shown.PublicKey = k.publicKey
		}
		out = append(out, shown)
	}
	return struct {
		KeyPairs []keyPair `xml:"keySet>item"`
	}{out}, nil
}

// deleteKeyPair deletes by name or ID. As in EC2, deleting a name that
// does not exist succeeds; an ID that does not exist fails.
func (s *Simulator) deleteKeyPair(p params, _ string) (any, *apiError) {
	var k *keyPair
	if id := p.get("KeyPairId"); id != "" {
		var ok bool
		if k, ok = lookup(s, s.keyPairs, id); !ok {
			return nil, keyPairNotFound(id)
		}
	} else if name := p.get("KeyName"); name != "" {
		k, _ = s.keyPairNamed(name)
	} else {
		return nil, badRequest("MissingParameter", "The request must contain the parameter KeyName or KeyPairId")
	}
	out := struct {
		Return    bool   `xml:"return"`
		KeyPairID string `xml:"keyPairId,omitempty"`
	}{Return: true}
	if k != nil {
		out.KeyPairID = k.KeyPairID
		delete(s.keyPairs, k.KeyPairID)
	}
	return out, nil
}

// parseAuthorizedKey reads an OpenSSH public key line ("ssh-rsa AAAA...
// comment"), the format ImportKeyPair takes, into EC2's key type and the
// key's wire-format blob. EC2 takes RSA and ED25519 keys only.
func parseAuthorizedKey(line []byte) (keyType string, blob []byte, ok bool) {
	fields := strings.Fields(string(line))
	if len(fields) < 2 {
		return "", nil, false
	}
	types := map[string]string{"ssh-rsa": "rsa", "ssh-ed25519": "ed25519"}
	keyType, known := types[fields[0]]
	if !known {
		return "", nil, false
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil || len(blob) < 4 {
		return "", nil, false
	}
	n := binary.BigEndian.Uint32(blob)
	if int(n) > len(blob)-4 || string(blob[4:4+n]) != fields[0] {
		return "", nil, false
	}
	return keyType, blob, true
}

// newRSAKey makes what CreateKeyPair returns for an RSA key: its private
// key in PEM, EC2's fingerprint of it (SHA-1 of the PKCS#8 private key)
// and the public key line.
func newRSAKey(comment string) (material, fingerprint, public string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	sum := sha1.Sum(pkcs8)
	blob := sshBlob([]byte("ssh-rsa"), mpint(big.NewInt(int64(key.E))), mpint(key.N))
	pemBlock := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return string(pemBlock), colonHex(sum[:]), "ssh-rsa " + base64.StdEncoding.EncodeToString(blob) + " " + comment
}

// newEd25519Key makes what CreateKeyPair returns for an ED25519 key: its
// private key in OpenSSH's format, its SHA-256 fingerprint and the public
// key line.
func newEd25519Key(comment string) (material, fingerprint, public string) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	blob := sshBlob([]byte("ssh-ed25519"), pub)
	check := make([]byte, 4)
	_, _ = rand.Read(check)
	private := append(append([]byte(nil), check...), check...)
	private = append(private, sshBlob([]byte("ssh-ed25519"), pub, priv, []byte(comment))...)
	for i := byte(1); len(private)%8 != 0; i++ {
		private = append(private, i)
	}
	var body bytes.Buffer
	body.WriteString("openssh-key-v1\x00")
	body.Write(sshBlob([]byte("none"), []byte("none"), nil))
	body.Write([]byte{0, 0, 0, 1})
	body.Write(sshBlob(blob, private))
	pemBlock := pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: body.Bytes()})
	return string(pemBlock), sha256Fingerprint(blob), "ssh-ed25519 " + base64.StdEncoding.EncodeToString(blob) + " " + comment
}

// sshBlob joins SSH wire-format strings: each with its length before it.
func sshBlob(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = binary.BigEndian.AppendUint32(out, uint32(len(p)))
		out = append(out, p...)
	}
	return out
}

// mpint is an SSH multiple-precision integer's bytes: big-endian, with a
// zero byte first when the high bit is set.
func mpint(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

func sha256Fingerprint(blob []byte) string {
	sum := sha256.Sum256(blob)
	return base64.StdEncoding.EncodeToString(sum[:])
}

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	parts := make([]string, 0, len(b))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}
