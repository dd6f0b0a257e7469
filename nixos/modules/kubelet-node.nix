# Every Kubernetes node, control plane included: containerd, kubelet (its own certificate, cluster DNS IP and
# domain), kube-proxy and flannel (VXLAN, Kubernetes subnet manager). Control-plane hosts register with exactly the
# taint node-role.kubernetes.io/control-plane:NoSchedule so ordinary pods stay off them, yet they can still reach pods
# (webhooks, metrics); workers register with no taint. The control-plane label is set through the API
# (node-roles.nix); guards.nix asserts the rendered kubelet command line.
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
  ports = import ../lib/ports.nix;
  roles = import ../lib/node-roles.nix;
  kubeconfigFor = certFile: keyFile: {
    server = h.api.url;
    caFile = files.kubernetesCaCert;
    inherit certFile keyFile;
  };
in
{
  config = lib.mkIf h.host.runsKubelet {
    services.kubernetes = {
      kubelet = {
        enable = true;
        hostname = h.host.name;
        nodeIp = h.host.address;
        clusterDns = [ k8s.dnsServiceIp ];
        clusterDomain = k8s.clusterDomain;
        clientCaFile = files.kubernetesCaCert;
        # One certificate serves kubelet's API (server auth) and identifies it as system:node:<host> (client auth).
        tlsCertFile = files.kubeletCert;
        tlsKeyFile = files.kubeletKey;
        kubeconfig = kubeconfigFor files.kubeletCert files.kubeletKey;
        # nixpkgs sets unschedulable = mkDefault true when every entry of services.kubernetes.roles is "master",
        # which holds for the empty list this project keeps (easyCerts off): it would taint every node
        # unschedulable=true:NoSchedule, workers included.
        unschedulable = false;
        taints = lib.mkIf h.host.runsControlPlane { control-plane = roles.controlPlaneTaint; };
      };

      proxy = {
        enable = true;
        hostname = h.host.name;
        kubeconfig = kubeconfigFor files.kubeProxyCert files.kubeProxyKey;
      };

      flannel = {
        enable = true;
        # Opened below: only the VXLAN port this backend uses.
        openFirewallPorts = false;
      };

      # CoreDNS runs with imagePullPolicy Never: its image is seeded on every node that may run it.
      addons.dns = {
        enable = true;
        clusterIp = k8s.dnsServiceIp;
        clusterDomain = k8s.clusterDomain;
        replicas = 2;
      };
    };

    services.flannel = {
      iface = lib.mkIf (config.k8sNixos.nodeInterface != null) config.k8sNixos.nodeInterface;
      network = k8s.podCidr;
      subnetLen = k8s.nodePodCidrPrefix;
      kubeconfig = config.services.kubernetes.lib.mkKubeConfig "flannel" (kubeconfigFor files.flannelCert files.flannelKey);
    };
    # Masquerade pod traffic that leaves the pod network (e.g. to an API server's node address), so it carries the
    # node's address: GCP drops packets from unknown sources and replies must not take the overlay back.
    systemd.services.flannel.environment.FLANNELD_IP_MASQ = "true";

    virtualisation.containerd.enable = true;

    networking.firewall = {
      allowedTCPPorts = [ ports.kubelet ];
      allowedUDPPorts = [ ports.flannelVxlan ];
      # Service traffic is DNATed and pod traffic crosses bridge, overlay and uplink: accept replies whose
      # route back uses another interface.
      checkReversePath = "loose";
    };
  };
}
