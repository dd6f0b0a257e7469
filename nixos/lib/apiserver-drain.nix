# How a stopping kube-apiserver drains (used by nixos/modules/apiserver-drain.nix; a test compares the delay with
# every balancer's detection time). Pure.
#
# On SIGTERM (every restart: deploys, PKI rotation) kube-apiserver at once answers /readyz with an error but keeps
# serving for --shutdown-delay-duration, so the balancers take it out of rotation while it still accepts; only
# then does it close its listener and finish the requests in flight. --shutdown-send-retry-after answers requests
# that still arrive in that last phase with 429 + Retry-After (and closes the connection), so clients retry
# elsewhere instead of seeing a reset.
#
# The delay covers the slowest balancer's detection of an unready server (docs/ha.md "Draining an API server"):
# haproxy 0.75 s (haproxy-config.nix), the stacked VIP <= 2 s (keepalived-config.nix), GCP's passthrough
# balancers 4 s plus the time Google takes to act on it (constructs/gcp/load-balancers.ts). Every API server restart
# takes that much longer; systemd's stop timeout (90 s) leaves room for the drain after it.
let
  shutdownDelaySeconds = 15;
in
{
  inherit shutdownDelaySeconds;
  flags = [
    "--shutdown-delay-duration=${toString shutdownDelaySeconds}s"
    "--shutdown-send-retry-after=true"
  ];
}
