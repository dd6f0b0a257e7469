# Declarations of real NixOS options the nixos-eval tool's stubs (../shared/tools/nixos-eval) lack, with upstream 25.11 types,
# for evaluating this project with that tool only: NIXOS_EVAL_EXTRA_MODULES=__tests__/nix/nixos-eval-declarations.nix.
{ lib, ... }:
{
  options.boot.loader.grub.extraConfig = lib.mkOption { type = lib.types.lines; default = ""; };
  options.users.users = lib.mkOption {
    type = lib.types.attrsOf (lib.types.submodule {
      options.hashedPasswordFile = lib.mkOption { type = lib.types.nullOr lib.types.str; default = null; };
      options.homeMode = lib.mkOption { type = lib.types.strMatching "[0-7]{1,5}"; default = "700"; };
    });
  };
  options.services.openssh.hostKeys = lib.mkOption { type = lib.types.listOf lib.types.attrs; default = [ ]; };
}
