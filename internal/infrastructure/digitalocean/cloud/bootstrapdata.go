package cloud

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/terraform-capi/terraform-provider-capi/internal/infrastructure/bootstrapdata"
)

// fetchScript is the droplet's boothook. cloud-init runs boothooks on
// every boot, before it reads the rest of the user data: the first boot
// fetches the object, deletes it (whatever happened, so that it does not
// outlive the boot), writes the data for root alone, and restarts
// cloud-init, which then takes the data through the include part. Later
// boots find the file. The URLs need no credential and expire
// (PresignedURLLifetime); once the object is deleted they yield nothing.
var fetchScript = template.Must(template.New("fetch").Parse(`#!/bin/bash
# Fetches this droplet's bootstrap data from DigitalOcean Spaces through a
# presigned URL, deletes it there, and hands it to cloud-init.
set -o nounset -o pipefail
umask 077
BOOTSTRAP_DATA_URL='{{.Get}}'
BOOTSTRAP_DATA_DELETE_URL='{{.Delete}}'
FILE="{{.File}}"

if [ -s "$FILE" ]; then
  exit 0
fi

rm -f "${FILE}.gz"
curl -fsS --retry 10 --retry-connrefused --retry-delay 3 -o "${FILE}.gz" "$BOOTSTRAP_DATA_URL"
fetched=$?
curl -fsS --retry 5 --retry-connrefused -X DELETE "$BOOTSTRAP_DATA_DELETE_URL" >/dev/null 2>&1 || true
if [ "$fetched" -ne 0 ]; then
  echo "cannot fetch the bootstrap data from Spaces" >&2
  rm -f "${FILE}.gz"
  exit 1
fi
gunzip -f "${FILE}.gz"
systemctl restart cloud-init
`))

// BoothookUserData is the user data of a droplet whose bootstrap data
// the presigned URLs get and delete (see bootstrapdata.UserData).
func BoothookUserData(getURL, deleteURL string) ([]byte, error) {
	for _, u := range []string{getURL, deleteURL} {
		// The script quotes them in single quotes; presigned URLs are
		// percent-encoded and hold none.
		if strings.ContainsAny(u, "'\n") {
			return nil, fmt.Errorf("presigned URL %q cannot be quoted in the boothook", u)
		}
	}
	var script bytes.Buffer
	if err := fetchScript.Execute(&script, map[string]string{"Get": getURL, "Delete": deleteURL, "File": bootstrapdata.File}); err != nil {
		return nil, err
	}
	return bootstrapdata.UserData(script.String())
}
