# Cluster add-ons on the control-plane hosts, with nixpkgs' kube-addon-manager: CoreDNS (nixpkgs' DNS add-on,
# 2 replicas; the kubelet-node module enables it on every node so its image is seeded where it may run) and the
# RBAC for the components that run with their own certificates (flannel, the add-on manager, the API server's
# kubelet client).
#
# nixpkgs only wires the add-on manager's credentials and its cluster-wide "bootstrap" add-ons when easyCerts is
# on; with the delivered PKI this module does it: the add-on manager reads the delivered addon-manager
# certificate (no group: nixpkgs' Role in kube-system and its cluster-lister ClusterRole are all it gets), and
# k8s-addon-bootstrap applies ALL bootstrap add-ons (ClusterRoles and bindings): those of nixpkgs' modules
# (CoreDNS, flannel, the add-on manager's own) and the ones below, the operators' cluster-admin binding included.
# Creating those needs cluster-admin before any binding exists, so each run of k8s-addon-bootstrap signs itself a
# short-lived system:masters certificate with the cluster CA key this host holds anyway (for
# kube-controller-manager); its key lives only in the unit's runtime directory (tmpfs, removed when it stops).
{
  config,
  options,
  lib,
  pkgs,
  hostFile,
  ...
}:
let
  h = hostFile;
  files = h.pki.files;
  ids = h.pki.identities;
  addonManager = config.services.kubernetes.addonManager;

  # nixpkgs' flannel module adds ClusterRole "flannel" and its binding "flannel-crb" to the bootstrap add-ons;
  # the binding must name the user of the delivered flannel certificate.
  flannelBinding = addonManager.bootstrapAddons.flannel-crb or null;
  flannelBound =
    flannelBinding != null
    && flannelBinding.roleRef.name == "flannel"
    && builtins.any (s: s.kind == "User" && s.name == ids.flannelUser) flannelBinding.subjects;

  # CoreDNS must also run when every node is a (tainted) control-plane node: nixpkgs' Deployment tolerates only
  # the legacy node-role.kubernetes.io/master taint. The addons option merges an add-on's definitions shallowly,
  # so the Deployment is replaced (mkForce) by nixpkgs' own definition with the control-plane toleration added;
  # nixpkgs' definition is read from the option's definitions (not its value, which is this one).
  dnsModule = "/services/cluster/kubernetes/addons/dns.nix";
  nixpkgsCorednsDefinitions = builtins.filter (
    def: lib.hasSuffix dnsModule (toString def.file) && def.value ? coredns-deploy
  ) options.services.kubernetes.addonManager.addons.definitionsWithLocations;
  nixpkgsCoredns =
    if builtins.length nixpkgsCorednsDefinitions == 1 then
      (builtins.head nixpkgsCorednsDefinitions).value.coredns-deploy
    else
      throw "addons.nix: expected one definition of the CoreDNS Deployment (services.kubernetes.addonManager.addons.coredns-deploy) in nixpkgs' ${dnsModule}, found ${toString (builtins.length nixpkgsCorednsDefinitions)}; update the toleration patch for this nixpkgs";
  controlPlaneToleration = {
    key = "node-role.kubernetes.io/control-plane";
    operator = "Exists";
    effect = "NoSchedule";
  };
  nixpkgsTolerations = nixpkgsCoredns.spec.template.spec.tolerations or [ ];
  coredns = lib.recursiveUpdate nixpkgsCoredns {
    spec.template.spec.tolerations =
      nixpkgsTolerations
      ++ (
        if builtins.any (t: (t.key or null) == controlPlaneToleration.key) nixpkgsTolerations then
          [ ]
        else
          [ controlPlaneToleration ]
      );
  };
  kubeconfig = config.services.kubernetes.lib.mkKubeConfig "kube-addon-manager" {
    server = h.api.localUrl;
    caFile = files.kubernetesCaCert;
    certFile = files.addonManagerCert;
    keyFile = files.addonManagerKey;
  };
  # The bootstrap identity's files, minted by k8s-addon-bootstrap into its RuntimeDirectory.
  bootstrapRuntime = "/run/k8s-addon-bootstrap";
  bootstrapKubeconfig = config.services.kubernetes.lib.mkKubeConfig "k8s-addon-bootstrap" {
    server = h.api.localUrl;
    caFile = files.kubernetesCaCert;
    certFile = "${bootstrapRuntime}/client.crt";
    keyFile = "${bootstrapRuntime}/client.key";
  };
  bootstrapSubject = "/O=${ids.addonBootstrap.organization}/CN=${ids.addonBootstrap.commonName}";
  bootstrapFiles = lib.mapAttrsToList (
    name: object: pkgs.writeText "${name}.json" (builtins.toJSON object)
  ) addonManager.bootstrapAddons;
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
        # The operators' admin kubeconfig carries this group (kubeadm's binding): delete the binding to revoke it.
        k8s-nixos-cluster-admins = clusterRoleBinding ids.clusterAdminsBinding "cluster-admin" {
          kind = "Group";
          name = ids.clusterAdminsGroup;
        };
        # flanneld's RBAC (ClusterRole "flannel" bound to its certificate's user) comes from nixpkgs' flannel
        # module, applied by k8s-addon-bootstrap below (asserted).

        # nixpkgs' own add-on manager Role/ClusterRole bindings name "system:kube-addon-manager"; they apply to the
        # delivered certificate only when its user is that name.
      };
      # nixpkgs' CoreDNS Deployment, tolerating the control-plane taint too (see `coredns` above).
      addons.coredns-deploy = lib.mkIf config.services.kubernetes.addons.dns.enable (lib.mkForce coredns);
    };

    assertions = [
      {
        assertion = flannelBound;
        message = "nixpkgs' flannel RBAC (services.kubernetes.addonManager.bootstrapAddons.flannel-crb) must bind ClusterRole flannel to the flannel certificate's user (${ids.flannelUser}); is services.kubernetes.flannel enabled on the control plane?";
      }
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
      environment.KUBECONFIG = bootstrapKubeconfig;
      path = [
        pkgs.kubectl
        pkgs.openssl
      ];
      script = ''
        # The identity: a fresh key and a ${toString ids.addonBootstrap.validityDays}-day client certificate signed with the cluster CA, made
        # again before every attempt (the CA key may not be delivered yet; a long wait must not outlive the certificate).
        umask 077
        cd ${bootstrapRuntime}
        mint() {
          openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out client.key &&
          openssl req -new -key client.key -subj ${lib.escapeShellArg bootstrapSubject} -out client.csr &&
          printf '%s\n' 'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' 'extendedKeyUsage=clientAuth' > client.ext &&
          openssl x509 -req -in client.csr -CA ${files.kubernetesCaCert} -CAkey ${files.kubernetesCaKey} \
            -set_serial "0x$(openssl rand -hex 16)" -days ${toString ids.addonBootstrap.validityDays} -extfile client.ext -out client.crt &&
          rm -f client.csr client.ext
        }
        until mint && kubectl apply ${lib.concatMapStringsSep " " (file: "-f ${file}") bootstrapFiles}; do
          echo "the API server did not accept the bootstrap add-ons yet (or the cluster CA is not delivered yet); retrying in 5 s" >&2
          sleep 5
        done
      '';
      serviceConfig = {
        Type = "simple";
        User = "kubernetes";
        Group = "kubernetes";
        # Private tmpfs directory for the bootstrap key, removed when the unit stops.
        RuntimeDirectory = "k8s-addon-bootstrap";
        RuntimeDirectoryMode = "0700";
      };
    };
  };
}
