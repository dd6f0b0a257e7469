#!/usr/bin/env bash
# Restores a WHOLE cluster's etcd from one snapshot onto its existing members (disaster recovery: lost quorum,
# bad data). Every Kubernetes object goes back to the snapshot's state.
#
#   scripts/etcd-restore.sh [--yes] [--bump-revision <n>|--no-bump-revision] <cluster> <snapshot.db>
#
#   1. checks the snapshot here when etcdutl/etcdctl is installed, and again on every member (its etcd tools);
#   2. stops kube-apiserver, kube-controller-manager and kube-scheduler on every control-plane host (nothing
#      writes to etcd any more), then etcd on every member;
#   3. copies the snapshot to every member (checked by sha256) and restores it there, each member with its own
#      name and peer URL and one NEW cluster token (scripts/lib/etcd-restore-member.sh; the previous data is kept
#      as <data-dir>/member.before-restore-<time>). With etcdutl that has the flags (etcd 3.5.x/3.6), revisions are
#      bumped by 1000000000 and marked compacted (--bump-revision to change, --no-bump-revision to skip), so
#      Kubernetes' watchers never see revisions go back; with etcd 3.4 tools a warning says it was not done;
#   4. starts etcd on every member at once and waits until all are healthy, then starts the control plane again
#      and waits for every API server's /readyz (scripts/lib/health.sh).
#
# Secrets in the snapshot are encrypted with the API servers' encryption-at-rest key ("key1" in
# /var/lib/kubernetes/pki/encryption-config.yaml): the random_bytes resource of the pki stack's Terraform state,
# never replaced by the stack. If it was replaced after the snapshot was taken, the API servers cannot read the
# restored Secrets: get the key of that time from an older state version (see docs/day-2.md, "Back up and
# restore") and put it back before this restore.
#
# --yes skips the confirmation. ETCD_DATA_DIR (default /var/lib/etcd) and ETCD_RESTORE_DIR (where the snapshot is
# copied on the members, default /var/lib/etcd-restore) are the paths on the members; HEALTH_TIMEOUT (default 300)
# bounds each wait.
set -euo pipefail

me=scripts/etcd-restore.sh
usage() {
  [ $# -eq 0 ] || echo "$me: $*" >&2
  echo "usage: $me [--yes] [--bump-revision <n>|--no-bump-revision] <cluster> <snapshot.db>" >&2
  exit 2
}

yes=0
bump=1000000000
positional=()
while [ $# -gt 0 ]; do
  case $1 in
  --yes) yes=1 ;;
  --no-bump-revision) bump=0 ;;
  --bump-revision) [ $# -ge 2 ] || usage "--bump-revision needs a number"; bump=$2; shift ;;
  -*) usage "unknown option \"$1\"" ;;
  *) positional+=("$1") ;;
  esac
  shift
done
[ ${#positional[@]} -eq 2 ] || usage
[[ $bump =~ ^[0-9]+$ ]] || usage "--bump-revision must be a whole number, not \"$bump\""
cluster=${positional[0]}
snapshot=$(cd "$(dirname "${positional[1]}")" 2>/dev/null && pwd)/$(basename "${positional[1]}")
[ -f "$snapshot" ] || usage "no snapshot file ${positional[1]}"
data_dir=${ETCD_DATA_DIR:-/var/lib/etcd}
restore_dir=${ETCD_RESTORE_DIR:-/var/lib/etcd-restore}
health_timeout=${HEALTH_TIMEOUT:-300}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/cluster-hosts.sh
. scripts/lib/cluster-hosts.sh
cluster_hosts_load "$cluster"

mapfile -t members < <(jq -r '.[] | select(.host.runsEtcd) | .host.name' <<<"$hosts_json")
mapfile -t control_plane < <(jq -r '.[] | select(.host.runsControlPlane) | .host.name' <<<"$hosts_json")
[ ${#members[@]} -gt 0 ] || { echo "$me: cluster $cluster has no etcd member" >&2; exit 1; }
initial_cluster=$(jq -r 'first(.[] | .etcd // empty | .members) | map("\(.name)=\(.peerUrl)") | join(",")' <<<"$hosts_json")
token="$cluster-etcd-restored-$(date -u +%Y%m%dT%H%M%SZ)"
sum=$(sha256sum "$snapshot" | cut -d' ' -f1)

fail() {
  echo "$me: FAILED: $*" >&2
  exit 1
}

# 1. The snapshot, checked here when the tools are.
if command -v etcdutl >/dev/null 2>&1; then
  status=$(etcdutl snapshot status --write-out=json "$snapshot") || fail "$snapshot is not a valid snapshot (etcdutl)"
elif command -v etcdctl >/dev/null 2>&1; then
  status=$(ETCDCTL_API=3 etcdctl snapshot status --write-out=json "$snapshot") || fail "$snapshot is not a valid snapshot (etcdctl)"
else
  status="(not checked here: no etcdutl or etcdctl; each member checks it)"
fi
echo "snapshot $snapshot: $status" >&2

if [ "$yes" -ne 1 ]; then
  echo "This replaces ALL etcd data of cluster $cluster (members: ${members[*]}) with the snapshot, and stops the" >&2
  echo "API servers (${control_plane[*]}) meanwhile. The previous data stays on each member (member.before-restore-*)." >&2
  read -r -p "Type the cluster name ($cluster) to go on: " answer
  [ "$answer" = "$cluster" ] || fail "not confirmed"
fi

# 2. Nothing writes any more.
for host in "${control_plane[@]}"; do
  echo "stopping the control plane on $host" >&2
  on_host_root "$host" "systemctl stop kube-apiserver kube-controller-manager kube-scheduler" </dev/null ||
    fail "could not stop the control plane on $host; nothing of etcd was touched: start the control plane stopped so far again (systemctl start kube-apiserver kube-controller-manager kube-scheduler) or fix $host and run this again"
done
for host in "${members[@]}"; do
  echo "stopping etcd on $host" >&2
  on_host_root "$host" "systemctl stop etcd" </dev/null || fail "could not stop etcd on $host"
done

# 3. The same snapshot on every member, each restored as itself into the new cluster.
for host in "${members[@]}"; do
  echo "copying the snapshot to $host" >&2
  on_host_root "$host" "umask 077 && mkdir -p '$restore_dir' && cat >'$restore_dir/snapshot.db' && sha256sum '$restore_dir/snapshot.db'" <"$snapshot" |
    grep -q "^$sum " || fail "the snapshot copied to $host does not have the sha256 $sum"
done
for host in "${members[@]}"; do
  peer=$(jq -r --arg name "$host" 'first(.[] | .etcd // empty | .members) | map(select(.name == $name)) | first | .peerUrl' <<<"$hosts_json")
  owner="$(host_field "$host" .pki.accounts.etcd.uid):$(host_field "$host" .pki.accounts.etcd.gid)"
  on_host_root "$host" "sh -s -- --snapshot '$restore_dir/snapshot.db' --data-dir '$data_dir' --name '$host' --peer-url '$peer' --initial-cluster '$initial_cluster' --token '$token' --owner '$owner' --bump-revision '$bump'" \
    <scripts/lib/etcd-restore-member.sh ||
    fail "restoring $host (see above). Every member and API server is stopped; fix the cause and run this again: it restores every member again (what it moved aside stays in member.before-restore-*)"
done

# 4. All members at once (none can be healthy alone), then the control plane.
for host in "${members[@]}"; do
  on_host_root "$host" "systemctl start --no-block etcd && rm -f '$restore_dir/snapshot.db'" </dev/null || fail "could not start etcd on $host"
done
mapfile -t urls < <(etcd_member_urls)
echo "waiting for the restored etcd cluster" >&2
health_wait "${members[0]}" etcd-cluster "${urls[@]}" || fail "the restored etcd cluster is not healthy within ${health_timeout}s: $health_answer"
for host in "${control_plane[@]}"; do
  on_host_root "$host" "systemctl start kube-apiserver kube-controller-manager kube-scheduler" </dev/null || fail "could not start the control plane on $host"
done
for host in "${control_plane[@]}"; do
  health_wait "$host" apiserver || fail "the API server on $host is not ready within ${health_timeout}s: $health_answer"
done

cat >&2 <<EOF
cluster $cluster restored from $snapshot (cluster token $token).
Next: restart kubelet, kube-proxy and flannel on every node (they cached newer state), e.g.
  for h in <every node>; do ssh root@\$h systemctl restart kubelet kube-proxy flannel; done
then scripts/check-cluster.sh $cluster. Once satisfied, remove $data_dir/member.before-restore-* on the members.
EOF
