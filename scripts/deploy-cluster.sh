#!/usr/bin/env bash
# Deploys the NixOS configuration of ONE cluster with deploy-rs, in role order and gated on health:
#
#   1. etcd members, one at a time. Before a member: every OTHER member is healthy (so restarting it keeps a
#      quorum); after it: the member and then every member is healthy.
#   2. control-plane hosts (that are not etcd members), one at a time: after each, its API server's /readyz.
#   3. load balancers, one at a time: after each, it forwards /readyz to a ready API server.
#   Before an API server or a load balancer (in any phase): it is not the last ready one of its kind, so
#   restarting it never takes the API away; a host that is not ready itself is deployed (it may be the fix).
#   4. workers, in batches of --batch hosts (default 1): after each batch, every node of it is Ready.
#   A host that runs kubelet (control-plane hosts, workers) is also waited for until its node is Ready.
#
# Each step is its own deploy-rs run with --rollback-succeeded false: magic rollback still reverts the host (or
# batch) whose activation fails, but never a host deployed before it. The script stops at the first host whose
# deploy fails or that does not become healthy within HEALTH_TIMEOUT, says which and why, and prints the command
# that resumes from that host (--from).
#
#   scripts/deploy-cluster.sh [--bootstrap] [--from <host>] [--batch <n>] [--allow-last-ready] <cluster> [<host>...] [-- <deploy-rs options>]
#
#   --bootstrap     the cluster's first deploy: etcd has no quorum yet and a single member cannot become healthy
#                   alone, so every etcd member is deployed in one deploy-rs run (still each with its own magic
#                   rollback, none undone by another), then the cluster must become healthy; the rest follows as
#                   in a rolling deploy. Refused when the etcd cluster is already healthy (it would restart every
#                   member at once). Without --bootstrap, a cluster whose other members are not healthy is
#                   refused before anything is deployed.
#   --from <host>   resume: skip the hosts before <host> in rollout order (as printed when a rollout stops).
#   --batch <n>     workers deployed (and waited for) together; default 1.
#   --allow-last-ready
#                   deploy an API server or load balancer even when it is the last ready one (the others are
#                   down for good, say): the API is unavailable while it restarts.
#   <host>...       only these hosts (still in role order); default every host of the cluster.
#
# Examples:
#   scripts/deploy-cluster.sh --bootstrap local          # first deploy after `cdktf deploy`
#   scripts/deploy-cluster.sh local                      # every later deploy
#   scripts/deploy-cluster.sh --batch 5 local -- --dry-activate
#   scripts/deploy-cluster.sh local --from cp-2
#
# Health is the project's one definition, scripts/lib/health.sh: run on the host over SSH
# (`ssh <host> sh -s -- <check> < scripts/lib/health.sh`, with the certificate paths of its generated host file)
# for etcd and API servers, and here with kubectl and secrets/<cluster>/admin.kubeconfig (KUBECONFIG overrides
# it) for node readiness. HEALTH_TIMEOUT (seconds, default 600) bounds each wait, HEALTH_INTERVAL (default 5)
# spaces its attempts. With --dry-activate nothing is activated, so nothing is waited for.
#
# SSH (health checks and deploy-rs) verifies host keys against secrets/<cluster>/known_hosts when that file
# exists (StrictHostKeyChecking=yes); without it, your own SSH configuration applies.
#
# Only this cluster is evaluated and built: deploy-rs' own pre-deploy check (`nix flake check`, once per target)
# would evaluate every cluster's hosts and build every cluster's deploy checks, so the script runs deploy-rs with
# --skip-checks after building just this cluster's checks (checks.x86_64-linux.<cluster>-deploy-schema and
# <cluster>-deploy-activate: the deploy-rs schema of its nodes and their activation profiles). Passing
# --skip-checks yourself (after --) skips that build too.
#
# deploy-rs comes from the flake (pinned); set DEPLOY to another command to use that instead, e.g. DEPLOY=deploy.
set -euo pipefail
# No calls to the HashiCorp checkpoint service from the tools started here (they fail offline, noisily).
export CHECKPOINT_DISABLE="${CHECKPOINT_DISABLE:-1}"

me=scripts/deploy-cluster.sh
usage() {
  [ $# -eq 0 ] || echo "$me: $*" >&2
  echo "usage: $me [--bootstrap] [--from <host>] [--batch <n>] [--allow-last-ready] <cluster> [<host>...] [-- <deploy-rs options>]" >&2
  exit 2
}

bootstrap=0
allow_last_ready=0
from=""
batch=1
positional=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
  --bootstrap) bootstrap=1 ;;
  --allow-last-ready) allow_last_ready=1 ;;
  --from) [ $# -ge 2 ] || usage "--from needs a host name"; from=$2; shift ;;
  --from=*) from=${1#--from=} ;;
  --batch) [ $# -ge 2 ] || usage "--batch needs a number"; batch=$2; shift ;;
  --batch=*) batch=${1#--batch=} ;;
  -*) usage "unknown option \"$1\" (deploy-rs options go after --)" ;;
  *) positional+=("$1") ;;
  esac
  shift
done
[ $# -gt 0 ] && shift # the "--"
user_options=("$@")
[ ${#positional[@]} -ge 1 ] || usage
[[ $batch =~ ^[1-9][0-9]*$ ]] || usage "--batch must be a whole number of at least 1, not \"$batch\""
cluster=${positional[0]}
named=("${positional[@]:1}")
health_timeout=${HEALTH_TIMEOUT:-600}
health_interval=${HEALTH_INTERVAL:-5}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=lib/cluster-hosts.sh
. scripts/lib/cluster-hosts.sh

# --- deploy-rs options ----------------------------------------------------------------------------------------
skip_checks=0
dry_activate=0
ssh_opts_given=""
passed=()
i=0
while [ $i -lt ${#user_options[@]} ]; do
  option=${user_options[$i]}
  if [ "$option" = "--" ]; then # what follows is deploy-rs' extra nix arguments
    passed+=("${user_options[@]:$i}")
    break
  fi
  case $option in
  -s | --skip-checks) skip_checks=1; passed+=("$option") ;;
  --dry-activate) dry_activate=1; passed+=("$option") ;;
  --rollback-succeeded | --rollback-succeeded=*)
    echo "$me: $option: hosts that succeeded are never rolled back by a later failure (each step runs with --rollback-succeeded false); roll one host back yourself with \`ssh <host> nixos-rebuild switch --rollback\`" >&2
    exit 2
    ;;
  --ssh-opts) i=$((i + 1)); ssh_opts_given=${user_options[$i]:-} ;;
  --ssh-opts=*) ssh_opts_given=${option#--ssh-opts=} ;;
  *) passed+=("$option") ;;
  esac
  i=$((i + 1))
done

# --- hosts ----------------------------------------------------------------------------------------------------
cluster_hosts_load "$cluster"
mapfile -t planned < <(jq -r '.[].host.name' <<<"$hosts_json")

# deploy-rs gets the same host key checking; it splits --ssh-opts at spaces, and the known_hosts path is
# relative to the repository (deploy-rs runs here).
ssh_opts=$ssh_opts_given
[ ${#ssh_known[@]} -eq 0 ] || ssh_opts="${ssh_opts:+$ssh_opts }${ssh_known[*]}"
deploy_ssh=()
[ -z "$ssh_opts" ] || deploy_ssh=(--ssh-opts "$ssh_opts")

for host in "${named[@]}" ${from:+"$from"}; do
  if ! printf '%s\n' "${planned[@]}" | grep -qxF -- "$host"; then
    echo "$me: cluster $cluster has no host \"$host\" (hosts: ${planned[*]})" >&2
    exit 1
  fi
done
selected_json=$(jq -c --args '[.[] | select(($ARGS.positional | length) == 0 or (.host.name | IN($ARGS.positional[])))]' "${named[@]}" <<<"$hosts_json")

# Rollout order: etcd members, control-plane hosts, load balancers, workers (plan order within each).
phase_of='if .host.runsEtcd then "etcd" elif .host.runsControlPlane then "controlPlane" elif .host.runsLoadBalancer then "loadBalancer" else "worker" end'
mapfile -t rollout < <(jq -r "map({name: .host.name, phase: ($phase_of)})
  | (map(select(.phase == \"etcd\")) + map(select(.phase == \"controlPlane\")) + map(select(.phase == \"loadBalancer\")) + map(select(.phase == \"worker\")))
  | .[] | \"\\(.phase) \\(.name)\"" <<<"$selected_json")
if [ -n "$from" ]; then
  start=-1
  for j in "${!rollout[@]}"; do
    [ "${rollout[$j]#* }" != "$from" ] || start=$j
  done
  if [ "$start" -lt 0 ]; then
    echo "$me: --from $from: $from is not among the hosts selected for this deploy" >&2
    exit 1
  fi
  rollout=("${rollout[@]:$start}")
fi

# --- stopping and resuming --------------------------------------------------------------------------------------
done_hosts=()
resume_command() {
  local command=("$me")
  [ "$1" != bootstrap ] || command+=(--bootstrap)
  [ "$batch" = 1 ] || command+=(--batch "$batch")
  [ "$allow_last_ready" = 0 ] || command+=(--allow-last-ready)
  command+=("$cluster" "${named[@]}")
  [ "$1" = bootstrap ] || command+=(--from "$1")
  [ ${#user_options[@]} -eq 0 ] || command+=(-- "${user_options[@]}")
  printf '%q ' "${command[@]}" | sed 's/ $//'
}

# deploy_command <host>...: this script for just those hosts, with the same options.
deploy_command() {
  local command=("$me")
  [ "$batch" = 1 ] || command+=(--batch "$batch")
  command+=("$cluster" "$@")
  [ ${#user_options[@]} -eq 0 ] || command+=(-- "${user_options[@]}")
  printf '%q ' "${command[@]}" | sed 's/ $//'
}

# stop <resume-from-host|bootstrap> <message...>
stop() {
  local resume=$1
  shift
  {
    echo "$me: STOPPED: $1"
    shift
    for line in "$@"; do echo "  $line"; done
    if [ ${#done_hosts[@]} -gt 0 ]; then
      echo "  deployed and healthy (kept, never rolled back): ${done_hosts[*]}"
    fi
    echo "  resume, once the cause is fixed: $(resume_command "$resume")"
  } >&2
  exit 1
}

# keep_one_ready <host> <check> <role field> <what>: refuses to deploy <host> when other hosts have its role, none
# of them passes <check>, and <host> does: restarting it would leave none (the API gone until it is back). A host
# that does not pass the check itself takes nothing away, so it is deployed. --allow-last-ready skips this.
keep_one_ready() {
  local host=$1 check_name=$2 field=$3 what=$4 other answer
  local others=() down=()
  [ "$allow_last_ready" = 0 ] || return 0
  mapfile -t others < <(jq -r --arg except "$host" "map(select(.host.$field and .host.name != \$except)) | .[].host.name" <<<"$hosts_json")
  [ ${#others[@]} -gt 0 ] || return 0
  for other in "${others[@]}"; do
    if answer=$(health_on_host "$other" "$check_name"); then return 0; fi
    down+=("$other: $answer")
  done
  answer=$(health_on_host "$host" "$check_name") || return 0
  stop "$host" "not deploying $host: it is the last ready $what, and restarting it would leave the cluster without one" \
    "${down[@]}" "make another one ready first (deploying those is allowed: $(deploy_command "${others[@]}")), then resume;" \
    "or, if they stay down, accept that the API is unavailable while $host restarts: add --allow-last-ready"
}

# The gates after a host's activation, by what it runs.
gate() {
  local host=$1 resume=$2
  mapfile -t urls < <(etcd_member_urls)
  if [ "$(host_field "$host" .host.runsEtcd)" = true ]; then
    health_wait "$host" etcd-member ||
      stop "$resume" "$host (etcd member) did not become healthy within ${health_timeout}s" "$health_answer" \
        "look at it: ssh $(ssh_destination "$host") journalctl -u etcd -n 50"
    health_wait "$host" etcd-cluster "${urls[@]}" ||
      stop "$resume" "the etcd cluster is not healthy after deploying $host (checked from $host for ${health_timeout}s)" "$health_answer"
  fi
  if [ "$(host_field "$host" .host.runsControlPlane)" = true ]; then
    health_wait "$host" apiserver ||
      stop "$resume" "$host (API server) is not ready within ${health_timeout}s" "$health_answer" \
        "look at it: ssh $(ssh_destination "$host") journalctl -u kube-apiserver -n 50"
  fi
  if [ "$(host_field "$host" .host.runsLoadBalancer)" = true ]; then
    health_wait "$host" load-balancer ||
      stop "$resume" "$host (load balancer) does not forward to a ready API server within ${health_timeout}s" "$health_answer" \
        "look at it: ssh $(ssh_destination "$host") journalctl -u haproxy -n 50"
  fi
  if [ "$(host_field "$host" .host.runsKubelet)" = true ]; then
    health_wait "$host" node-ready "$host" ||
      stop "$resume" "node $host is not Ready within ${health_timeout}s" "$health_answer" \
        "look at it: kubectl describe node $host; ssh $(ssh_destination "$host") journalctl -u kubelet -n 50"
  fi
}

# --- the rollout ------------------------------------------------------------------------------------------------
if [ "$skip_checks" -eq 0 ]; then
  echo "checking cluster $cluster: deploy-rs schema and activation profiles of its nodes" >&2
  nix build --no-link \
    "./nixos#checks.x86_64-linux.$cluster-deploy-schema" \
    "./nixos#checks.x86_64-linux.$cluster-deploy-activate"
fi

if [ -n "${DEPLOY:-}" ]; then
  read -r -a deploy <<<"$DEPLOY"
else
  deploy=(nix run ./nixos#deploy-rs --)
fi
# Checked above (or skipped by the caller's own --skip-checks, passed on with the other options).
skip=(--skip-checks)
[ "$skip_checks" -eq 0 ] || skip=()

# deploy_step <resume-from> <host>...: one deploy-rs run; the hosts before it are never rolled back.
deploy_step() {
  local resume=$1
  shift
  local targets=() target
  for target in "$@"; do targets+=("./nixos#$cluster-$target"); done
  echo "deploying $*" >&2
  if ! "${deploy[@]}" "${skip[@]}" --rollback-succeeded false "${deploy_ssh[@]}" --targets "${targets[@]}" "${passed[@]}"; then
    stop "$resume" "deploy-rs failed on $* (magic rollback reverts a host whose activation failed; no other host is touched)"
  fi
}

mode="rolling"
[ "$bootstrap" -eq 0 ] || mode="bootstrap"
echo "deploying cluster $cluster ($mode): $(printf '%s\n' "${rollout[@]}" | awk '{print $2}' | xargs)" >&2

gates=1
if [ "$dry_activate" -eq 1 ]; then
  gates=0
  echo "dry activation: nothing changes on the hosts, so no health gates" >&2
fi

queue=("${rollout[@]}")
if [ "$bootstrap" -eq 1 ]; then
  members=()
  for entry in "${queue[@]}"; do
    [ "${entry%% *}" != etcd ] || members+=("${entry#* }")
  done
  if [ ${#members[@]} -gt 0 ] && [ "$gates" -eq 1 ]; then
    # Deploying every member at once is only safe without a quorum to lose: a cluster that already has one gets
    # a rolling deploy.
    mapfile -t urls < <(etcd_member_urls)
    if answer=$(health_on_host "${members[0]}" etcd-cluster "${urls[@]}"); then
      echo "$me: not bootstrapping: the etcd cluster is already running ($answer), and --bootstrap would restart every member at once; deploy it rolling: $me $cluster${named[*]:+ ${named[*]}}" >&2
      exit 1
    fi
  fi
  if [ ${#members[@]} -gt 0 ]; then
    deploy_step bootstrap "${members[@]}"
    if [ "$gates" -eq 1 ]; then
      mapfile -t urls < <(etcd_member_urls)
      health_wait "${members[0]}" etcd-cluster "${urls[@]}" ||
        stop bootstrap "the new etcd cluster did not become healthy within ${health_timeout}s (checked from ${members[0]})" "$health_answer" \
          "look at the members: ssh <member> journalctl -u etcd -n 50"
      # Then each member's own gates (a stacked member's API server and node), one host at a time. A failure
      # here resumes without --bootstrap from that member: the cluster has its quorum now.
      for member in "${members[@]}"; do
        gate "$member" "$member"
        done_hosts+=("$member")
      done
    else
      done_hosts+=("${members[@]}")
    fi
  fi
  rest=()
  for entry in "${queue[@]}"; do
    [ "${entry%% *}" = etcd ] || rest+=("$entry")
  done
  queue=("${rest[@]}")
fi

k=0
while [ $k -lt ${#queue[@]} ]; do
  phase=${queue[$k]%% *}
  host=${queue[$k]#* }
  step=("$host")
  if [ "$phase" = worker ]; then
    while [ ${#step[@]} -lt "$batch" ] && [ $((k + ${#step[@]})) -lt ${#queue[@]} ]; do
      step+=("${queue[$((k + ${#step[@]}))]#* }")
    done
  fi
  k=$((k + ${#step[@]}))

  if [ "$phase" = etcd ] && [ "$gates" -eq 1 ]; then
    # Restarting this member must leave a quorum: every other member is healthy before it is touched.
    mapfile -t others < <(etcd_member_urls "$host")
    if [ ${#others[@]} -gt 0 ]; then
      witness=$(jq -r --arg except "$host" 'map(select(.host.runsEtcd and .host.name != $except)) | first | .host.name' <<<"$hosts_json")
      if ! answer=$(health_on_host "$witness" etcd-cluster "${others[@]}"); then
        stop "$host" "not deploying $host: the other etcd members must be healthy first, so that restarting $host keeps a quorum (checked from $witness)" \
          "$answer" "on the cluster's first deploy (no quorum yet) use --bootstrap: $me --bootstrap $cluster"
      fi
    fi
  fi

  if [ "$gates" -eq 1 ]; then
    for h in "${step[@]}"; do
      [ "$(host_field "$h" .host.runsControlPlane)" != true ] || keep_one_ready "$h" apiserver runsControlPlane "API server"
      [ "$(host_field "$h" .host.runsLoadBalancer)" != true ] || keep_one_ready "$h" load-balancer runsLoadBalancer "load balancer"
    done
  fi

  deploy_step "$host" "${step[@]}"
  if [ "$gates" -eq 1 ]; then
    for h in "${step[@]}"; do gate "$h" "$host"; done
  fi
  done_hosts+=("${step[@]}")
done

echo "cluster $cluster deployed: ${done_hosts[*]:-no host}" >&2
