#!/usr/bin/env bash
# The in-cluster manager under load: N clusters of 1 control plane machine
# and W workers each, applied at once (-parallelism=10) with
# reconcile = "in_cluster" on a lab that runs bin/capi-manager, so that the
# manager alone reconciles them. Reports per run:
#   - the apply's wall time;
#   - the manager's peak and settled resident memory
#     (process_resident_memory_bytes) and Go heap in use;
#   - its reconcile backlog: the peak and settled sum of workqueue_depth
#     over its controllers, and the longest time an item waited in a queue
#     (workqueue_queue_duration_seconds, p50/p99 over the run);
#   - reconciles and reconcile errors (controller_runtime_reconcile_*);
#   - the time from a worker's instance terminated with EC2 to the Ready
#     node of its replacement, made by the manager's MachineHealthCheck
#     with no Terraform command.
# Each run destroys what it applied.
#
#   bench/manager.sh [runs] [clusters] [workers] [boot-delay]
#                    (after `make install lab manager`; kubectl on PATH or bin/kubectl)
#   e.g. bench/manager.sh 3 10 2 2s
# UNHEALTHY_TIMEOUT (default 30s) is the deployments' health check
# unhealthy_timeout: a terminated instance's node turns unreachable after
# the lab's node monitor grace period (5 s), and its machine is remediated
# that much later.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1} clusters=${2:-10} workers=${3:-2} boot=${4:-2s}
unhealthy=${UNHEALTHY_TIMEOUT:-30s}
root=$PWD
kubectl=$(command -v kubectl || echo "$root/bin/kubectl")
work=$(mktemp -d)
lab="$work/lab"
trap 'kill $(jobs -p) 2>/dev/null || true; bin/capi-lab down --dir "$lab" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

bin/capi-lab up --detach --dir "$lab" --boot-delay "$boot" --manager "$root/bin/capi-manager" >/dev/null
eval "$(bin/capi-lab env --dir "$lab")"
# An in_cluster apply needs the manager to lead.
for _ in $(seq 120); do
  curl -s "$CAPI_MANAGER_METRICS_URL" 2>/dev/null | grep -q '^leader_election_master_status{.*} 1' && break
  sleep 0.5
done
printf 'provider_installation {\n  dev_overrides {\n    "terraform-capi/capi" = "%s"\n  }\n  direct {}\n}\n' "$root/bin" >"$work/terraformrc"
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1

cat >"$work/main.tf" <<TF
terraform {
  required_providers {
    capi = { source = "terraform-capi/capi" }
  }
}
provider "capi" {
  reconcile = "in_cluster"
}

resource "capi_cluster" "bench" {
  for_each = toset([for i in range($clusters) : format("bench-%02d", i)])
  name     = each.key
  aws      = { region = "us-east-1" }
  control_plane = {
    version = "v1.36.0"
    machine = { instance_type = "t3.large" }
  }
  addons = { cni = { manifests = file("$root/examples/quickstart/cni.yaml") } }
}

resource "capi_machine_deployment" "workers" {
  for_each = capi_cluster.bench
  cluster  = each.value.name
  name     = "\${each.key}-workers"
  replicas = $workers
  version  = "v1.36.0"
  aws      = { instance_type = "t3.medium" }
  health_check = {
    unhealthy_timeout = "$unhealthy"
  }
}
TF
cd "$work"

# One line of metrics a second: resident bytes, heap bytes, queue depth.
sample() {
  while :; do
    curl -s --max-time 1 "$CAPI_MANAGER_METRICS_URL" | awk -v t="$(date +%s%N)" '
      /^process_resident_memory_bytes / {rss=$2}
      /^go_memstats_heap_inuse_bytes / {heap=$2}
      /^workqueue_depth\{/ {depth+=$2}
      END {if (rss) printf "%s %d %d %d\n", t, rss, heap, depth}' >>"$1" || true
    sleep 1
  done
}
metrics() { curl -s "$CAPI_MANAGER_METRICS_URL"; }

# Seconds from now until a Ready node replaces the terminated instance's
# machine of deployment $1 (its $2 workers all Ready, none on instance $3).
replaced() {
  local began=$1 md=$2 want=$3 gone=$4
  while :; do
    "$kubectl" get machines -n default -l "cluster.x-k8s.io/deployment-name=$md" -o json | python3 -c '
import json, sys
want, gone = int(sys.argv[1]), sys.argv[2]
ms = json.load(sys.stdin)["items"]
ready = [m for m in ms if not m["metadata"].get("deletionTimestamp")
         and not m["spec"].get("providerID", "").endswith("/" + gone)
         and any(c["type"] == "NodeHealthy" and c["status"] == "True" for c in m.get("status", {}).get("conditions", []))]
sys.exit(0 if len(ready) == want else 1)' "$want" "$gone" && break
    sleep 0.5
  done
  echo $(( ($(date +%s%N) - began) / 1000000 ))
}

for i in $(seq "$runs"); do
  : >"$work/samples"
  sample "$work/samples" &
  sampler=$!
  before=$(metrics)
  start=$(date +%s%N)
  terraform apply -auto-approve -input=false -no-color -parallelism=10 >"$work/apply.log" 2>&1 || { tail -30 "$work/apply.log"; exit 1; }
  applied=$(date +%s%N)
  # Settled: a sync period's quiet is not needed, 20 s of no change is.
  sleep 20
  settled=$(metrics)

  md=bench-00-workers
  instance=$("$kubectl" get machines -n default -l "cluster.x-k8s.io/deployment-name=$md" -o jsonpath='{.items[0].spec.providerID}')
  instance=${instance##*/}
  began=$(date +%s%N)
  curl -s -d "Action=TerminateInstances&Version=2016-11-15&InstanceId.1=$instance" "$AWS_ENDPOINT_URL/" >/dev/null
  replace_ms=$(replaced "$began" "$md" "$workers" "$instance")
  kill "$sampler"; wait "$sampler" 2>/dev/null || true
  after=$(metrics)

  terraform destroy -auto-approve -input=false -no-color -parallelism=10 >"$work/destroy.log" 2>&1 || { tail -30 "$work/destroy.log"; exit 1; }
  python3 - "$i" "$clusters" "$workers" $(((applied - start) / 1000000)) "$replace_ms" "$work/samples" "$unhealthy" <<PY
import sys
run, clusters, workers, apply_ms, replace_ms, samples, unhealthy = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6], sys.argv[7]
before, settled, after = """$before""", """$settled""", """$after"""

def series(text, name):
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out

def total(text, name):
    return sum(series(text, name).values())

def quantile(name, q):
    # A histogram's buckets summed over controllers, this run only.
    buckets = {}
    for text, sign in ((after, 1), (before, -1)):
        for key, v in series(text, name + "_bucket").items():
            le = key.split('le="')[1].split('"')[0]
            buckets[le] = buckets.get(le, 0) + sign * v
    bounds = sorted(((float(le), n) for le, n in buckets.items()), key=lambda b: b[0])
    count = bounds[-1][1] if bounds else 0
    for le, n in bounds:
        if count and n >= q * count:
            return le
    return float("nan")

def seconds(s):
    return f"<= {s * 1000:g} ms" if s < 1 else f"<= {s:g} s"

def errors_by_controller():
    per = {}
    for text, sign in ((after, 1), (before, -1)):
        for key, v in series(text, "controller_runtime_reconcile_errors_total").items():
            c = key.split('controller="')[1].split('"')[0]
            per[c] = per.get(c, 0) + sign * v
    top = sorted(((n, c) for c, n in per.items() if n > 0), reverse=True)[:4]
    return ", ".join(f"{c} {n:.0f}" for n, c in top)

rows = [list(map(int, l.split())) for l in open(samples) if l.strip()]
peak_rss = max(r[1] for r in rows) / 2**20
peak_heap = max(r[2] for r in rows) / 2**20
peak_depth = max(r[3] for r in rows)
mb = 2**20
print(f"run {run}: {clusters} clusters x (1 + {workers}) machines: apply {apply_ms / 1000:.1f} s; "
      f"manager RSS peak {peak_rss:.0f} MiB, settled {total(settled, 'process_resident_memory_bytes') / mb:.0f} MiB "
      f"(heap peak {peak_heap:.0f} MiB); queue depth peak {peak_depth}, settled {total(settled, 'workqueue_depth'):.0f}; "
      f"queue wait p50 {seconds(quantile('workqueue_queue_duration_seconds', .5))}, p99 {seconds(quantile('workqueue_queue_duration_seconds', .99))}; "
      f"reconciles {total(after, 'controller_runtime_reconcile_total') - total(before, 'controller_runtime_reconcile_total'):.0f}, "
      f"errors {total(after, 'controller_runtime_reconcile_errors_total') - total(before, 'controller_runtime_reconcile_errors_total'):.0f} ({errors_by_controller()}); "
      f"terminated worker replaced, its node Ready, in {replace_ms / 1000:.1f} s (unhealthy_timeout {unhealthy})")
PY
done
