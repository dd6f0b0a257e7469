#!/usr/bin/env bash
# Sets, rotates or removes root's serial-console password on the hosts of ONE cluster (all, or those named).
# The password travels only as a crypt(3) hash, on SSH's stdin (never on a command line, in the Nix store, in
# git or in Terraform state), into /var/lib/console-credentials/root-password-hash (directory 0700, file 0600,
# root's), which NixOS reads at every activation (nixos/modules/console.nix). The host's activation is re-run, so
# the password works at once and survives reboots and deploys.
#
#   mkpasswd -m sha-512 | scripts/console-password.sh <cluster> [<host>...]     # set or rotate
#   scripts/console-password.sh --remove <cluster> [<host>...]                   # root locked again
#
# mkpasswd is in Debian's `whois` package (NixOS: `mkpasswd`); `openssl passwd -6` works too. SSH goes to the
# address deploy-rs uses, as the description's SSH user (with `sudo -n` when that is not root), and checks host keys
# against secrets/<cluster>/known_hosts when it exists (scripts/lib/cluster-hosts.sh).
set -euo pipefail

usage() {
  echo "usage: <hash on stdin> | $0 <cluster> [<host>...]   or   $0 --remove <cluster> [<host>...]" >&2
  exit 2
}

remove=0
if [ "${1:-}" = "--remove" ]; then
  remove=1
  shift
fi
[ $# -ge 1 ] || usage
cluster=$1
shift

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
me=$0
# shellcheck source=lib/cluster-hosts.sh
. scripts/lib/cluster-hosts.sh
cluster_hosts_load "$cluster"

# Same file as nixos/lib/console.nix's passwordHashFile (a test checks they agree).
dir=/var/lib/console-credentials
file=$dir/root-password-hash

hash=""
if [ "$remove" -eq 0 ]; then
  if [ -t 0 ]; then
    echo "$0: pipe a password hash into this script, e.g. \`mkpasswd -m sha-512 | $0 $cluster\`" >&2
    exit 2
  fi
  hash=$(cat)
  # One crypt(3) hash: "$<id>$..." with no blank, newline or ":" (the /etc/shadow separator).
  if ! [[ "$hash" =~ ^\$[0-9a-z]+\$[^[:space:]:]+$ ]]; then
    echo "$0: stdin is not one crypt(3) password hash (such as \$6\$... or \$y\$...); a plain password is refused. Make a hash with \`mkpasswd -m sha-512\` (Debian: package whois) or \`openssl passwd -6\`" >&2
    exit 1
  fi
fi

mapfile -t planned < <(jq -r '.[].host.name' <<<"$hosts_json")
hosts=("$@")
[ ${#hosts[@]} -gt 0 ] || hosts=("${planned[@]}")
for host in "${hosts[@]}"; do
  if ! printf '%s\n' "${planned[@]}" | grep -qx -- "$host"; then
    echo "$0: cluster $cluster has no host \"$host\" (hosts: ${planned[*]})" >&2
    exit 1
  fi
done

# Runs as root on the host. activate re-reads users.users.root.hashedPasswordFile (users.mutableUsers = false).
if [ "$remove" -eq 0 ]; then
  remote="set -eu; umask 077; mkdir -p $dir; chmod 0700 $dir; cat > $file.new; mv $file.new $file; /run/current-system/activate >/dev/null"
else
  remote="set -eu; rm -f $file; /run/current-system/activate >/dev/null"
fi

failed=()
for host in "${hosts[@]}"; do
  if printf '%s\n' "$hash" | on_host_root "$host" "$remote"; then
    [ "$remove" -eq 0 ] && echo "$cluster/$host: console password set" || echo "$cluster/$host: console password removed (root locked)"
  else
    echo "$0: $cluster/$host ($(ssh_destination "$host")): failed; the other hosts are still done" >&2
    failed+=("$host")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "$0: not done on: ${failed[*]}; run again for them: $0 $([ "$remove" -eq 1 ] && echo "--remove ")$cluster ${failed[*]}" >&2
  exit 1
fi
