# Everything nixos/flake.nix exports, built from its inputs and the generated cluster files:
# - nixosConfigurations.<cluster>-<host>: common settings + the target's hardware profile + the role modules
#   + the host file, for every host of every cluster;
# - deploy.nodes.<cluster>-<host>: deploy-rs nodes (hostname, sshUser, system profile activated as root, magic
#   rollback) of every cluster whose deploy addresses are known (a GCP cluster once its outputs are saved); deploy
#   one cluster with scripts/deploy-cluster.sh <cluster> (never touches another cluster);
# - checks: deploy-rs' deployChecks per cluster whose deploy addresses are known, named <cluster>-deploy-schema
#   and <cluster>-deploy-activate, so scripts/deploy-cluster.sh builds one cluster's checks and runs deploy-rs
#   with --skip-checks (its own `nix flake check` would evaluate and build every cluster, VM tests included);
#   and the NixOS VM tests vm-stacked and vm-external (nixos/tests);
# - packages: per cluster "<cluster>-image" (libvirt: qcow2, BIOS; gcp: GCE tarball, UEFI) with the cluster's
#   SSH keys, plus libvirt-image / gce-image for the default clusters, and deploy-rs itself.
{
  nixpkgs,
  deploy-rs,
  clustersDir,
  system ? "x86_64-linux",
}:
let
  lib = nixpkgs.lib;
  pkgs = nixpkgs.legacyPackages.${system};
  clusters = import ./clusters.nix { inherit clustersDir; };
  versionCheck = import ./kubernetes-version.nix;
  hostModules = import ./host-modules.nix;
  hardware = hostModules.hardware;

  clusterList = map (name: clusters.${name}) (builtins.attrNames clusters);
  nodes = builtins.concatMap (cluster: cluster.nodes) clusterList;
  byName = list: builtins.listToAttrs (map (item: { inherit (item) name; value = item; }) list);

  # The described Kubernetes version must be the one the pinned nixpkgs ships.
  checkVersion =
    cluster:
    versionCheck.check {
      cluster = cluster.name;
      sourceFile = cluster.index.cluster.sourceFile;
      described = cluster.index.cluster.kubernetesVersion;
      packaged = pkgs.kubernetes.version;
    };

  hostSystem =
    node:
    checkVersion clusters.${node.cluster} (
      lib.nixosSystem {
        inherit system;
        specialArgs = {
          hostFile = node.hostFile;
          access = node.hostFile.ssh;
        };
        modules = hostModules.roles ++ [ hardware.${node.hostFile.cluster.target} ];
      }
    );

  nixosConfigurations = builtins.mapAttrs (_: hostSystem) (byName nodes);

  deployNode = node: {
    hostname = node.deployHostname;
    sshUser = node.hostFile.deploy.sshUser;
    magicRollback = true;
    autoRollback = true;
    profiles.system = {
      user = "root";
      path = deploy-rs.lib.${system}.activate.nixos nixosConfigurations.${node.name};
    };
  };

  # Only clusters whose deploy addresses are known: a described GCP cluster that was never deployed (no saved
  # outputs) has no deploy nodes, so evaluating `deploy` (deploy-rs does, for any target) never fails on it.
  # scripts/deploy-cluster.sh names the missing file and the command that saves it.
  deployableNodes = builtins.concatMap (cluster: cluster.nodes) (builtins.filter (cluster: cluster.deployable) clusterList);
  deploy.nodes = builtins.mapAttrs (_: deployNode) (byName deployableNodes);

  clusterChecks =
    cluster:
    let
      checks = deploy-rs.lib.${system}.deployChecks {
        nodes = builtins.listToAttrs (
          map (node: {
            inherit (node) name;
            value = deploy.nodes.${node.name};
          }) cluster.nodes
        );
      };
    in
    map (check: {
      name = "${cluster.name}-${check}";
      value = checks.${check};
    }) (builtins.attrNames checks);

  # A cluster's base image: what the first boot needs for the PKI delivery and deploy-rs (sshd with the
  # cluster's keys, DHCP, growing root filesystem, serial console); the host configuration arrives by deploy-rs.
  imageSystem =
    cluster:
    lib.nixosSystem {
      inherit system;
      specialArgs.access = cluster.index.ssh;
      modules = [
        ../modules/base.nix
        ../modules/access.nix
        hardware.${cluster.index.cluster.target}
      ]
      ++ (if cluster.index.cluster.target == "gcp" then [ ../modules/gce-image.nix ] else [ ]);
    };

  image =
    cluster:
    let
      built = imageSystem cluster;
    in
    if cluster.index.cluster.target == "libvirt" then
      import "${nixpkgs}/nixos/lib/make-disk-image.nix" {
        inherit lib;
        inherit (built) config pkgs;
        format = "qcow2";
        partitionTableType = "legacy";
        diskSize = "auto";
        baseName = "nixos";
        name = "${cluster.name}-libvirt-image";
      }
    else
      built.config.system.build.googleComputeImage;

  clusterImages = builtins.listToAttrs (
    map (cluster: {
      name = "${cluster.name}-image";
      value = image cluster;
    }) clusterList
  );

  # libvirt-image / gce-image: the image of cluster "local" / "gcp", or else of the first cluster (by name) of
  # that target; none when no cluster has that target.
  defaultImage =
    name: target: preferred:
    let
      ofTarget = builtins.filter (cluster: cluster.index.cluster.target == target) clusterList;
      chosen =
        if clusters ? ${preferred} && clusters.${preferred}.index.cluster.target == target then
          clusters.${preferred}
        else
          builtins.head ofTarget;
    in
    if ofTarget == [ ] then
      [ ]
    else
      [
        {
          inherit name;
          value = image chosen;
        }
      ];
in
{
  inherit nixosConfigurations deploy;

  # deploy-rs' checks per deployable cluster, and the NixOS VM tests (nixos/tests: vm-stacked, vm-external; they need
  # KVM to build, see docs/nixos.md).
  checks.${system} =
    builtins.listToAttrs (builtins.concatMap clusterChecks (builtins.filter (cluster: cluster.deployable) clusterList))
    // import ../tests { inherit pkgs; };

  packages.${system} =
    clusterImages
    // builtins.listToAttrs (defaultImage "libvirt-image" "libvirt" "local" ++ defaultImage "gce-image" "gcp" "gcp")
    // {
      deploy-rs = deploy-rs.packages.${system}.default;
    };
}
