package cloud

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"io"
	"strings"
	"testing"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/bootstrapdata"
)

func TestChunkBootstrapDataRoundTrip(t *testing.T) {
	// Random bytes do not compress: three chunks.
	data := make([]byte, 2*SecretChunkSize+100)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	chunks, err := ChunkBootstrapData(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(chunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(chunks))
	}
	for i, c := range chunks {
		if len(c) > SecretChunkSize || len(c) == 0 {
			t.Errorf("chunk %d is %d bytes", i, len(c))
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(bytes.Join(chunks, nil)))
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(back, data) {
		t.Fatalf("reassembled %d bytes, err %v; want the %d bytes stored", len(back), err, len(data))
	}
}

// The user data is a MIME multipart document cloud-init takes: the
// boothook with the prefix, count and region it fetches, then the include
// of the file it writes; and no key material.
func TestBoothookUserData(t *testing.T) {
	prefix := SecretPrefix("3f2c0d9e-uid", "a1b2c3")
	ud, err := BoothookUserData(prefix, 2, "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ud) > UserDataLimit {
		t.Errorf("user data is %d bytes", len(ud))
	}
	parts, err := bootstrapdata.Parts(ud)
	if err != nil {
		t.Fatal(err)
	}
	var types, bodies []string
	for _, p := range parts {
		types, bodies = append(types, p.MediaType), append(bodies, p.Body)
	}
	if strings.Join(types, ",") != "text/cloud-boothook,text/x-include-url" {
		t.Fatalf("parts %v", types)
	}
	for _, want := range []string{`SECRET_PREFIX="aws.cluster.x-k8s.io/3f2c0d9e-uid-a1b2c3"`, `CHUNKS="2"`, `REGION="eu-west-1"`, "--force-delete-without-recovery", "#!/bin/bash"} {
		if !strings.Contains(bodies[0], want) {
			t.Errorf("boothook lacks %s:\n%s", want, bodies[0])
		}
	}
	if strings.TrimSpace(bodies[1]) != "file://"+BootstrapFile {
		t.Errorf("include part %q", bodies[1])
	}
	if bytes.Contains(ud, []byte("PRIVATE KEY")) {
		t.Error("user data holds a private key")
	}
}
