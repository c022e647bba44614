package bootstrapdata

import (
	"bytes"
	"compress/gzip"
	"io"
	"testing"
)

// The document is the boothook, then the include of the file it writes,
// as cloud-init reads a MIME multipart user data.
func TestUserDataParts(t *testing.T) {
	ud, err := UserData("#!/bin/bash\necho fetch\n")
	if err != nil {
		t.Fatal(err)
	}
	parts, err := Parts(ud)
	if err != nil {
		t.Fatal(err)
	}
	want := []Part{{"text/cloud-boothook", "#!/bin/bash\necho fetch\n"}, {"text/x-include-url", "file://" + File + "\n"}}
	if len(parts) != len(want) {
		t.Fatalf("parts %v, want %v", parts, want)
	}
	for i := range want {
		if parts[i] != want[i] {
			t.Errorf("part %d = %+v, want %+v", i, parts[i], want[i])
		}
	}
}

func TestGzipRoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte("-----BEGIN RSA PRIVATE KEY-----\n"), 100)
	gz, err := Gzip(data)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(out, data) {
		t.Fatalf("round trip: %v, equal %v", err, bytes.Equal(out, data))
	}
}
