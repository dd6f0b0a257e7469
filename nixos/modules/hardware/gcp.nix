# Google Compute Engine instances: nixpkgs' GCE image module (guest agent, metadata, virtio-scsi/NVMe, serial
# console, root grown on boot) booting by UEFI, as the image the flake builds (Shielded VM capable).
{ modulesPath, ... }:
{
  imports = [ "${modulesPath}/virtualisation/google-compute-image.nix" ];

  config = {
    virtualisation.googleComputeImage.efi = true;
  };
}
