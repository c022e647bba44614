#!/usr/bin/env bash
# Measures one `terraform apply` and `destroy` of examples/quickstart on the
# lab: wall time, the provider process's peak RSS (GNU time's maximum
# resident set size), and the AWS simulator's calls per action.
#
#   bench/apply-rss.sh [runs]     (after `make install lab`; starts the lab if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
root=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bin/capi-lab up --detach --dir .lab >/dev/null
eval "$(bin/capi-lab env --dir .lab)"

# dev_overrides run a wrapper that records the provider's peak RSS; the
# wrapper keeps stdin/stdout for the plugin handshake.
mkdir -p "$work/plugin"
cat >"$work/plugin/terraform-provider-capi" <<WRAP
#!/bin/sh
exec /usr/bin/time -f '%M' -a -o "$work/rss" "$root/bin/terraform-provider-capi" "\$@"
WRAP
chmod +x "$work/plugin/terraform-provider-capi"
printf 'provider_installation {\n  dev_overrides {\n    "terraform-capi/capi" = "%s"\n  }\n  direct {}\n}\n' "$work/plugin" >"$work/terraformrc"
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1
cp examples/quickstart/*.tf examples/quickstart/*.yaml "$work/"
cd "$work"

calls() { curl -s "$AWS_ENDPOINT_URL/_lab/calls"; }
for i in $(seq "$runs"); do
  : >"$work/rss"
  before=$(calls)
  start=$(date +%s%N)
  terraform apply -auto-approve -input=false >/dev/null 2>&1
  applied=$(date +%s%N)
  after=$(calls)
  apply_rss=$(sort -n "$work/rss" | tail -1)
  : >"$work/rss"
  terraform destroy -auto-approve -input=false >/dev/null 2>&1
  destroyed=$(date +%s%N)
  destroy_rss=$(sort -n "$work/rss" | tail -1)
  printf 'run %d: apply %d ms (provider peak RSS %d MB), destroy %d ms (peak RSS %d MB)\n' "$i" \
    $(((applied - start) / 1000000)) $((apply_rss / 1024)) $(((destroyed - applied) / 1000000)) $((destroy_rss / 1024))
  if [ "$i" = 1 ]; then
    python3 - "$before" "$after" <<'PY'
import json, sys
before, after = json.loads(sys.argv[1]), json.loads(sys.argv[2])
diff = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}
print("  AWS calls during apply:", sum(diff.values()), json.dumps(dict(sorted(diff.items()))))
PY
  fi
done
