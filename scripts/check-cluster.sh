#!/usr/bin/env bash
# Smoke check of a deployed cluster:
#   1. etcd is healthy: every member's /health, asked over SSH from an etcd member (scripts/lib/health.sh's
#      etcd-cluster check, the one definition of healthy, with the delivered health-check client certificate);
#   2. every Kubernetes node of the description is registered and Ready, workers with no taint, control-plane nodes
#      with exactly node-role.kubernetes.io/control-plane:NoSchedule and the label node-role.kubernetes.io/control-plane;
#   3. a pod runs;
#   4. inside that pod, the kubernetes service's name, kubernetes.default.svc.<cluster domain>, resolves (CoreDNS)
#      to the first service IP. The full name, not `kubernetes.default`: busybox's nslookup ignores the pod's
#      DNS search path, so the short name fails even when cluster DNS works.
#
#   scripts/check-cluster.sh <cluster>
#
# Uses the admin kubeconfig the pki stack writes (secrets/<cluster>/admin.kubeconfig; KUBECONFIG overrides it),
# the generated host files (nixos/clusters/<cluster>) and, on GCP, the saved outputs (npm run outputs).
# Needs kubectl, ssh, jq and nix-instantiate. TIMEOUT (default 300) bounds each wait, in seconds.
set -euo pipefail
# No calls to the HashiCorp checkpoint service from the tools started here (they fail offline, noisily).
export CHECKPOINT_DISABLE="${CHECKPOINT_DISABLE:-1}"

[ $# -eq 1 ] || {
  echo "usage: $0 <cluster>" >&2
  exit 2
}
cluster=$1
me=scripts/check-cluster.sh
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/cluster-hosts.sh
. scripts/lib/cluster-hosts.sh
timeout=${TIMEOUT:-300}
pod=nixos-k8s-smoke-check
namespace=default

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
ok() {
  echo "ok: $*"
}

# The host files (plan order), the SSH addresses and the cluster's known_hosts (scripts/lib/cluster-hosts.sh).
cluster_hosts_load "$cluster"
export KUBECONFIG=${KUBECONFIG:-secrets/$cluster/admin.kubeconfig}
[ -f "$KUBECONFIG" ] || fail "no admin kubeconfig at $KUBECONFIG: run \`cdktf deploy pki\` for this cluster"

# --- 1. etcd --------------------------------------------------------------------------------------------------
witness=$(jq -r 'map(select(.host.runsEtcd)) | first | .host.name // ""' <<<"$hosts_json")
[ -n "$witness" ] || fail "the description has no etcd member"
mapfile -t urls < <(etcd_member_urls)
if ! health=$(health_on_host "$witness" etcd-cluster "${urls[@]}"); then
  echo "$health" >&2
  fail "etcd is not healthy (checked on $witness)"
fi
ok "etcd: ${health#etcd-cluster: }"

# --- 2. nodes -------------------------------------------------------------------------------------------------
mapfile -t expected < <(jq -r 'map(select(.host.runsKubelet) | .host.name) | .[]' <<<"$hosts_json")
for node in "${expected[@]}"; do
  deadline=$((SECONDS + timeout))
  until kubectl get node "$node" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || fail "node $node did not register within ${timeout}s"
    sleep 5
  done
done
kubectl wait --for=condition=Ready "${expected[@]/#/node/}" --timeout="${timeout}s" >/dev/null ||
  fail "not every node is Ready: $(kubectl get nodes --no-headers | awk '$2 != "Ready" {print $1}' | xargs)"
ok "nodes: ${#expected[@]} registered and Ready (${expected[*]})"

# Taints and labels per role (docs/nixos.md, "Nodes, taints and labels"). k8s-node-roles labels a control-plane node
# shortly after it registers, so this waits too.
roles_problems() {
  kubectl get nodes -o json | jq -r --argjson hosts "$hosts_json" '
    ($hosts | map(select(.host.runsKubelet) | {key: .host.name, value: .host.runsControlPlane}) | from_entries) as $cp
    | .items[] | .metadata.name as $n | select($cp | has($n))
    | [(.spec.taints // [])[] | "\(.key)=\(.value // ""):\(.effect)"] as $taints
    | (if $cp[$n] then ["node-role.kubernetes.io/control-plane=:NoSchedule"] else [] end) as $want
    | ((.metadata.labels // {}) | has("node-role.kubernetes.io/control-plane")) as $labelled
    | select($taints != $want or $labelled != $cp[$n])
    | "\($n): taints [\($taints | join(","))], expected [\($want | join(","))]; control-plane label \(if $labelled then "present" else "absent" end), expected \(if $cp[$n] then "present" else "absent" end)"'
}
deadline=$((SECONDS + timeout))
until problems=$(roles_problems) && [ -z "$problems" ]; do
  if [ $SECONDS -ge $deadline ]; then
    echo "$problems" >&2
    fail "node taints or labels are not as planned (nodes registered before the fix: docs/day-2.md, \"Nodes registered with the unschedulable taint\")"
  fi
  sleep 5
done
ok "nodes: workers untainted; control plane tainted node-role.kubernetes.io/control-plane:NoSchedule and labelled"

# --- 3. a pod runs --------------------------------------------------------------------------------------------
cleanup() {
  kubectl delete pod "$pod" --namespace "$namespace" --ignore-not-found --wait=false >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
kubectl wait --for=delete "pod/$pod" --namespace "$namespace" --timeout="${timeout}s" >/dev/null 2>&1 || true
kubectl run "$pod" --namespace "$namespace" --image=busybox:1.36 --restart=Never --command -- sleep 600 >/dev/null
kubectl wait --for=condition=Ready "pod/$pod" --namespace "$namespace" --timeout="${timeout}s" >/dev/null ||
  fail "pod $pod did not become Ready: $(kubectl get pod "$pod" --namespace "$namespace" -o jsonpath='{.status.phase} {.status.containerStatuses[0].state}')"
ok "pod: $pod runs on $(kubectl get pod "$pod" --namespace "$namespace" -o jsonpath='{.spec.nodeName}')"

# --- 4. cluster DNS -------------------------------------------------------------------------------------------
kubernetes=$(jq -c 'map(select(.kubernetes != null)) | first | .kubernetes' <<<"$hosts_json")
[ "$kubernetes" != "null" ] || fail "the description has no Kubernetes node"
service_ip=$(jq -r '.firstServiceIp' <<<"$kubernetes")
fqdn="kubernetes.default.svc.$(jq -r '.clusterDomain' <<<"$kubernetes")"
# An A query only: an empty AAAA answer would make busybox's nslookup report a failure.
answer=$(kubectl exec "$pod" --namespace "$namespace" -- nslookup -type=a "$fqdn" 2>&1) || true
# The answer section: the addresses after the queried name (before it: the DNS server's own address).
resolved=$(awk '/^Name:/ {answer = 1} answer && /^Address/ {print $NF}' <<<"$answer")
if ! grep -qxF "$service_ip" <<<"$resolved"; then
  echo "$answer" >&2
  fail "$fqdn resolved to '${resolved//$'\n'/ }' in the pod, expected $service_ip"
fi
ok "dns: $fqdn resolves to $service_ip"

echo "cluster $cluster passed the smoke check"
