package cloud

import (
	"bytes"
	"strings"
	"testing"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/bootstrapdata"
)

// The user data is the boothook with both URLs quoted as the shell takes
// them (presigned URLs hold & and %), then the include of the file it
// writes; and no key material.
func TestBoothookUserData(t *testing.T) {
	get := "https://nyc3.digitaloceanspaces.com/capi-bootstrap-u/m/a.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=K%2F20261203%2Fnyc3%2Fs3%2Faws4_request"
	del := get + "&x-id=DeleteObject"
	ud, err := BoothookUserData(get, del)
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
	if len(parts) != 2 || parts[0].MediaType != "text/cloud-boothook" || parts[1].MediaType != "text/x-include-url" {
		t.Fatalf("parts %+v", parts)
	}
	for _, want := range []string{"BOOTSTRAP_DATA_URL='" + get + "'\n", "BOOTSTRAP_DATA_DELETE_URL='" + del + "'\n",
		`FILE="` + bootstrapdata.File + `"`, `curl -fsS --retry 10`, `-X DELETE "$BOOTSTRAP_DATA_DELETE_URL"`, "#!/bin/bash"} {
		if !strings.Contains(parts[0].Body, want) {
			t.Errorf("boothook lacks %s:\n%s", want, parts[0].Body)
		}
	}
	if bytes.Contains(ud, []byte("PRIVATE KEY")) {
		t.Error("user data holds a private key")
	}
}

// A URL the script could not quote is refused, not written.
func TestBoothookUserDataRefusesUnquotableURL(t *testing.T) {
	if _, err := BoothookUserData("https://x/'; rm -rf /; '", "https://x/d"); err == nil {
		t.Fatal("a URL with a single quote was accepted")
	}
}

func TestBootstrapNames(t *testing.T) {
	bucket := BootstrapBucket("0f8e6c1a-3b2d-4c5e-9f7a-1b2c3d4e5f60")
	if len(bucket) > 63 || strings.ToLower(bucket) != bucket {
		t.Errorf("bucket %q is no Spaces bucket name", bucket)
	}
	key := BootstrapObjectKey("uid-1", "abc123")
	if !strings.HasPrefix(key, MachineBootstrapPrefix("uid-1")) || strings.HasPrefix(key, MachineBootstrapPrefix("uid-12")) {
		t.Errorf("key %q and prefixes", key)
	}
	if !HasSpaces("nyc3") || HasSpaces("nyc1") {
		t.Error("HasSpaces")
	}
}
