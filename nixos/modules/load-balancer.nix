# API load balancer (libvirt, external-etcd topology): haproxy in TCP mode in front of every API server,
# health-checked on /readyz (served to anonymous clients), so a stopped or unready API server leaves the pool.
# The VIP itself is held by keepalived (api-vip.nix).
{
  lib,
  hostFile,
  ...
}:
let
  h = hostFile;
  ports = import ../lib/ports.nix;
  backend = s: "  server ${s.name} ${s.address}:${toString h.api.port} check check-ssl verify none";
in
{
  config = lib.mkIf h.host.runsLoadBalancer {
    services.haproxy = {
      enable = true;
      config = lib.concatStringsSep "\n" (
        [
          "global"
          "  log stdout format raw local0 info"
          "  maxconn 20000"
          ""
          "defaults"
          "  mode tcp"
          "  log global"
          "  option tcplog"
          "  option dontlognull"
          "  timeout connect 5s"
          # Watches and exec/attach streams stay open for a long time.
          "  timeout client 4h"
          "  timeout server 4h"
          "  timeout check 5s"
          ""
          "frontend kube-apiserver"
          "  bind :${toString ports.apiServer}"
          "  default_backend kube-apiserver"
          ""
          "backend kube-apiserver"
          "  balance roundrobin"
          "  option httpchk GET /readyz"
          "  http-check expect status 200"
          "  default-server inter 3s fall 3 rise 2"
        ]
        ++ map backend h.api.servers
        ++ [ "" ]
      );
    };

    networking.firewall.allowedTCPPorts = [ ports.apiServer ];
  };
}
