# The hosts of one cluster as the operator scripts see them (bash; sourced by the scripts in scripts/, which run
# from the repository root and set $me to their own name for messages):
#   cluster_hosts_load <cluster>   reads every generated host file (nixos/clusters/<cluster>) into $hosts_json,
#                                  and checks a GCP cluster's saved outputs (the SSH addresses)
#   host_field <host> <jq path>    one value of a host file
#   ssh_destination <host>         user@address for SSH
#   on_host <host> <command>       runs a command there over SSH (stdin passed on)
#   on_host_root <host> <command>  the same as root (through `sudo -n` when the SSH user is not root)
#   health_on_host <host> <check> [args]
#                                  one attempt of a scripts/lib/health.sh check on the host, with the certificate
#                                  paths of its host file; node-ready runs here with the admin kubeconfig
#   health_wait <host> <check> [args]
#                                  retries that check until it passes (says so on stderr) or $health_timeout seconds
#                                  pass (each script sets it from HEALTH_TIMEOUT, with its own default), every
#                                  HEALTH_INTERVAL (default 5) seconds; the last answer is left in $health_answer
#   etcd_member_urls [<except>]    the etcd members' client URLs (but one)
# SSH verifies host keys against secrets/<cluster>/known_hosts when it exists (StrictHostKeyChecking=yes).

cluster_hosts_load() {
  hosts_cluster=$1
  hosts_dir="nixos/clusters/$1"
  if [ ! -f "$hosts_dir/default.nix" ]; then
    echo "$me: no generated files for cluster \"$1\" ($hosts_dir/default.nix): run \`CLUSTER_CONFIG=clusters/$1.yaml npx cdktf synth\`" >&2
    exit 1
  fi
  # Plain data, no nixpkgs needed; in plan order.
  hosts_json=$(nix-instantiate --eval --strict --json -E \
    "let index = import ./$hosts_dir/default.nix; in map (name: import index.hostFiles.\${name}) index.hosts")
  hosts_outputs=$(nix-instantiate --eval --strict --json -A outputs "$hosts_dir/default.nix")
  hosts_outputs_file="$hosts_dir/$(jq -r '.file' <<<"$hosts_outputs")"
  # A GCP cluster's SSH addresses exist only once the apply-time outputs are saved.
  if [ "$(jq -r '.required' <<<"$hosts_outputs")" = true ] && [ ! -f "$hosts_outputs_file" ]; then
    echo "$me: $hosts_outputs_file is missing, so there is no address to connect to: after \`cdktf deploy\`, run \`$(jq -r '.command' <<<"$hosts_outputs")\`" >&2
    exit 1
  fi
  ssh_known=()
  if [ -f "secrets/$1/known_hosts" ]; then
    ssh_known=(-o "UserKnownHostsFile=secrets/$1/known_hosts" -o StrictHostKeyChecking=yes)
  fi
}

host_field() { jq -r --arg name "$1" "map(select(.host.name == \$name)) | first | $2" <<<"$hosts_json"; }

ssh_destination() {
  local address
  if [ "$(host_field "$1" .deploy.hostnameSource)" = outputs ]; then
    address=$(jq -r --arg name "$1" '.[$name].ssh_address' "$hosts_outputs_file")
  else
    address=$(host_field "$1" .deploy.hostname)
  fi
  echo "$(host_field "$1" .deploy.sshUser)@$address"
}

on_host() {
  local host=$1
  shift
  # shellcheck disable=SC2029 # expanded here on purpose
  ssh -o BatchMode=yes -o ConnectTimeout=10 "${ssh_known[@]}" "$(ssh_destination "$host")" "$@"
}

on_host_root() {
  local host=$1 command=$2 quote="'\\''"
  if [ "$(host_field "$host" .deploy.sshUser)" != root ]; then
    command="sudo -n sh -c '${command//\'/$quote}'"
  fi
  on_host "$host" "$command"
}

# The health library's inputs for a host, from its host file, as quoted shell assignments.
health_env() {
  jq -r --arg name "$1" '
    map(select(.host.name == $name)) | first | . as $h
    | ($h.etcd.members // [] | map(select(.name == $name)) | first | .clientUrl // "" | capture(":(?<port>[0-9]+)$").port // "") as $etcdPort
    | [ "K8S_HEALTH_SUDO=" + (if $h.deploy.sshUser == "root" then "" else "sudo -n " end | @sh),
        "K8S_ETCD_CA=" + ($h.pki.files.etcdCaCert // "" | @sh),
        "K8S_ETCD_CERT=" + ($h.pki.files.etcdHealthcheckClientCert // "" | @sh),
        "K8S_ETCD_KEY=" + ($h.pki.files.etcdHealthcheckClientKey // "" | @sh),
        "K8S_CA=" + ($h.pki.files.kubernetesCaCert // "" | @sh),
        "K8S_API_PORT=" + ($h.api.port // 6443 | tostring | @sh) ]
      + (if $etcdPort == "" then [] else ["K8S_ETCD_PORT=" + ($etcdPort | @sh)] end)
    | join(" ")' <<<"$hosts_json"
}

health_on_host() {
  local host=$1
  shift
  if [ "$1" = node-ready ]; then
    KUBECONFIG=${KUBECONFIG:-secrets/$hosts_cluster/admin.kubeconfig} sh scripts/lib/health.sh "$@" 2>&1
  else
    on_host "$host" "env $(health_env "$host") sh -s -- $*" <scripts/lib/health.sh 2>&1
  fi
}

health_wait() {
  local host=$1 deadline=$((SECONDS + ${health_timeout:-600}))
  shift
  while :; do
    if health_answer=$(health_on_host "$host" "$@"); then
      echo "  $host: $health_answer" >&2
      return 0
    fi
    [ $SECONDS -lt $deadline ] || return 1
    sleep "${HEALTH_INTERVAL:-5}"
  done
}

etcd_member_urls() {
  jq -r --arg except "${1:-}" 'first(.[] | .etcd // empty | .members) | .[] | select(.name != $except) | .clientUrl' <<<"$hosts_json"
}
