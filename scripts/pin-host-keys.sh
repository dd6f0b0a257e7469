#!/usr/bin/env bash
# One-time pinning of the SSH host keys of hosts created before the compute stack made them (docs/pki.md, "Hosts
# created before the host keys").
#
#   scripts/pin-host-keys.sh <cluster> [--accept <host>]...
#
# Reads secrets/<cluster>/known_hosts, which `cdktf deploy compute` writes with the key Terraform made for every
# host. For each host it scans the Ed25519 key the host serves now (ssh-keyscan at the last address of its line;
# KEYSCAN overrides the command, e.g. KEYSCAN="ssh ops@bastion ssh-keyscan" to scan from inside the network):
# - the Terraform key: nothing to do;
# - another key: it is pinned only once you confirm that its fingerprint is the one you read over a path you trust
#   (docs/pki.md lists them per target), by answering "yes" or with --accept <host>. The pinned key is added beside
#   the Terraform key, so ssh (deploy-rs, check-cluster.sh) accepts either while the host moves to its Terraform key.
# The file is rewritten atomically, 0600. Run the script again once every host serves its Terraform key: it then
# drops every pin. Terraform's own delivery never uses a pin: it checks the Terraform key only.
set -euo pipefail

usage() {
  echo "usage: $0 <cluster> [--accept <host>]..." >&2
  exit 2
}
[ $# -ge 1 ] || usage
cluster=$1
shift
accepted=" "
while [ $# -gt 0 ]; do
  case "$1" in
    --accept)
      [ $# -ge 2 ] || usage
      accepted="$accepted$2 "
      shift 2
      ;;
    *) usage ;;
  esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
# KNOWN_HOSTS overrides the file (tests).
file=${KNOWN_HOSTS:-$root/secrets/$cluster/known_hosts}
[ -f "$file" ] || {
  echo "$0: no $file: run \`cdktf deploy compute\` for cluster $cluster first (it writes the file)" >&2
  exit 1
}
read -r -a keyscan <<<"${KEYSCAN:-ssh-keyscan}"
marker="# pinned by scripts/pin-host-keys.sh"

fingerprint() { ssh-keygen -l -f /dev/stdin <<<"$1" | awk '{print $2}'; }

umask 077
out=$(mktemp "$file.XXXXXX")
trap 'rm -f "$out"' EXIT
pins=0
failed=0
skip_next=0
while IFS= read -r line || [ -n "$line" ]; do
  # Pins of an earlier run are re-decided below, never carried over.
  if [ "$skip_next" = 1 ]; then
    skip_next=0
    continue
  fi
  case "$line" in
    "$marker"*)
      skip_next=1
      continue
      ;;
    "" | "#"*) continue ;;
  esac
  read -r names type key _ <<<"$line"
  host=${names%%,*}
  address=${names##*,}
  expected="$type $key"
  printf '%s\n' "$line" >>"$out"
  scanned=$("${keyscan[@]}" -T 10 -t ed25519 "$address" 2>/dev/null | awk '$2 == "ssh-ed25519" {print $2, $3; exit}') || true
  if [ -z "$scanned" ]; then
    echo "$host ($address): no answer to ssh-keyscan; not pinned" >&2
    failed=1
    continue
  fi
  if [ "$scanned" = "$expected" ]; then
    echo "$host ($address): serves its Terraform key $(fingerprint "$expected")"
    continue
  fi
  echo "$host ($address): serves $(fingerprint "$scanned"), not its Terraform key $(fingerprint "$expected")"
  if [[ "$accepted" != *" $host "* ]]; then
    answer=""
    { printf '  Is %s the fingerprint you read for %s over a trusted path? Type yes to pin it: ' "$(fingerprint "$scanned")" "$host" >/dev/tty && read -r answer </dev/tty; } 2>/dev/null || answer=""
    if [ "$answer" != yes ]; then
      echo "$host: not pinned" >&2
      failed=1
      continue
    fi
  fi
  printf '%s for %s: the key it served before its Terraform key; run the script again once it serves that one\n%s %s\n' "$marker" "$host" "$names" "$scanned" >>"$out"
  pins=$((pins + 1))
done <"$file"

chmod 0600 "$out"
mv -f "$out" "$file"
trap - EXIT
echo "$file: $pins pinned key(s)"
exit "$failed"
