# Restores ONE stopped etcd member's data from a snapshot (POSIX sh, runs on the member as root; run by
# scripts/etcd-restore.sh as `ssh <member> sh -s -- <options> < this`, once per member, with the same snapshot).
#
#   --snapshot <file>         the snapshot, already on the member
#   --data-dir <dir>          etcd's data directory (may be a mount point: only its member/ subdirectory moves)
#   --name <name>             this member's name
#   --peer-url <url>          this member's peer URL
#   --initial-cluster <list>  name=peerURL,... of every member
#   --token <token>           a NEW cluster token, so restored members never join a member of the old cluster
#   --owner <uid>:<gid>       who owns the data (the etcd account)
#   --bump-revision <n>       raise every revision by n and mark them compacted, so that Kubernetes' watch caches
#                             and informers see revisions move forward (0: do not); needs etcdutl >= 3.5.x that
#                             has the flags, else a warning says it was not done
#
# The previous data is kept, renamed to <data-dir>/member.before-restore-<UTC time> (remove it once the restored
# cluster is good). Uses etcdutl when the host has it (etcd >= 3.5), else etcdctl (3.4).
set -eu
umask 077
export ETCDCTL_API=3

snapshot="" data="" name="" peer="" initial="" token="" owner="" bump=0
while [ $# -gt 0 ]; do
  case $1 in
  --snapshot) snapshot=$2 ;;
  --data-dir) data=$2 ;;
  --name) name=$2 ;;
  --peer-url) peer=$2 ;;
  --initial-cluster) initial=$2 ;;
  --token) token=$2 ;;
  --owner) owner=$2 ;;
  --bump-revision) bump=$2 ;;
  *) echo "etcd-restore-member: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
for v in snapshot data name peer initial token owner; do
  eval "[ -n \"\$$v\" ]" || { echo "etcd-restore-member: --$v is missing" >&2; exit 2; }
done

if command -v etcdutl >/dev/null 2>&1; then tool=etcdutl; else tool=etcdctl; fi
version=$($tool version 2>/dev/null | head -n 1)
status=$($tool snapshot status --write-out=json "$snapshot") || {
  echo "etcd-restore-member: $snapshot on $name is not a valid snapshot ($tool)" >&2
  exit 1
}

bump_flags=""
if [ "$bump" != 0 ]; then
  if [ "$tool" = etcdutl ] && etcdutl snapshot restore --help 2>&1 | grep -q -- --bump-revision; then
    bump_flags="--bump-revision $bump --mark-compacted"
  else
    echo "etcd-restore-member: WARNING: $tool ($version) cannot bump revisions (--bump-revision needs etcdutl 3.5 with the flag, or 3.6): revisions restart at the snapshot's; restart every kubelet, kube-proxy, flannel, controller-manager and scheduler after the restore" >&2
  fi
fi

if systemctl is-active --quiet etcd 2>/dev/null; then
  echo "etcd-restore-member: etcd is running on $name; stop it first" >&2
  exit 1
fi

mkdir -p "$data"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [ -e "$data/member" ]; then
  mv "$data/member" "$data/member.before-restore-$stamp"
  echo "etcd-restore-member: $name: the previous data is kept in $data/member.before-restore-$stamp"
fi
rm -rf "$data/.restore"
# shellcheck disable=SC2086 # bump_flags is a list of flags or empty
$tool snapshot restore "$snapshot" --name "$name" --initial-cluster "$initial" --initial-cluster-token "$token" \
  --initial-advertise-peer-urls "$peer" --data-dir "$data/.restore" $bump_flags 2>"$data/.restore.log" || {
  cat "$data/.restore.log" >&2
  echo "etcd-restore-member: $tool snapshot restore failed on $name" >&2
  exit 1
}
mv "$data/.restore/member" "$data/member"
rmdir "$data/.restore"
rm -f "$data/.restore.log"
chown -R "$owner" "$data/member"
chown "$owner" "$data"
chmod 0700 "$data"
echo "etcd-restore-member: $name restored with $tool ($version) from a snapshot with status $status${bump_flags:+, revisions bumped by $bump and compacted}"
