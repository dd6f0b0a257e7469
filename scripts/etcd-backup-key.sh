#!/usr/bin/env bash
# Places the etcd snapshot uploader's key on every etcd member of a GCP cluster whose description names a
# backup bucket (backup.bucket):
#
#   scripts/etcd-backup-key.sh <cluster>
#
# Run it after `cdktf deploy compute` has created the uploader (its service account may only create objects in
# that bucket) and whenever the key is replaced. It reads the compute stack's sensitive output
# etcd_backup_writer_key (`terraform output -raw` in cdktf.out/stacks/compute, which must hold this cluster's
# synthesis; TERRAFORM_BINARY_NAME=tofu for OpenTofu) and pipes it, decoded, straight to
# /var/lib/etcd-backup/writer-key.json (0600 root) on each member over SSH: it is never written here or printed.
# Nothing restarts: the next run of the etcd-backup timer uploads.
set -euo pipefail

me=scripts/etcd-backup-key.sh
[ $# -eq 1 ] || {
  echo "usage: $me <cluster>" >&2
  exit 2
}
cluster=$1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/cluster-hosts.sh
. scripts/lib/cluster-hosts.sh
cluster_hosts_load "$cluster"

stack=cdktf.out/stacks/compute
synth="CLUSTER_CONFIG=$(jq -r 'first(.[]) | .cluster.sourceFile' <<<"$hosts_json") npx cdktf synth"
[ -f "$stack/cdk.tf.json" ] || { echo "$me: $stack/cdk.tf.json does not exist: run \`$synth\` (and \`cdktf deploy compute\`) first" >&2; exit 1; }
# The synthesized compute stack must be this cluster's (its state location names the cluster).
location=$(jq -r '.terraform.backend | (.local.path // .gcs.prefix // "")' "$stack/cdk.tf.json")
case $location in
*/"$cluster"/compute.tfstate | */"$cluster"/compute) ;;
*) echo "$me: cdktf.out holds another cluster's synthesis (compute state at $location): run \`$synth\` first" >&2; exit 1 ;;
esac
if [ "$(jq -r '.output.etcd_backup_writer_key // empty | "yes"' "$stack/cdk.tf.json")" != yes ]; then
  echo "$me: cluster $cluster has no backup uploader: set backup.bucket in its description (GCP only), synthesize and \`cdktf deploy compute\`" >&2
  exit 1
fi

terraform=${TERRAFORM_BINARY_NAME:-terraform}
key_file=$(jq -r 'first(.[] | .backup // empty | .gcs // empty | .keyFile)' <<<"$hosts_json")
[ -n "$key_file" ] || { echo "$me: the host files of $cluster name no backup bucket: synthesize again" >&2; exit 1; }
mapfile -t members < <(jq -r '.[] | select(.host.runsEtcd) | .host.name' <<<"$hosts_json")
[ -d "$stack/.terraform" ] || (cd "$stack" && "$terraform" init -input=false >/dev/null)

for member in "${members[@]}"; do
  # shellcheck disable=SC2016 # expanded on the member
  (cd "$stack" && "$terraform" output -raw etcd_backup_writer_key) | base64 -d |
    on_host_root "$member" "umask 077 && mkdir -p '$(dirname "$key_file")' && cat >'$key_file.new' && mv '$key_file.new' '$key_file' && chmod 0600 '$key_file'" ||
    { echo "$me: could not place the key on $member" >&2; exit 1; }
  echo "placed the backup uploader's key on $member ($key_file)" >&2
done
