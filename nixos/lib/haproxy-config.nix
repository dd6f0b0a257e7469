# The API load balancer's haproxy configuration, from a host file. Pure (builtins only): the load-balancer module
# hands `config` to services.haproxy.config, and __tests__/api-endpoint-ha.test.ts runs the real haproxy on the
# same text (nixpkgs' module only puts a `global` section with its stats socket in front of it).
#
# Failover timing (docs/ha.md "Load balancers: haproxy"), from `timing`:
# - a new connection whose server refuses, resets or times out (`timeout connect`) is retried on another server
#   (`option redispatch 1`: every retry picks a different server), so losing one API server costs no new connection;
# - that failed connection also marks the server down at once (`observe layer4 error-limit 1 on-error mark-down`),
#   so the next connections do not try it and a balancer that reaches no server at all says so after one
#   connection (its monitor turns 503 and keepalived moves the VIP); it is taken back after `rise` good checks;
# - without traffic, the checks find it: a server is marked down after `fall` failed checks, the first within
#   `inter`, the next ones `fastinter` apart; a check fails at once (refused, /readyz not 200) or after the check's
#   connect timeout, min(`timeout connect`, `inter`) (no answer: host gone):
#     refused or unready  inter + (fall-1)*fastinter                            = 0.5 + 0.25            = 0.75 s
#     no answer           inter + fall*min(connect, inter) + (fall-1)*fastinter = 0.5 + 2*0.25 + 0.25 = 1.25 s
#   (a server that accepts and then never answers /readyz: `timeout check` is the read timeout, 0.5 + 2*1 + 0.25 = 2.75 s);
#   /readyz failing (unready, or draining: apiserver-drain.nix) is only seen by the checks: 0.75 s;
# - a server marked down keeps its established sessions (no `on-marked-down shutdown-sessions`): a draining API
#   server (--shutdown-delay-duration, apiserver-drain.nix) fails /readyz first, is marked down while it still
#   serves, and finishes its requests and closes its watches itself, so its clients reconnect elsewhere without
#   an error. Shutting the sessions would cut those requests at every API server restart, and it also kills
#   connections haproxy is just redispatching away from the server (measured: one per silent loss). The price:
#   the established sessions of a server that vanishes stay until their client notices (client-go's HTTP/2 health
#   check: 30 s idle + 15 s ping timeout) and reconnects.
{ hostFile }:
let
  h = hostFile;
  ports = import ./ports.nix;
  # Seconds; rendered below in milliseconds.
  timing = {
    connect = 0.25;
    check = 1;
    inter = 0.5;
    fastinter = 0.25;
    downinter = 1;
    fall = 2;
    rise = 2;
    retries = 2;
  };
  ms = seconds: "${toString (builtins.floor (seconds * 1000))}ms";
  # Loopback only: keepalived on this host asks it whether this balancer reaches an API server.
  monitor = {
    address = "127.0.0.1";
    port = 8404;
    path = "/healthz";
  };
  server = s: "  server ${s.name} ${s.address}:${toString h.api.port} check check-ssl verify none";
  lines = [
    "global"
    "  log stdout format raw local0 info"
    "  maxconn 20000"
    ""
    "defaults"
    "  mode tcp"
    "  log global"
    "  option tcplog"
    "  option dontlognull"
    # One node network (a LAN): a handshake takes well under a millisecond, and a lost SYN would only be resent
    # after 1 s, so a longer connect timeout gains nothing; the retry goes to another server.
    "  timeout connect ${ms timing.connect}"
    "  retries ${toString timing.retries}"
    "  option redispatch 1"
    # Watches and exec/attach streams stay open for a long time.
    "  timeout client 4h"
    "  timeout server 4h"
    "  timeout check ${ms timing.check}"
    ""
    "frontend kube-apiserver"
    "  bind :${toString ports.apiServer}"
    "  default_backend kube-apiserver"
    ""
    # 200 while at least one API server is up, 503 otherwise (and nothing at all when haproxy is down).
    "frontend monitor"
    "  mode http"
    "  bind ${monitor.address}:${toString monitor.port}"
    "  timeout client 5s"
    "  monitor-uri ${monitor.path}"
    "  monitor fail if { nbsrv(kube-apiserver) lt 1 }"
    ""
    "backend kube-apiserver"
    "  balance roundrobin"
    "  option httpchk GET /readyz"
    "  http-check expect status 200"
    # Checks find a dead server without traffic; a failed connection marks it down at once (see the top).
    "  default-server inter ${ms timing.inter} fastinter ${ms timing.fastinter} downinter ${ms timing.downinter} fall ${toString timing.fall} rise ${toString timing.rise} observe layer4 error-limit 1 on-error mark-down"
  ]
  ++ map server h.api.servers;
in
if !h.host.runsLoadBalancer then
  throw "nixos/lib/haproxy-config.nix: ${h.host.name} does not run the load-balancer role"
else
  {
    inherit timing monitor;
    config = builtins.concatStringsSep "\n" lines + "\n";
  }
