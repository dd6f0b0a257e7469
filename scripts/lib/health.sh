# The one definition of "healthy" for this project (POSIX sh). Used by:
#   - the PKI delivery (src/pki/install-script.ts embeds this file in the script it runs on a host), after it
#     restarts etcd or kube-apiserver for new certificates;
#   - the rollout (scripts/deploy-cluster.sh runs it on a host over SSH: `ssh <host> sh -s -- <check> < this`),
#     between two hosts.
# Every check runs ON the host it is about, over loopback, and prints one line saying what it saw. It returns 0
# only when healthy. Node readiness is asked of the API (kubectl), from wherever the kubeconfig is. Safe to call
# from a script running under `set -e` (a failed probe is an answer, not an error).
#
# Inputs (environment; the callers set them from the generated host files / src/pki/paths.ts):
#   K8S_HEALTH_SUDO        "" for root, "sudo -n " otherwise (the etcd client key is readable by root/etcd only)
#   K8S_ETCD_CA            etcd CA certificate              K8S_ETCD_PORT  etcd client port (default 2379)
#   K8S_ETCD_CERT          etcd health-check client cert    K8S_API_PORT   API server port (default 6443)
#   K8S_ETCD_KEY           its key
#   K8S_CA                 the Kubernetes cluster CA certificate
#
# Checks:
#   etcd-member                 this member answers /health with "health":"true" (it has a leader: it is part of
#                               a quorum), over https://127.0.0.1:<etcd port>
#   etcd-cluster <url>...       every listed member client URL answers /health with "health":"true"
#   apiserver                   this API server answers /readyz with "ok" (verified against the cluster CA)
#   load-balancer               this API load balancer forwards to a ready API server: its frontend,
#                               https://127.0.0.1:<API port>/readyz, answers "ok". TLS is not verified: a balancer
#                               holds no cluster CA (haproxy's own backend checks are unverified too), and only
#                               the answer matters here, never a secret.
#   node-ready <node>           the API reports node <node> with condition Ready=True (kubectl, $KUBECONFIG)

k8s_health_etcd_url() {
  ${K8S_HEALTH_SUDO:-}curl --silent --max-time 5 --cacert "$K8S_ETCD_CA" --cert "$K8S_ETCD_CERT" --key "$K8S_ETCD_KEY" "$1/health" 2>/dev/null
}

k8s_health_etcd_member() {
  k8s_health_answer=$(k8s_health_etcd_url "https://127.0.0.1:${K8S_ETCD_PORT:-2379}") || true
  case "$k8s_health_answer" in
  *'"health":"true"'*)
    echo "etcd-member: healthy"
    return 0
    ;;
  esac
  echo "etcd-member: not healthy (/health answered: ${k8s_health_answer:-nothing})"
  return 1
}

k8s_health_etcd_cluster() {
  k8s_health_bad=0
  for k8s_health_url in "$@"; do
    k8s_health_answer=$(k8s_health_etcd_url "$k8s_health_url") || true
    case "$k8s_health_answer" in
    *'"health":"true"'*) ;;
    *)
      echo "etcd-cluster: member $k8s_health_url not healthy (/health answered: ${k8s_health_answer:-nothing})"
      k8s_health_bad=1
      ;;
    esac
  done
  [ "$k8s_health_bad" = 0 ] && echo "etcd-cluster: all $# members healthy"
  return "$k8s_health_bad"
}

k8s_health_apiserver() {
  k8s_health_answer=$(${K8S_HEALTH_SUDO:-}curl --silent --max-time 5 --cacert "$K8S_CA" "https://127.0.0.1:${K8S_API_PORT:-6443}/readyz" 2>/dev/null) || true
  if [ "$k8s_health_answer" = ok ]; then
    echo "apiserver: ready"
    return 0
  fi
  echo "apiserver: not ready (/readyz answered: ${k8s_health_answer:-nothing})"
  return 1
}

k8s_health_load_balancer() {
  k8s_health_answer=$(curl --silent --insecure --max-time 5 "https://127.0.0.1:${K8S_API_PORT:-6443}/readyz" 2>/dev/null)
  if [ "$k8s_health_answer" = ok ]; then
    echo "load-balancer: forwards to a ready API server"
    return 0
  fi
  echo "load-balancer: no ready API server behind it (/readyz answered: ${k8s_health_answer:-nothing})"
  return 1
}

k8s_health_node_ready() {
  k8s_health_answer=$(kubectl get node "$1" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>&1) || true
  if [ "$k8s_health_answer" = True ]; then
    echo "node-ready: $1 is Ready"
    return 0
  fi
  echo "node-ready: $1 is not Ready (${k8s_health_answer:-no Ready condition})"
  return 1
}

# k8s_healthy <check> [args]: runs one check by name.
k8s_healthy() {
  k8s_health_check=$1
  shift
  case "$k8s_health_check" in
  etcd-member) k8s_health_etcd_member ;;
  etcd-cluster) k8s_health_etcd_cluster "$@" ;;
  apiserver) k8s_health_apiserver ;;
  load-balancer) k8s_health_load_balancer ;;
  node-ready) k8s_health_node_ready "$@" ;;
  *)
    echo "k8s_healthy: unknown check \"$k8s_health_check\" (etcd-member, etcd-cluster, apiserver, load-balancer, node-ready)" >&2
    return 2
    ;;
  esac
}

# Run as a script (`sh health.sh <check> [args]`, or `sh -s -- <check> [args]` over SSH): the check's result is
# the exit status. Sourced with K8S_HEALTH_LIBRARY=1, it only defines the functions.
if [ "${K8S_HEALTH_LIBRARY:-}" != 1 ] && [ $# -gt 0 ]; then
  k8s_healthy "$@"
  exit $?
fi
