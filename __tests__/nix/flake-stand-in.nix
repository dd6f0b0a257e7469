# Evaluates the flake's outputs with stand-in inputs: nixpkgs.lib.nixosSystem and deploy-rs' lib record what
# they were given instead of building anything, so the node and host construction can be checked without
# nixpkgs. `clustersDir` null means the flake itself (nixos/flake.nix with its committed clusters/).
{
  clustersDir ? null,
  kubernetesVersion ? "1.34.2",
}:
let
  system = "x86_64-linux";
  nixpkgs = {
    lib.nixosSystem = args: {
      standIn = "nixosSystem";
      inherit (args) system specialArgs modules;
    };
    legacyPackages.${system} = {
      kubernetes.version = kubernetesVersion;
      # The NixOS VM tests (nixos/tests): what runNixOSTest was given, by name only.
      testers.runNixOSTest = args: {
        standIn = "runNixOSTest";
        inherit (args) name;
      };
    };
    outPath = "/nixpkgs-stand-in";
  };
  deploy-rs = {
    lib.${system} = {
      activate.nixos = nixosSystem: {
        activation = "nixos";
        host = nixosSystem.specialArgs.hostFile.host.name;
        cluster = nixosSystem.specialArgs.hostFile.cluster.name;
      };
      deployChecks = deploy: {
        deploy-schema = builtins.attrNames deploy.nodes;
        deploy-activate = builtins.attrNames deploy.nodes;
      };
    };
    packages.${system}.default = "deploy-rs-stand-in";
  };
  flake =
    if clustersDir == null then
      (import ../../nixos/flake.nix).outputs {
        self = flake;
        inherit nixpkgs deploy-rs;
      }
    else
      import ../../nixos/lib/outputs.nix {
        inherit nixpkgs deploy-rs;
        clustersDir = /. + clustersDir;
      };
in
{
  deployNodes = builtins.mapAttrs (name: node: {
    inherit (node) hostname sshUser magicRollback;
    profiles = builtins.attrNames node.profiles;
    profileUser = node.profiles.system.user;
    activation = node.profiles.system.path;
  }) flake.deploy.nodes;
  deployNodeNames = builtins.attrNames flake.deploy.nodes;
  configurations = builtins.mapAttrs (name: configuration: {
    inherit (configuration) system;
    host = configuration.specialArgs.hostFile.host.name;
    cluster = configuration.specialArgs.hostFile.cluster.name;
    sshUser = configuration.specialArgs.access.user;
    modules = map toString configuration.modules;
  }) flake.nixosConfigurations;
  checks = builtins.attrNames flake.checks.${system};
  # What each check covers: the deploy-rs nodes given to (stand-in) deployChecks.
  checkNodes = flake.checks.${system};
  packages = builtins.attrNames flake.packages.${system};
}
