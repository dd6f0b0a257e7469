# Control plane: kube-apiserver (etcd endpoints and client certificate, service CIDR, encryption at rest,
# service-account keys, kubelet client certificate, front proxy), kube-controller-manager (signs with the
# cluster CA, allocates pod CIDRs) and kube-scheduler. The controller manager, scheduler and add-on manager
# talk to the API server on this host.
{
  config,
  lib,
  hostFile,
  ...
}:
let
  h = hostFile;
  files = h.pki.files;
  k8s = h.kubernetes;
  ids = h.pki.identities;
  ports = import ../lib/ports.nix;
  issuers = import ../lib/service-account-issuer.nix { inherit (k8s) clusterDomain; };
  localKubeconfig = certFile: keyFile: {
    server = h.api.localUrl;
    caFile = files.kubernetesCaCert;
    inherit certFile keyFile;
  };
  controllerManagerKubeconfig = config.services.kubernetes.lib.mkKubeConfig "kube-controller-manager" config.services.kubernetes.controllerManager.kubeconfig;
  schedulerKubeconfig = config.services.kubernetes.lib.mkKubeConfig "kube-scheduler" config.services.kubernetes.scheduler.kubeconfig;
in
{
  config = lib.mkIf h.host.runsControlPlane {
    services.kubernetes.apiserver = {
      enable = true;
      bindAddress = "0.0.0.0";
      advertiseAddress = h.host.address;
      securePort = h.api.port;
      serviceClusterIpRange = k8s.serviceCidr;
      allowPrivileged = true;
      authorizationMode = [
        "Node"
        "RBAC"
      ];
      # Only the API versions Kubernetes serves by default (nixpkgs' default turns on a beta group).
      runtimeConfig = "";

      etcd = {
        servers = map (m: m.clientUrl) h.etcd.members;
        caFile = files.etcdCaCert;
        certFile = files.apiServerEtcdClientCert;
        keyFile = files.apiServerEtcdClientKey;
      };

      tlsCertFile = files.apiServerCert;
      tlsKeyFile = files.apiServerKey;
      clientCaFile = files.kubernetesCaCert;

      # To kubelets: verify their serving certificates (cluster CA) and present the kubelet client certificate.
      kubeletClientCaFile = files.kubernetesCaCert;
      kubeletClientCertFile = files.apiServerKubeletClientCert;
      kubeletClientKeyFile = files.apiServerKubeletClientKey;
      # Node names are bare host names; reach kubelets at their planned addresses.
      preferredAddressTypes = "InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP";

      # To aggregated API servers (metrics-server and the like).
      proxyClientCertFile = files.frontProxyClientCert;
      proxyClientKeyFile = files.frontProxyClientKey;

      serviceAccountKeyFile = files.serviceAccountPub;
      serviceAccountSigningKeyFile = files.serviceAccountKey;
      # kubeadm's issuer; tokens are signed with it. The issuer before this change stays accepted (second
      # --service-account-issuer below, and an audience), so tokens issued earlier keep working (docs/day-2.md).
      serviceAccountIssuer = issuers.current;
      apiAudiences = lib.concatStringsSep "," issuers.audiences;

      extraOpts = lib.concatStringsSep " " [
        "--service-account-issuer=${issuers.previous}"
        "--encryption-provider-config=${files.encryptionConfig}"
        "--requestheader-client-ca-file=${files.frontProxyCaCert}"
        "--requestheader-allowed-names=${ids.frontProxyClientName}"
        "--requestheader-username-headers=X-Remote-User"
        "--requestheader-group-headers=X-Remote-Group"
        "--requestheader-extra-headers-prefix=X-Remote-Extra-"
      ];
    };

    services.kubernetes.controllerManager = {
      enable = true;
      bindAddress = "127.0.0.1";
      securePort = ports.controllerManager;
      allocateNodeCIDRs = true;
      clusterCidr = k8s.podCidr;
      serviceAccountKeyFile = files.serviceAccountKey;
      # The trust bundle (old + new CA during a rotation): published to pods as kube-root-ca.crt.
      rootCaFile = files.kubernetesCaCert;
      kubeconfig = localKubeconfig files.controllerManagerCert files.controllerManagerKey;
      extraOpts = lib.concatStringsSep " " [
        # Exactly one certificate, the one ca.key belongs to (ca.crt is a bundle during a rotation).
        "--cluster-signing-cert-file=${files.kubernetesCaSigningCert}"
        "--cluster-signing-key-file=${files.kubernetesCaKey}"
        "--node-cidr-mask-size=${toString k8s.nodePodCidrPrefix}"
        "--service-cluster-ip-range=${k8s.serviceCidr}"
        "--authentication-kubeconfig=${controllerManagerKubeconfig}"
        "--authorization-kubeconfig=${controllerManagerKubeconfig}"
      ];
    };

    services.kubernetes.scheduler = {
      enable = true;
      address = "127.0.0.1";
      port = ports.scheduler;
      kubeconfig = localKubeconfig files.schedulerCert files.schedulerKey;
      extraOpts = lib.concatStringsSep " " [
        "--authentication-kubeconfig=${schedulerKubeconfig}"
        "--authorization-kubeconfig=${schedulerKubeconfig}"
      ];
    };

    networking.firewall.allowedTCPPorts = [ ports.apiServer ];
  };
}
