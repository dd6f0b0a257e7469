# The NixOS VM tests, one per folder of nixos/tests holding a cluster.yaml (and its generated/ files); the flake
# exposes them as checks.x86_64-linux.<cluster name> (vm-stacked, vm-external). Building one needs KVM and runs the
# whole cluster in VMs: `nix build ./nixos#checks.x86_64-linux.vm-stacked -L`.
{ pkgs }:
let
  lib = pkgs.lib;
  entries = builtins.readDir ./.;
  folders = builtins.filter (
    name: entries.${name} == "directory" && builtins.pathExists (./. + "/${name}/generated/default.nix")
  ) (builtins.attrNames entries);
  test =
    folder:
    let
      dir = ./. + "/${folder}";
    in
    {
      name = (import (dir + "/generated/default.nix")).cluster.name;
      value = import ./cluster.nix {
        inherit pkgs lib dir;
        name = folder;
      };
    };
in
builtins.listToAttrs (map test folders)
