# libvirt (QEMU/KVM) guests: virtio devices, BIOS boot from the qcow2 base image, root filesystem grown to the
# volume's size on boot, serial console (the domains have no display).
{ modulesPath, ... }:
{
  imports = [ "${modulesPath}/profiles/qemu-guest.nix" ];

  config = {
    boot.loader.grub.device = "/dev/vda";
    boot.growPartition = true;
    fileSystems."/" = {
      device = "/dev/disk/by-label/nixos";
      fsType = "ext4";
      autoResize = true;
    };
    # The serial console (kernel, GRUB, login) is set up by ../console.nix for every target.

    # One NIC, always eth0: keepalived names the interface that carries the API VIP.
    networking.usePredictableInterfaceNames = false;

    services.qemuGuest.enable = true;
  };
}
