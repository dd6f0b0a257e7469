#!/usr/bin/env bash
# A stand-in kubectl for running k8s-node-roles' script (nixos/modules/node-roles.nix) in a test: the nodes live in
# $FAKE_NODES (a NodeList as JSON); every call is appended to $FAKE_LOG. Supports exactly what the script uses:
#   get nodes -o json | patch node <name> --type=merge -p <json> | patch node <name> --type=json -p <json patch>
# JSON patches support "test" and "remove" on /spec/taints/<index>; a failed test fails the call, as the API does.
set -euo pipefail
echo "kubectl $*" >>"$FAKE_LOG"
nodes=$(cat "$FAKE_NODES")
save() { printf '%s\n' "$1" >"$FAKE_NODES"; }

case "$1 $2" in
"get nodes")
  [ "$3 $4" = "-o json" ] || { echo "fake kubectl: unsupported: $*" >&2; exit 2; }
  printf '%s\n' "$nodes"
  ;;
"patch node")
  name=$3 type=$4 patch=$6
  [ "$5" = "-p" ] || { echo "fake kubectl: unsupported: $*" >&2; exit 2; }
  jq -e --arg n "$name" 'any(.items[]; .metadata.name == $n)' <<<"$nodes" >/dev/null || {
    echo "Error from server (NotFound): nodes \"$name\" not found" >&2
    exit 1
  }
  case $type in
  --type=merge)
    save "$(jq --arg n "$name" --argjson p "$patch" '.items |= map(if .metadata.name == $n then .metadata.labels = ((.metadata.labels // {}) + $p.metadata.labels) else . end)' <<<"$nodes")"
    ;;
  --type=json)
    result=$(jq --arg n "$name" --argjson ops "$patch" '
      .items |= map(if .metadata.name != $n then . else
        reduce $ops[] as $op (.;
          ($op.path | capture("^/spec/taints/(?<i>[0-9]+)$").i | tonumber) as $i
          | if $op.op == "test" then (if .spec.taints[$i] == $op.value then . else error("test failed") end)
            elif $op.op == "remove" then .spec.taints |= (.[:$i] + .[$i + 1:])
            else error("unsupported op \($op.op)") end)
      end)' <<<"$nodes") || {
      echo "Error from server: the JSON patch test failed" >&2
      exit 1
    }
    save "$result"
    ;;
  *)
    echo "fake kubectl: unsupported: $*" >&2
    exit 2
    ;;
  esac
  ;;
*)
  echo "fake kubectl: unsupported: $*" >&2
  exit 2
  ;;
esac
