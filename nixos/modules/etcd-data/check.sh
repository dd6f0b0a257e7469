#!/bin/sh
# etcd's pre-start check (nixos/modules/etcd-data-disk.nix runs it as root before every start of etcd):
#   - the data directory must be the mounted data disk (never etcd on the root disk's empty mount point);
#   - a member whose data is gone must not rejoin under its old identity: with an empty data directory it
#     refuses to start when this host has been a member with data before (a marker on the root disk), unless the
#     member-replace procedure's join file is there, and when the other members list it as a started member.
# Environment: ETCD_DATA_DIR, ETCD_DATA_DEVICE, ETCD_DATA_MEMBER (member name), ETCD_DATA_OWNER (user:group of
# the data directory), ETCD_DATA_MARKER (marker file on the root disk), ETCD_DATA_IDENTITY (its content),
# ETCD_DATA_JOIN_ENV (the join file), ETCD_DATA_PEERS (the other members' client URLs, comma-separated; may be
# empty), ETCD_DATA_CA / ETCD_DATA_CERT / ETCD_DATA_KEY (a client certificate of the etcd CA).
set -eu
dir=$ETCD_DATA_DIR
member=$ETCD_DATA_MEMBER
marker=$ETCD_DATA_MARKER
replace="docs/day-2.md#replace-an-etcd-member (etcdctl member remove, etcdctl member add, then start it with ETCD_INITIAL_CLUSTER_STATE=existing)"
fail() {
  echo "etcd-data-check: $*" >&2
  exit 1
}
mountpoint -q "$dir" || fail "$dir is not mounted: etcd runs only on its data disk ($ETCD_DATA_DEVICE); is the disk attached? (journalctl -u etcd-data-format)"
source=$(findmnt -n -o SOURCE --target "$dir")
[ "$(readlink -f "$source")" = "$(readlink -f "$ETCD_DATA_DEVICE")" ] || fail "$dir is mounted from $source, not from the data disk $ETCD_DATA_DEVICE"
chown "$ETCD_DATA_OWNER" "$dir"
chmod 0700 "$dir"
if [ -d "$dir/member" ]; then
  printf '%s\n' "$ETCD_DATA_IDENTITY" >"$marker.tmp"
  mv "$marker.tmp" "$marker"
  exit 0
fi
# No data: a first bootstrap, a member added by the member-replace procedure, or a member whose data is gone.
joining=0
if [ -r "$ETCD_DATA_JOIN_ENV" ]; then
  while IFS= read -r line; do
    [ "$line" = ETCD_INITIAL_CLUSTER_STATE=existing ] && joining=1
  done <"$ETCD_DATA_JOIN_ENV"
fi
if [ -f "$marker" ] && [ "$joining" = 0 ]; then
  fail "the data directory $dir is empty, but this host has been etcd member $member with data before ($marker on the root disk says: $(cat "$marker")). Its data is gone: starting it would rejoin the cluster under its old identity with no data. Replace the member instead: $replace."
fi
if [ -n "$ETCD_DATA_PEERS" ]; then
  # A member that has started before has published its client URLs; `member list` prints
  # "<id>, started, <name>, <peer URLs>, <client URLs>, <learner>". A member of the initial cluster that never started
  # is listed by name too (etcdctl says "started"), but with no client URLs: a slow first bootstrap must still start.
  listed=$(etcdctl --endpoints="$ETCD_DATA_PEERS" --cacert="$ETCD_DATA_CA" --cert="$ETCD_DATA_CERT" --key="$ETCD_DATA_KEY" \
    --dial-timeout=3s --command-timeout=5s member list 2>/dev/null || true)
  started=0
  saved_ifs=$IFS
  IFS='
'
  for line in $listed; do
    case "$line" in
    *", started, $member, "*", , "*) ;;
    *", started, $member, "*) started=1 ;;
    esac
  done
  IFS=$saved_ifs
  if [ "$started" = 1 ]; then
    fail "the data directory $dir is empty, but the other members list $member as a member that has started (it published its client URLs): its data is gone. Starting it would rejoin the cluster under its old identity with no data. Replace the member instead: $replace."
  fi
fi
echo "etcd-data-check: $dir is empty and member $member has not started before: bootstrapping, or joining as a new member"
