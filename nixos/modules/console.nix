# A serial console that works for recovery when SSH is gone (broken network, sshd, firewall or keys): GRUB's
# menu on the serial line (to boot an older generation), the kernel and systemd's messages on it, and a login
# prompt on it. Root's console password is a crypt(3) hash in a root-only file that the operator delivers over
# SSH (scripts/console-password.sh); NixOS reads it at every activation. The hash never enters the Nix store,
# which every local user can read. Without the file root has no password: the console shows a login prompt only.
# libvirt: `virsh console <cluster>-<host>`; GCP: serial port 1 (docs/nixos.md#serial-console).
{ lib, ... }:
let
  console = import ../lib/console.nix;
  speed = toString console.speed;
in
{
  config = {
    boot.kernelParams = [ "console=${console.device},${speed}n8" ];

    boot.loader.grub.extraConfig = ''
      serial --unit=${toString console.grubUnit} --speed=${speed} --word=8 --parity=no --stop=1
      terminal_input serial console
      terminal_output serial console
    '';

    # nixpkgs' headless profile (imported by the GCE image module) turns this getty off with mkDefault; the
    # kernel's console= also makes systemd's getty generator start it, this keeps it on without relying on that.
    systemd.services."serial-getty@${console.device}" = {
      enable = true;
      wantedBy = [ "getty.target" ];
    };

    # With users.mutableUsers = false (access.nix) activation rewrites /etc/shadow from the configuration: the
    # hash comes from this file when it exists; otherwise activation warns that it is missing and root stays
    # locked (key-only SSH is unaffected).
    users.users.root.hashedPasswordFile = console.passwordHashFile;
    systemd.tmpfiles.rules = [ "d ${console.credentialDir} 0700 root root -" ];
  };
}
