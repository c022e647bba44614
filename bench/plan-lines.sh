#!/usr/bin/env bash
# Counts the lines of `terraform plan` for one-attribute changes of
# examples/quickstart on the lab, for two provider binaries side by side
# on the same state (applied once, with the second binary): how much of a
# plan is the change and how much is noise.
#
#   bench/plan-lines.sh OLD_PROVIDER [NEW_PROVIDER]
#     (after `make install lab`; NEW_PROVIDER defaults to bin/terraform-provider-capi)
set -euo pipefail
cd "$(dirname "$0")/.."
old=$(realpath "$1")
new=$(realpath "${2:-bin/terraform-provider-capi}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bin/capi-lab up --detach --dir .lab >/dev/null
eval "$(bin/capi-lab env --dir .lab)"
export TF_IN_AUTOMATION=1

# One dev_overrides configuration per binary.
for which in old new; do
	mkdir -p "$work/$which"
	ln -s "${!which}" "$work/$which/terraform-provider-capi"
	printf 'provider_installation {\n  dev_overrides {\n    "terraform-capi/capi" = "%s"\n  }\n  direct {}\n}\n' "$work/$which" >"$work/$which.tfrc"
done
mkdir -p "$work/config/modules"
cp examples/quickstart/*.tf examples/quickstart/*.yaml "$work/config/"
cp -r examples/modules/aws-cluster "$work/config/modules/"
sed -i 's#"../modules/aws-cluster"#"./modules/aws-cluster"#' "$work/config/main.tf"
cd "$work/config"

# dev_overrides need no provider installation: get installs the module.
TF_CLI_CONFIG_FILE="$work/new.tfrc" terraform get >/dev/null
TF_CLI_CONFIG_FILE="$work/new.tfrc" terraform apply -input=false -auto-approve >/dev/null

printf '%-34s %8s %8s\n' change old new
for change in "-var kubernetes_version=v1.36.3" "-var workers=4"; do
	counts=()
	for which in old new; do
		# shellcheck disable=SC2086
		counts+=("$(TF_CLI_CONFIG_FILE="$work/$which.tfrc" terraform plan -input=false -no-color -refresh=true $change 2>/dev/null | wc -l)")
	done
	printf '%-34s %8s %8s\n' "$change" "${counts[0]}" "${counts[1]}"
done

TF_CLI_CONFIG_FILE="$work/new.tfrc" terraform destroy -input=false -auto-approve >/dev/null
