# A stopping API server drains instead of dropping its clients. On SIGTERM (every restart: deploys, PKI
# rotation) kube-apiserver at once answers /readyz with an error but keeps serving for --shutdown-delay-duration,
# so the load balancers take it out of rotation while it still accepts; only then does it close its listener and
# finish the requests in flight. During that last phase --shutdown-send-retry-after answers new requests with
# 429 + Retry-After (and closes the connection), so clients retry elsewhere instead of seeing a reset.
#
# The delay covers the slowest balancer's detection of an unready server (docs/ha.md "Draining an API server"):
# haproxy 0.75 s (nixos/lib/haproxy-config.nix), the stacked VIP's check <= 2.45 s (nixos/lib/keepalived-config.nix),
# GCP's passthrough balancers <= 4 s plus the time Google takes to act on it (constructs/gcp/load-balancers.ts).
# It adds that much to every API server restart; systemd's stop timeout (90 s) leaves room for the drain after it.
{ lib, hostFile, ... }:
let
  shutdownDelaySeconds = 15;
in
{
  config = lib.mkIf hostFile.host.runsControlPlane {
    services.kubernetes.apiserver.extraOpts = lib.concatStringsSep " " [
      "--shutdown-delay-duration=${toString shutdownDelaySeconds}s"
      "--shutdown-send-retry-after=true"
    ];
  };
}
