# The API VIP on libvirt: keepalived (VRRP, unicast between the holders) moves the address to a healthy holder.
# Holders are the load balancers (external-etcd topology: healthy = haproxy running) or, without load balancers,
# the control-plane hosts themselves (stacked topology: healthy = the local API server is ready). On GCP there is
# no VIP: Google's balancers serve the API.
{
  lib,
  pkgs,
  hostFile,
  ...
}:
let
  h = hostFile;
  vip = if h.api == null then null else h.api.vip;
  self = lib.findFirst (holder: holder.name == h.host.name) (throw "${h.host.name} is not a holder of the API VIP") vip.holders;
  peers = lib.filter (holder: holder.name != h.host.name) vip.holders;
  healthCheck =
    if h.host.runsLoadBalancer then
      "${pkgs.systemd}/bin/systemctl is-active --quiet haproxy.service"
    else
      # Loopback only, so certificate verification adds nothing here.
      "${pkgs.curl}/bin/curl --silent --fail --insecure --max-time 2 https://127.0.0.1:${toString h.api.port}/readyz";
in
{
  config = lib.mkIf (vip != null) {
    services.keepalived = {
      enable = true;
      # VRRP (IP protocol 112) between the holders.
      openFirewall = true;
      enableScriptSecurity = true;

      vrrpScripts.api-health = {
        script = healthCheck;
        interval = 2;
        timeout = 3;
        rise = 2;
        fall = 2;
      };

      vrrpInstances.k8s-api = {
        # libvirt guests have exactly one NIC, named eth0 (hardware/libvirt.nix).
        interface = "eth0";
        state = "BACKUP";
        priority = self.priority;
        virtualRouterId = vip.routerId;
        unicastSrcIp = self.address;
        unicastPeers = map (p: p.address) peers;
        virtualIps = [ { addr = "${vip.address}/${toString vip.prefixLength}"; } ];
        trackScripts = [ "api-health" ];
      };
    };

    # With script security on, keepalived runs the health check as this unprivileged user, which must exist.
    users.users.keepalived_script = {
      isSystemUser = true;
      group = "keepalived_script";
    };
    users.groups.keepalived_script = { };
  };
}
