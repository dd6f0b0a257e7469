# Cluster add-ons on the control-plane hosts, with nixpkgs' kube-addon-manager: CoreDNS (nixpkgs' DNS add-on,
# 2 replicas; the kubelet-node module enables it on every node so its image is seeded where it may run) and the
# RBAC for the components that run with their own certificates (flannel, the add-on manager, the API server's
# kubelet client).
#
# nixpkgs only wires the add-on manager's credentials and its cluster-wide "bootstrap" add-ons when easyCerts is
# on; with the delivered PKI this module does it: the add-on manager reads the delivered addon-manager
# certificate, and k8s-addon-bootstrap applies the bootstrap add-ons (ClusterRoles and bindings) with it.
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
  kubeconfig = config.services.kubernetes.lib.mkKubeConfig "kube-addon-manager" {
    server = h.api.localUrl;
    caFile = files.kubernetesCaCert;
    certFile = files.addonManagerCert;
    keyFile = files.addonManagerKey;
  };
  bootstrapFiles = lib.mapAttrsToList (
    name: object: pkgs.writeText "${name}.json" (builtins.toJSON object)
  ) config.services.kubernetes.addonManager.bootstrapAddons;
  clusterRoleBinding = name: role: subject: {
    apiVersion = "rbac.authorization.k8s.io/v1";
    kind = "ClusterRoleBinding";
    metadata.name = name;
    roleRef = {
      apiGroup = "rbac.authorization.k8s.io";
      kind = "ClusterRole";
      name = role;
    };
    subjects = [ (subject // { apiGroup = "rbac.authorization.k8s.io"; }) ];
  };
in
{
  config = lib.mkIf h.host.runsControlPlane {
    services.kubernetes.addonManager = {
      enable = true;
      bootstrapAddons = {
        # The API server's kubelet client certificate carries this group: the whole kubelet API (logs, exec,
        # attach, port-forward, metrics).
        k8s-nixos-kubelet-api-admins = clusterRoleBinding "k8s-nixos:kubelet-api-admins" "system:kubelet-api-admin" {
          kind = "Group";
          name = ids.kubeletApiAdminsGroup;
        };
        # flanneld (Kubernetes subnet manager) reads nodes and patches their status. ClusterRole "flannel" comes
        # from nixpkgs (services.kubernetes.flannel); this binds it to the delivered flannel certificate's user.
        k8s-nixos-flannel = clusterRoleBinding "k8s-nixos:flannel" "flannel" {
          kind = "User";
          name = ids.flannelUser;
        };
        # nixpkgs' own add-on manager Role/ClusterRole bindings name "system:kube-addon-manager"; they apply to the
        # delivered certificate only when its user is that name.
      };
    };

    assertions = [
      {
        assertion = ids.addonManagerUser == "system:kube-addon-manager";
        message = "the addon-manager certificate's user (${ids.addonManagerUser}) must be system:kube-addon-manager, the subject of nixpkgs' add-on manager RBAC";
      }
    ];

    systemd.services.kube-addon-manager.environment.KUBECONFIG = kubeconfig;

    # Applies the bootstrap add-ons until the API server accepts them. Type=simple: the activation does not
    # wait for the API server (deploy-rs would otherwise roll back a host whose API server is still starting).
    systemd.services.k8s-addon-bootstrap = {
      description = "Apply the cluster-wide Kubernetes add-ons (ClusterRoles and bindings)";
      wantedBy = [ "kubernetes.target" ];
      after = [ "kube-apiserver.service" ];
      environment.KUBECONFIG = kubeconfig;
      path = [ pkgs.kubectl ];
      script = ''
        until kubectl apply ${lib.concatMapStringsSep " " (file: "-f ${file}") bootstrapFiles}; do
          echo "the API server did not accept the bootstrap add-ons yet; retrying in 5 s" >&2
          sleep 5
        done
      '';
      serviceConfig = {
        Type = "simple";
        User = "kubernetes";
        Group = "kubernetes";
      };
    };
  };
}
