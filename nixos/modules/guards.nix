# Fails evaluation when what nixpkgs rendered for this host differs from what the cluster needs (nixos/lib/guards.nix):
# the kubelet's, the API server's, the controller manager's and the scheduler's command lines, etcd's environment,
# and the fields of the kubelet's configuration file. Not part of ./default.nix: it reads units that only the real
# nixpkgs modules render, so nixos/lib/host-modules.nix adds it for every real host and the VM test.
{
  config,
  lib,
  hostFile,
  ...
}:
let
  kubelet = config.services.kubernetes.kubelet;
in
{
  config.assertions = import ../lib/guards.nix {
    inherit hostFile;
    services = config.systemd.services;
    kubernetesVersion = config.services.kubernetes.package.version or null;
    # What nixpkgs' kubelet module writes into the KubeletConfiguration file (--config) besides its fixed fields:
    # these options, then extraConfig on top. The file itself is a derivation output, not readable at evaluation
    # time without building it (import from derivation).
    kubeletConfig = lib.optionalAttrs kubelet.enable (
      lib.optionalAttrs (kubelet.clusterDomain != "") { inherit (kubelet) clusterDomain; }
      // lib.optionalAttrs (kubelet.clusterDns != [ ]) { clusterDNS = kubelet.clusterDns; }
      // kubelet.extraConfig
    );
  };
}
