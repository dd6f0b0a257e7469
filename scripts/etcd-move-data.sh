#!/usr/bin/env bash
# Moves the data of existing etcd members from the root disk onto their own data disks, ONE member at a time:
# for each member named, in order, it
#   1. checks that every member is healthy (scripts/lib/health.sh etcd-cluster), else stops before touching it;
#   2. on the member: formats the data disk only if it is blank, stops etcd, copies the data directory onto the
#      disk, keeps the old directory as /var/lib/etcd.pre-disk, mounts the disk at /var/lib/etcd, starts etcd;
#   3. waits until the member and the cluster are healthy again;
#   4. deploys the member's new NixOS configuration (the mount and its guards) with scripts/deploy-cluster.sh and
#      waits for health once more, before the next member.
# It stops at the first member that does not become healthy, says which, and leaves the others untouched.
#
#   scripts/etcd-move-data.sh <cluster> <member> [<member>...]
#
# Before: synthesize with the member named (ALLOW_DISRUPTION=<member>, so its host file gets the data disk) and
# `cdktf deploy compute pki` (GCP: the disk is attached to the running instance; libvirt: the domain is
# replaced with its data volume, the root volume is kept). See docs/day-2.md#data-disks-and-migration.
# Run again for a member that was already moved: it finds the disk mounted and only redeploys and checks it.
#
# Needs ssh, jq and nix-instantiate here; the hosts have util-linux and e2fsprogs (NixOS base). HEALTH_TIMEOUT
# (default 300; TIMEOUT, its older name, still works) bounds each health wait, in seconds, here and in the deploy
# it runs; HEALTH_INTERVAL (default 5) spaces the attempts. DEPLOY_SCRIPT overrides scripts/deploy-cluster.sh
# (tests).
set -euo pipefail

usage() {
  echo "usage: $0 <cluster> <member> [<member>...]" >&2
  exit 2
}
[ $# -ge 2 ] || usage
cluster=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
me=etcd-move-data
# TIMEOUT is this script's older name for it; the deploy it runs waits as long.
health_timeout=${HEALTH_TIMEOUT:-${TIMEOUT:-300}}
export HEALTH_TIMEOUT=$health_timeout
deploy_script=${DEPLOY_SCRIPT:-$root/scripts/deploy-cluster.sh}

fail() {
  echo "etcd-move-data: $*" >&2
  exit 1
}
# Host files, SSH destinations (verified against secrets/<cluster>/known_hosts when it exists) and health checks:
# the operator scripts' one view of a cluster.
# shellcheck source=lib/cluster-hosts.sh
. scripts/lib/cluster-hosts.sh
cluster_hosts_load "$cluster"
member_urls=$(etcd_member_urls | tr '\n' ' ')

wait_healthy() {
  local name=$1
  # Progress goes to stdout here, in this script's words (health_wait's own lines are for the rollout's log).
  { health_wait "$name" etcd-member && health_wait "$name" etcd-cluster $member_urls; } 2>/dev/null ||
    fail "$name did not become healthy within ${health_timeout}s ($health_answer); stopping here. Members after it were not touched; its old data is in /var/lib/etcd.pre-disk on its root disk (docs/day-2.md#data-disks-and-migration)"
  echo "etcd-move-data: $name: $health_answer"
}

# Runs on the member (as root): format if blank, stop, copy, mount, start. Idempotent.
remote_move() {
  cat <<'EOF'
set -eu
dev=$1 label=$2 dir=/var/lib/etcd staging=/run/etcd-data-move
if mountpoint -q "$dir"; then
  [ "$(readlink -f "$(findmnt -n -o SOURCE --target "$dir")")" = "$(readlink -f "$dev")" ] || { echo "$dir is mounted from another device" >&2; exit 1; }
  echo "already on the data disk"; exit 0
fi
[ -e "$dev" ] || { echo "the data disk $dev is not attached: cdktf deploy compute first" >&2; exit 1; }
[ -d "$dir/member" ] || { echo "$dir holds no etcd data (no member/ directory); nothing to move" >&2; exit 1; }
rc=0; blkid -p "$dev" >/dev/null 2>&1 || rc=$?
if [ "$rc" = 2 ]; then
  cmp -s -n 1048576 "$dev" /dev/zero || { echo "$dev is not blank but has no signature; refusing to format it" >&2; exit 1; }
  mkfs.ext4 -q -L "$label" -m 0 "$dev"
elif [ "$rc" != 0 ]; then
  echo "blkid -p $dev failed ($rc)" >&2; exit 1
fi
mkdir -p "$staging"
mount "$dev" "$staging"
if [ -n "$(ls -A "$staging" | grep -v '^lost+found$' || true)" ]; then
  umount "$staging"; echo "$dev already holds files; refusing to copy over them (inspect it by hand)" >&2; exit 1
fi
systemctl stop etcd
# From here on, a failure restarts etcd on its untouched root-disk data.
trap 'umount "$staging" 2>/dev/null || true; systemctl start etcd' EXIT
cp -a "$dir/." "$staging/"
sync
[ -d "$staging/member" ] || { echo "the copy has no member/ directory" >&2; exit 1; }
umount "$staging"
mv "$dir" "$dir.pre-disk"
mkdir -m 0700 "$dir"
trap 'rmdir "$dir" 2>/dev/null && mv "$dir.pre-disk" "$dir"; systemctl start etcd' EXIT
mount "$dev" "$dir"
chown etcd:etcd "$dir"
chmod 0700 "$dir"
trap - EXIT
systemctl start etcd
echo "moved: $dir is on $dev; the old copy is $dir.pre-disk"
EOF
}

for name in "$@"; do
  host_json=$(jq -c --arg name "$name" 'map(select(.host.name == $name)) | first' <<<"$hosts_json")
  [ "$host_json" != null ] || fail "cluster $cluster has no host \"$name\""
  [ "$(jq -r .host.runsEtcd <<<"$host_json")" = true ] || fail "$name runs no etcd member"
  device=$(jq -r '.etcd.dataDisk.device // empty' <<<"$host_json")
  [ -n "$device" ] || fail "$name has no data disk in its host file: synthesize with ALLOW_DISRUPTION=$name, then cdktf deploy compute pki (docs/day-2.md#data-disks-and-migration)"
  label=$(jq -r .etcd.dataDisk.label <<<"$host_json")

  echo "etcd-move-data: $name: checking that every member is healthy first"
  out=$(health_on_host "$name" etcd-cluster $member_urls) || fail "the cluster is not healthy before moving $name ($out); nothing was changed"
  echo "etcd-move-data: $name: moving its data onto $device"
  # Device paths and labels come from the host file: /dev/disk/by-id/... and a file system label, no spaces.
  remote_move | on_host_root "$name" "sh -s -- $device $label" || fail "moving $name's data failed (see above); etcd was restarted on its root-disk data"
  wait_healthy "$name"
  echo "etcd-move-data: $name: deploying its configuration with the data disk mount"
  "$deploy_script" "$cluster" "$name" || fail "deploying $name failed; its data is on the disk and mounted, etcd runs; fix and run this script again for $name"
  wait_healthy "$name"
  echo "etcd-move-data: $name: done; remove /var/lib/etcd.pre-disk on it once you no longer want the fallback copy"
done
