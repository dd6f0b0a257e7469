# API load balancer (libvirt, external-etcd topology): haproxy in TCP mode in front of every API server,
# health-checked on /readyz (served to anonymous clients), so a stopped or unready API server leaves the pool; a
# connection that fails is retried on another server. The configuration text is nixos/lib/haproxy-config.nix (the
# HA test runs the real haproxy on it). The VIP itself is held by keepalived (api-vip.nix), which asks this
# haproxy's loopback monitor whether it reaches an API server.
{
  lib,
  hostFile,
  ...
}:
let
  h = hostFile;
  ports = import ../lib/ports.nix;
in
{
  config = lib.mkIf h.host.runsLoadBalancer {
    services.haproxy = {
      enable = true;
      config = (import ../lib/haproxy-config.nix { hostFile = h; }).config;
    };

    # A changed configuration is applied by a reload (nixpkgs' ExecReload: check, then USR2 to the master, which
    # hands the listening sockets to the new workers), not a restart: no connection is refused and established
    # ones (watches, exec sessions) stay with the old worker until they end.
    systemd.services.haproxy.reloadIfChanged = true;

    networking.firewall.allowedTCPPorts = [ ports.apiServer ];
  };
}
