# Google Compute Engine instances: nixpkgs' GCE image module (guest agent, metadata, virtio-scsi/NVMe, serial
# console, root grown on boot) booting by UEFI, as the image the flake builds (Shielded VM capable).
{ lib, modulesPath, ... }:
{
  imports = [ "${modulesPath}/virtualisation/google-compute-image.nix" ];

  config = {
    virtualisation.googleComputeImage.efi = true;

    # The GCE module sets a GRUB timeout of 0: no menu, so no older generation can be chosen on the serial
    # console. Three seconds keep recovery possible at a small cost per boot.
    boot.loader.timeout = lib.mkForce 3;
  };
}
