# Settings shared by every Kubernetes component on a host (control plane and nodes): the pinned package, the
# delivered CA, the pod network, and where this host's components find the API. Certificates come from the pki
# stack, so nixpkgs' easyCerts (and services.kubernetes.roles, which turns it on) stay off.
{
  config,
  lib,
  pkgs,
  hostFile,
  ...
}:
let
  h = hostFile;
  versionCheck = import ../lib/kubernetes-version.nix;
in
{
  config = lib.mkIf (h.host.runsKubelet || h.host.runsControlPlane) {
    services.kubernetes = {
      package = pkgs.kubernetes;
      easyCerts = false;
      caFile = h.pki.files.kubernetesCaCert;
      clusterCidr = h.kubernetes.podCidr;
      # Where this host's components reach the API: the node URL (libvirt VIP, GCP internal balancer), or the
      # local API server on a GCP control-plane host (GCP's internal balancer does not hairpin).
      apiserverAddress = h.api.url;
      masterAddress = h.api.address;
    };

    assertions = [
      {
        assertion = versionCheck.matches h.cluster.kubernetesVersion config.services.kubernetes.package.version;
        message = versionCheck.mismatchMessage {
          cluster = h.cluster.name;
          sourceFile = h.cluster.sourceFile;
          described = h.cluster.kubernetesVersion;
          packaged = config.services.kubernetes.package.version;
        };
      }
      {
        assertion = versionCheck.supported config.services.kubernetes.package.version;
        message = versionCheck.unsupportedMessage {
          cluster = h.cluster.name;
          sourceFile = h.cluster.sourceFile;
          version = config.services.kubernetes.package.version;
        };
      }
    ];

    environment.systemPackages = [ pkgs.kubectl ];
  };
}
