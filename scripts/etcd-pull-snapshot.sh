#!/usr/bin/env bash
# Copies the newest etcd snapshot of a cluster off its members, to the machine running this (libvirt clusters
# have no bucket; on GCP the timer can upload instead, see docs/day-2.md):
#
#   scripts/etcd-pull-snapshot.sh <cluster> [<member>]
#
# From <member>, or else from the first member that answers, it takes the newest complete snapshot of the
# backup directory (ETCD_BACKUP_DIR, default /var/backups/etcd, written by the etcd-backup timer), copies it
# to secrets/<cluster>/etcd-snapshots/ (0700; the file 0600: a snapshot holds every Kubernetes object), checks
# its sha256 against the member's, and its status with etcdutl/etcdctl when installed here. Prints the path.
# Run it from cron or a systemd timer on the operator's machine to keep copies off the hosts.
set -euo pipefail

me=scripts/etcd-pull-snapshot.sh
[ $# -ge 1 ] && [ $# -le 2 ] || {
  echo "usage: $me <cluster> [<member>]" >&2
  exit 2
}
cluster=$1
backup_dir=${ETCD_BACKUP_DIR:-/var/backups/etcd}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/cluster-hosts.sh
. scripts/lib/cluster-hosts.sh
cluster_hosts_load "$cluster"

mapfile -t members < <(jq -r '.[] | select(.host.runsEtcd) | .host.name' <<<"$hosts_json")
if [ $# -eq 2 ]; then
  printf '%s\n' "${members[@]}" | grep -qxF -- "$2" || {
    echo "$me: $2 is not an etcd member of cluster $cluster (members: ${members[*]})" >&2
    exit 1
  }
  members=("$2")
fi

dest="secrets/$cluster/etcd-snapshots"
(umask 077 && mkdir -p "$dest")
chmod 0700 "$dest"

for member in "${members[@]}"; do
  # The newest complete snapshot: <member>-<time>.db (partial files start with a dot).
  if ! newest=$(on_host_root "$member" "ls '$backup_dir' | grep -E '^$member-[0-9]{8}T[0-9]{6}Z\\.db\$' | sort | tail -n 1" </dev/null) || [ -z "$newest" ]; then
    echo "$me: no snapshot from $member (unreachable, or nothing in $backup_dir yet)" >&2
    continue
  fi
  remote_sum=$(on_host_root "$member" "sha256sum '$backup_dir/$newest'" </dev/null | cut -d' ' -f1)
  (umask 077 && on_host_root "$member" "cat '$backup_dir/$newest'" </dev/null >"$dest/$newest.partial")
  local_sum=$(sha256sum "$dest/$newest.partial" | cut -d' ' -f1)
  if [ "$local_sum" != "$remote_sum" ]; then
    rm -f "$dest/$newest.partial"
    echo "$me: the copy of $newest from $member does not match its sha256 ($remote_sum); not kept" >&2
    continue
  fi
  if command -v etcdutl >/dev/null 2>&1; then
    etcdutl snapshot status --write-out=table "$dest/$newest.partial" >&2
  elif command -v etcdctl >/dev/null 2>&1; then
    ETCDCTL_API=3 etcdctl snapshot status --write-out=table "$dest/$newest.partial" >&2
  fi
  mv "$dest/$newest.partial" "$dest/$newest"
  echo "$dest/$newest"
  exit 0
done
echo "$me: no snapshot could be copied from ${members[*]}" >&2
exit 1
