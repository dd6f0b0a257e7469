# A stopping API server drains instead of dropping its clients: the flags of nixos/lib/apiserver-drain.nix (why
# and how long: there). A module of its own so the control-plane module stays about the components' wiring.
{ lib, hostFile, ... }:
{
  config = lib.mkIf hostFile.host.runsControlPlane {
    services.kubernetes.apiserver.extraOpts = lib.concatStringsSep " " (import ../lib/apiserver-drain.nix).flags;
  };
}
