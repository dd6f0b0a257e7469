# The modules every cluster machine is built from, in one place for the flake's hosts and the NixOS VM test
# (nixos/tests): the role modules, then the guards on what they rendered, then (real hosts only) the target's
# hardware profile.
{
  roles = [
    ../modules
    ../modules/guards.nix
  ];
  hardware = {
    libvirt = ../modules/hardware/libvirt.nix;
    gcp = ../modules/hardware/gcp.nix;
  };
}
