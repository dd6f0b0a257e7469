# keepalived's part of the API VIP, from a host file. Pure (builtins only): the api-vip module hands `globalDefs`
# and `config` to nixpkgs' keepalived module (extraGlobalDefs, extraConfig; that module adds only the
# `global_defs { enable_script_security ... }` frame around them), and __tests__/api-endpoint-ha.test.ts runs the
# real keepalived on the same text. What differs between hosts and tests is an argument: the paths of bash and
# curl, the user the check runs as, where the check script lives, the interface.
#
# Holders: the load balancers (external-etcd topology) or the control-plane hosts (stacked). All start as BACKUP
# with `nopreempt`, so a holder that recovers does not take the VIP back (one move per failure, not two).
#
# Failover timing (docs/ha.md "The VIP"): the holder's check fails, it enters FAULT, drops the VIP and sends a
# priority-0 advertisement; the next holder takes over after its skew time, (256 - priority)/256 * advert_int
# (0.41-0.49 s for the planned priorities 150, 140, 130):
# - load balancer: the check asks the local haproxy's monitor (200 while haproxy reaches an API server) every
#   0.05 s for 0.9 s of each 1 s run, `fall 1` (haproxy already debounces its servers: fall/rise 2): haproxy stopped
#   <= 0.2 s + skew; every API server unreachable from it: haproxy marks them down on the first connection that
#   fails on all of them, or its checks do without traffic (haproxy-config.nix, 0.75-1.25 s), then <= 0.2 s + skew;
# - control plane (stacked): the check asks the local API server's /readyz once a second and fails after two
#   failed answers 0.5 s apart (no haproxy in front to debounce): <= 1 s + 0.5 s + skew;
# - a holder that stops keepalived sends the priority-0 advertisement itself: skew time only;
# - a holder that dies silently (power, network) is replaced when its advertisements stop: 3 * advert_int + skew
#   <= 3.45 s (VRRPv2, advert_int 1 s, keepalived's defaults kept; see docs/ha.md for why not VRRPv3).
{
  hostFile,
  # Paths of bash and curl on the host.
  bash,
  curl,
  # The unprivileged user keepalived runs the check as (script security is on).
  scriptUser,
  # Where `checkScript` is stored (a store path on hosts, a file in a test).
  checkScriptFile,
  interface,
}:
let
  h = hostFile;
  vip = if h.api == null then null else h.api.vip;
  holder =
    let
      found = builtins.filter (x: x.name == h.host.name) vip.holders;
    in
    if found == [ ] then throw "nixos/lib/keepalived-config.nix: ${h.host.name} is not a holder of the API VIP" else builtins.head found;
  peers = builtins.filter (x: x.name != h.host.name) vip.holders;
  haproxy = import ./haproxy-config.nix { inherit hostFile; };

  timing =
    if h.host.runsLoadBalancer then
      {
        interval = 1;
        fall = 1;
        rise = 2;
        timeout = 2;
        advertInt = 1;
        # How often one run of the check asks haproxy (a string: it is `read -t`'s argument).
        probeInterval = "0.05";
        # Seconds from haproxy refusing or answering 503 to the check failing, at worst: its next probe, or the
        # first of the next run after the ~0.1 s between two runs.
        checkFailsAfter = 0.2;
      }
    else
      {
        interval = 1;
        # Debounced inside the check (a second probe `probeInterval` after a failed one), which is faster than
        # keepalived's `fall 2` (a second run a whole interval later).
        fall = 1;
        rise = 2;
        # A run takes at most two probes of 1 s and the pause.
        timeout = 3;
        advertInt = 1;
        probeInterval = "0.5";
        # Seconds from a refused or failed answer to the check failing, at worst: the next run (interval), then
        # the second probe.
        checkFailsAfter = 1.5;
      };

  # bash only (its /dev/tcp, and `read -t` on a pipe nobody writes to as the pause), no process per probe: haproxy's
  # monitor answers over plain HTTP on loopback.
  loadBalancerCheck = ''
    # Fails as soon as this host's haproxy does not answer its monitor with 200: haproxy is down, or it reaches no
    # API server. Probes every ${timing.probeInterval} s for ~0.9 s of each run (keepalived runs it every ${toString timing.interval} s).
    exec 4<> <(:)
    for _ in {1..16}; do
      exec 3<>/dev/tcp/${haproxy.monitor.address}/${toString haproxy.monitor.port} || exit 1
      printf 'GET ${haproxy.monitor.path} HTTP/1.0\r\n\r\n' >&3 || exit 1
      read -r -t 1 _ status _ <&3 || exit 1
      exec 3<&-
      [ "$status" = 200 ] || exit 1
      read -r -t ${timing.probeInterval} -u 4 || :
    done
  '';
  # Loopback only, so certificate verification adds nothing here.
  controlPlaneCheck = ''
    # Fails when this host's API server does not answer /readyz with 200 within 1 s twice in a row, ${timing.probeInterval} s apart:
    # one slow or failed answer does not move the VIP.
    probe() { ${curl} --silent --fail --insecure --max-time 1 --output /dev/null https://127.0.0.1:${toString h.api.port}/readyz; }
    probe && exit 0
    read -r -t ${timing.probeInterval} <> <(:) || :
    probe
  '';
in
if vip == null then
  throw "nixos/lib/keepalived-config.nix: cluster ${h.cluster.name} has no API VIP"
else if !(vip.routerId >= 1 && vip.routerId <= 255) then
  throw "nixos/lib/keepalived-config.nix: virtual router id ${toString vip.routerId} is not in 1..255"
else if !(holder.priority >= 1 && holder.priority <= 254) then
  throw "nixos/lib/keepalived-config.nix: priority ${toString holder.priority} of ${h.host.name} is not in 1..254"
else
  {
    inherit timing;
    checkScript = if h.host.runsLoadBalancer then loadBalancerCheck else controlPlaneCheck;
    globalDefs = ''
      router_id ${h.host.name}
    '';
    config = ''
      vrrp_script api-health {
        script "${bash} ${checkScriptFile}"
        interval ${toString timing.interval}
        timeout ${toString timing.timeout}
        fall ${toString timing.fall}
        rise ${toString timing.rise}
        weight 0
        user ${scriptUser}
      }

      vrrp_instance k8s-api {
        interface ${interface}
        state BACKUP
        nopreempt
        virtual_router_id ${toString vip.routerId}
        priority ${toString holder.priority}
        advert_int ${toString timing.advertInt}
        unicast_src_ip ${holder.address}
        unicast_peer {
      ${builtins.concatStringsSep "\n" (map (p: "    ${p.address}") peers)}
        }
        virtual_ipaddress {
          ${vip.address}/${toString vip.prefixLength} dev ${interface}
        }
        track_script {
          api-health
        }
      }
    '';
  }
