# Node roles as kubeadm's mark-control-plane phase sets them, through the API: a kubelet may not put
# node-role.kubernetes.io/* labels on itself (NodeRestriction refuses them at registration). On every control-plane
# host, k8s-node-roles labels its own node node-role.kubernetes.io/control-plane="" with the node-labeler
# certificate, whose ClusterRole (bootstrapped by k8s-addon-bootstrap) may only get, list and patch nodes. The taint
# comes from the kubelet's --register-with-taints (kubelet-node.nix).
#
# Migration, once per control-plane host (stamp in /var/lib/k8s-node-roles): nodes registered before the project
# turned off nixpkgs' `kubelet.unschedulable` default carry the taint unschedulable=true:NoSchedule, which
# --register-with-taints never removes. The unit removes exactly that taint (key, value and effect) from every node
# that has it, with a JSON patch that tests the entry it removes; other taints are left alone (docs/day-2.md).
{
  config,
  lib,
  pkgs,
  hostFile,
  ...
}:
let
  h = hostFile;
  files = h.pki.files;
  ids = h.pki.identities;
  roles = import ../lib/node-roles.nix;
  kubeconfig = config.services.kubernetes.lib.mkKubeConfig "k8s-node-roles" {
    server = h.api.localUrl;
    caFile = files.kubernetesCaCert;
    certFile = files.nodeLabelerCert;
    keyFile = files.nodeLabelerKey;
  };
  labelPatch = builtins.toJSON { metadata.labels.${roles.controlPlaneLabel} = ""; };
  staleTaint = builtins.toJSON roles.staleTaint;
  # In the unit's StateDirectory (systemd sets STATE_DIRECTORY; the fallback is the same directory).
  stamp = "\${STATE_DIRECTORY:-/var/lib/k8s-node-roles}/stale-unschedulable-taint-removed";
in
{
  config = lib.mkIf h.host.runsControlPlane {
    services.kubernetes.addonManager.bootstrapAddons = {
      k8s-nixos-node-labeler-role = {
        apiVersion = "rbac.authorization.k8s.io/v1";
        kind = "ClusterRole";
        metadata.name = ids.nodeLabelerUser;
        rules = [
          {
            apiGroups = [ "" ];
            resources = [ "nodes" ];
            # get/list to find the stale taint's position, patch to set the label and remove it; nothing else.
            verbs = [
              "get"
              "list"
              "patch"
            ];
          }
        ];
      };
      k8s-nixos-node-labeler = {
        apiVersion = "rbac.authorization.k8s.io/v1";
        kind = "ClusterRoleBinding";
        metadata.name = ids.nodeLabelerUser;
        roleRef = {
          apiGroup = "rbac.authorization.k8s.io";
          kind = "ClusterRole";
          name = ids.nodeLabelerUser;
        };
        subjects = [
          {
            apiGroup = "rbac.authorization.k8s.io";
            kind = "User";
            name = ids.nodeLabelerUser;
          }
        ];
      };
    };

    # Retries until the node is registered and the RBAC above applied. Type=simple, so an activation never waits
    # for the API server (deploy-rs would roll back a host whose API server is still starting).
    systemd.services.k8s-node-roles = {
      description = "Label this control-plane node and remove the stale unschedulable taint (once)";
      wantedBy = [ "kubernetes.target" ];
      after = [
        "kube-apiserver.service"
        "kubelet.service"
      ];
      environment.KUBECONFIG = kubeconfig;
      path = [
        pkgs.kubectl
        pkgs.jq
      ];
      script = ''
        set -euo pipefail
        until kubectl patch node ${lib.escapeShellArg h.host.name} --type=merge -p ${lib.escapeShellArg labelPatch}; do
          echo "node ${h.host.name} is not registered or the node-labeler RBAC is not applied yet; retrying in 5 s" >&2
          sleep 5
        done
        if [ ! -e "${stamp}" ]; then
          until nodes=$(kubectl get nodes -o json); do
            echo "cannot list the nodes yet; retrying in 5 s" >&2
            sleep 5
          done
          jq -r --argjson taint ${lib.escapeShellArg staleTaint} \
            '.items[] | .metadata.name as $n | (.spec.taints // []) | to_entries[] | select(.value == $taint) | "\($n) \(.key)"' \
            <<<"$nodes" | sort -k1,1 -k2,2nr | while read -r node index; do
            echo "removing the stale taint unschedulable=true:NoSchedule from node $node" >&2
            kubectl patch node "$node" --type=json \
              -p "[{\"op\":\"test\",\"path\":\"/spec/taints/$index\",\"value\":$(jq -c . <<<${lib.escapeShellArg staleTaint})},{\"op\":\"remove\",\"path\":\"/spec/taints/$index\"}]"
          done
          touch "${stamp}"
        fi
      '';
      serviceConfig = {
        Type = "simple";
        User = "kubernetes";
        Group = "kubernetes";
        StateDirectory = "k8s-node-roles";
        # A failed list or patch (e.g. the node's taints changed between the two) starts over.
        Restart = "on-failure";
        RestartSec = "10s";
      };
    };
  };
}
