#!/bin/sh
# Installs Stoplight's Prism (the OpenAPI mock and validating proxy) into
# a cache directory, once, and prints the path of its binary.
#
#   PRISM_CACHE  where to install (default: ${XDG_CACHE_HOME:-$HOME/.cache}/capi-lab/prism)
#
# The DigitalOcean simulator's conformance test takes the path:
#   DOSIM_PRISM=$(lab/scripts/prism.sh) DOSIM_OPENAPI=.../DigitalOcean-public.v2.yaml \
#     go -C lab test ./internal/dosim -run OpenAPIConformance
set -eu

version=5.16.0
cache=${PRISM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capi-lab/prism}
dir=$cache/$version
bin=$dir/node_modules/.bin/prism

if [ ! -x "$bin" ]; then
	command -v npm >/dev/null || { echo "prism.sh: npm is needed to install Prism" >&2; exit 1; }
	mkdir -p "$dir"
	# npm's progress goes to stderr; only the path goes to stdout.
	npm install --prefix "$dir" --no-audit --no-fund --no-save "@stoplight/prism-cli@$version" >&2
fi
echo "$bin"
