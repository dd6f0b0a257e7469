# What every machine of every cluster shares, base images included: DHCP networking, a default-deny firewall,
# UTC, the serial console for recovery, and the tools the smoke check and operators use on the hosts.
{ pkgs, ... }:
{
  imports = [ ./console.nix ];

  config = {
    # Addresses are pinned outside the host (libvirt DHCP reservation, GCP instance address) and interface
    # names differ between targets, so every interface is configured by DHCP.
    networking.useDHCP = true;

    # Default deny; sshd opens 22 and each role module opens exactly the ports it serves (nixos/lib/ports.nix).
    networking.firewall.enable = true;

    time.timeZone = "UTC";
    system.stateVersion = "25.11";

    environment.systemPackages = [
      pkgs.curl
      pkgs.jq
    ];
  };
}
