#!/bin/sh
# Checks the DigitalOcean simulator against DigitalOcean's OpenAPI
# description: installs Prism if needed and runs the simulator's
# scenarios through its validating proxy, failing on any violation.
#
#   lab/scripts/do-conformance.sh PATH/TO/DigitalOcean-public.v2.yaml
#
# or with DOSIM_OPENAPI set. The description loads in about 20 s.
set -eu

spec=${1:-${DOSIM_OPENAPI:-}}
if [ -z "$spec" ] || [ ! -f "$spec" ]; then
	echo "usage: $0 PATH/TO/DigitalOcean-public.v2.yaml (or DOSIM_OPENAPI)" >&2
	exit 2
fi
lab=$(cd "$(dirname "$0")/.." && pwd)
spec=$(cd "$(dirname "$spec")" && pwd)/$(basename "$spec")
prism=$("$lab/scripts/prism.sh")
cd "$lab"
DOSIM_PRISM=$prism DOSIM_OPENAPI=$spec exec go test -count=1 -v -run 'TestOpenAPIConformance' ./internal/dosim/
