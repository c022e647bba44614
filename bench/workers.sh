#!/usr/bin/env bash
# Applies one control plane machine and a MachineDeployment of N workers on
# a lab whose instances boot in B (simulated), and reports the apply's wall
# time against the critical path (a control plane machine boots, then the
# workers boot: 2 x B), the provider's peak RSS, and the AWS simulator's
# calls per machine. Each run destroys what it applied.
#
#   bench/workers.sh [runs] [workers] [boot-delay]   (after `make install lab`)
#   e.g. bench/workers.sh 3 100 10s
# PROVIDER=path/to/terraform-provider-capi benchmarks another build.
# TIMELINE=1 also prints when each hop of the apply happened
# (bench/timeline.py) and keeps TF_LOG=debug of the apply in bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3} workers=${2:-100} boot=${3:-10s}
root=$PWD
provider=${PROVIDER:-$root/bin/terraform-provider-capi}
work=$(mktemp -d)
lab="$work/lab"
trap 'bin/capi-lab down --dir "$lab" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

bin/capi-lab up --detach --dir "$lab" --boot-delay "$boot" >/dev/null
eval "$(bin/capi-lab env --dir "$lab")"

mkdir -p "$work/plugin"
cat >"$work/plugin/terraform-provider-capi" <<WRAP
#!/bin/sh
exec /usr/bin/time -f '%M' -a -o "$work/rss" "$provider" "\$@"
WRAP
chmod +x "$work/plugin/terraform-provider-capi"
printf 'provider_installation {\n  dev_overrides {\n    "terraform-capi/capi" = "%s"\n  }\n  direct {}\n}\n' "$work/plugin" >"$work/terraformrc"
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1

cat >"$work/main.tf" <<TF
terraform {
  required_providers {
    capi = { source = "terraform-capi/capi" }
  }
}
provider "capi" {}

resource "capi_cluster" "bench" {
  name = "bench"
  aws  = { region = "us-east-1" }
  control_plane = {
    version = "v1.36.0"
    machine = { instance_type = "t3.large" }
  }
  addons = { cni = { manifests = file("$root/examples/quickstart/cni.yaml") } }
}

resource "capi_machine_deployment" "workers" {
  cluster  = capi_cluster.bench.name
  name     = "bench-workers"
  replicas = $workers
  version  = "v1.36.0"
  aws      = { instance_type = "t3.medium" }
  timeouts {
    create = "60m"
  }
}
TF
cd "$work"

boot_ms=$(python3 -c "import re,sys; m=re.fullmatch(r'(\d+(?:\.\d+)?)(ms|s|m)', '$boot'); print(int(float(m[1])*{'ms':1,'s':1000,'m':60000}[m[2]]))")
calls() { curl -s "$AWS_ENDPOINT_URL/_lab/calls"; }
for i in $(seq "$runs"); do
  : >"$work/rss"
  before=$(calls)
  start=$(date +%s%N)
  if [ -n "${TIMELINE:-}" ]; then
    mkdir -p "$root/bench/out"
    export TF_LOG=debug TF_LOG_PATH="$root/bench/out/workers-apply-$i.log"
  fi
  terraform apply -auto-approve -input=false -no-color >"$work/apply.log" 2>&1 || { tail -30 "$work/apply.log"; exit 1; }
  applied=$(date +%s%N)
  unset TF_LOG TF_LOG_PATH
  if [ -n "${TIMELINE:-}" ]; then
    kubectl get clusters,awsclusters,kubeadmcontrolplanes,machinedeployments,machinesets,machines,kubeadmconfigs,awsmachines -A -o json >"$work/objects.json"
    python3 "$root/bench/timeline.py" $((start / 1000000)) "$work/objects.json"
  fi
  after=$(calls)
  rss=$(sort -n "$work/rss" | tail -1)
  grep -o '[a-z_.]*: Creation complete after [0-9ms]*' "$work/apply.log" | sed 's/^/  /' 
  terraform destroy -auto-approve -input=false -no-color >"$work/destroy.log" 2>&1 || { tail -30 "$work/destroy.log"; exit 1; }
  destroyed=$(date +%s%N)
  python3 - "$i" "$before" "$after" $(((applied - start) / 1000000)) $(((destroyed - applied) / 1000000)) "$boot_ms" "$workers" "$rss" <<'PY'
import json, sys
run, before, after, apply_ms, destroy_ms, boot_ms, workers, rss = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), *map(int, sys.argv[4:])
diff = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0) > 0}
machines = workers + 1
critical = 2 * boot_ms
total = sum(diff.values())
top = sorted(diff.items(), key=lambda kv: -kv[1])[:6]
print(f"run {run}: apply {apply_ms} ms = {apply_ms / critical:.2f} x critical path {critical} ms (2 x boot {boot_ms} ms), "
      f"destroy {destroy_ms} ms, provider peak RSS {rss // 1024} MB, "
      f"AWS calls {total} = {total / machines:.1f} per machine; top: " + ", ".join(f"{k} {v}" for k, v in top))
PY
done
