# The API VIP on libvirt: keepalived (VRRP, unicast between the holders) moves the address to a healthy holder.
# Holders are the load balancers (external-etcd topology: healthy = the local haproxy reaches a ready API server)
# or, without load balancers, the control-plane hosts themselves (stacked topology: healthy = the local API server
# is ready). No preemption: a holder that recovers stays backup. The configuration text is
# nixos/lib/keepalived-config.nix (the HA test runs the real keepalived on it). On GCP there is no VIP: Google's
# balancers serve the API.
{
  config,
  lib,
  pkgs,
  hostFile,
  ...
}:
let
  h = hostFile;
  vip = if h.api == null then null else h.api.vip;
  keepalived = import ../lib/keepalived-config.nix {
    hostFile = h;
    bash = "${pkgs.bash}/bin/bash";
    curl = "${pkgs.curl}/bin/curl";
    scriptUser = "keepalived_script";
    checkScriptFile = pkgs.writeText "api-vip-check.sh" keepalived.checkScript;
    # libvirt guests have exactly one NIC, named eth0 (hardware/libvirt.nix); the VM test names its own.
    interface = if config.k8sNixos.nodeInterface == null then "eth0" else config.k8sNixos.nodeInterface;
  };
in
{
  config = lib.mkIf (vip != null) {
    services.keepalived = {
      enable = true;
      # VRRP (IP protocol 112) between the holders.
      openFirewall = true;
      enableScriptSecurity = true;
      extraGlobalDefs = keepalived.globalDefs;
      extraConfig = keepalived.config;
    };

    # With script security on, keepalived runs the health check as this unprivileged user, which must exist.
    users.users.keepalived_script = {
      isSystemUser = true;
      group = "keepalived_script";
    };
    users.groups.keepalived_script = { };
  };
}
