#!/usr/bin/env bash
# Deploys the NixOS configuration of ONE cluster with deploy-rs: every host of nixos/clusters/<cluster>, in plan
# order (load balancers, etcd, control plane, workers), or only the hosts named. Hosts of other clusters are
# never selected: each target is one deploy-rs node, "<cluster>-<host>".
#
#   scripts/deploy-cluster.sh <cluster> [<host>...] [-- <deploy-rs options>]
#
# Examples:
#   scripts/deploy-cluster.sh local
#   scripts/deploy-cluster.sh local worker-3 -- --dry-activate
#
# Only this cluster is evaluated and built: deploy-rs' own pre-deploy check (`nix flake check`, once per target)
# would evaluate every cluster's hosts and build every cluster's deploy checks, so the script runs deploy-rs with
# --skip-checks after building just this cluster's checks (checks.x86_64-linux.<cluster>-deploy-schema and
# <cluster>-deploy-activate: the deploy-rs schema of its nodes and their activation profiles). Passing
# --skip-checks yourself (after --) skips that build too.
#
# deploy-rs comes from the flake (pinned); set DEPLOY to another command to use that instead, e.g. DEPLOY=deploy.
set -euo pipefail
# No calls to the HashiCorp checkpoint service from the tools started here (they fail offline, noisily).
export CHECKPOINT_DISABLE="${CHECKPOINT_DISABLE:-1}"

usage() {
  echo "usage: $0 <cluster> [<host>...] [-- <deploy-rs options>]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
cluster=$1
shift

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
index="nixos/clusters/$cluster/default.nix"
if [ ! -f "$index" ]; then
  echo "$0: no generated files for cluster \"$cluster\" ($index): run \`CLUSTER_CONFIG=clusters/$cluster.yaml npx cdktf synth\`" >&2
  exit 1
fi

hosts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  hosts+=("$1")
  shift
done
[ $# -gt 0 ] && shift # the "--"

mapfile -t planned < <(nix-instantiate --eval --strict --json -A hosts "$index" | jq -r '.[]')
if [ ${#hosts[@]} -eq 0 ]; then
  hosts=("${planned[@]}")
fi

targets=()
for host in "${hosts[@]}"; do
  found=0
  for p in "${planned[@]}"; do
    if [ "$p" = "$host" ]; then found=1; fi
  done
  if [ "$found" -ne 1 ]; then
    echo "$0: cluster $cluster has no host \"$host\" (hosts: ${planned[*]})" >&2
    exit 1
  fi
  targets+=("./nixos#$cluster-$host")
done

# A GCP cluster's deploy addresses exist only once the apply-time outputs are saved; without them the flake has
# no checks for the cluster and every node's address is an evaluation error.
outputs=$(nix-instantiate --eval --strict --json -A outputs "$index")
if [ "$(jq -r '.required' <<<"$outputs")" = true ] && [ ! -f "nixos/clusters/$cluster/$(jq -r '.file' <<<"$outputs")" ]; then
  echo "$0: nixos/clusters/$cluster/$(jq -r '.file' <<<"$outputs") is missing, so deploy-rs does not know where to connect: after \`cdktf deploy\`, run \`$(jq -r '.command' <<<"$outputs")\`" >&2
  exit 1
fi

skip_checks=0
for option in "$@"; do
  [ "$option" != "--" ] || break # what follows is deploy-rs' extra nix arguments
  case $option in
  -s | --skip-checks) skip_checks=1 ;;
  esac
done

if [ "$skip_checks" -eq 0 ]; then
  echo "checking cluster $cluster: deploy-rs schema and activation profiles of its nodes" >&2
  nix build --no-link \
    "./nixos#checks.x86_64-linux.$cluster-deploy-schema" \
    "./nixos#checks.x86_64-linux.$cluster-deploy-activate"
fi

if [ -n "${DEPLOY:-}" ]; then
  read -r -a deploy <<<"$DEPLOY"
else
  deploy=(nix run ./nixos#deploy-rs --)
fi

# Checked above (or skipped by the caller's own --skip-checks, passed on with the other options).
skip=(--skip-checks)
[ "$skip_checks" -eq 0 ] || skip=()

echo "deploying cluster $cluster: ${hosts[*]}" >&2
exec "${deploy[@]}" "${skip[@]}" --targets "${targets[@]}" "$@"
