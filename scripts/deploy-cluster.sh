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
# deploy-rs comes from the flake (pinned); set DEPLOY to another command to use that instead, e.g. DEPLOY=deploy.
set -euo pipefail

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

if [ -n "${DEPLOY:-}" ]; then
  read -r -a deploy <<<"$DEPLOY"
else
  deploy=(nix run ./nixos#deploy-rs --)
fi

echo "deploying cluster $cluster: ${hosts[*]}" >&2
exec "${deploy[@]}" --targets "${targets[@]}" "$@"
