# The modules of a cluster host. Each role module is inert unless the host file says the host runs the role;
# the guards on what they rendered (guards.nix) and the target's hardware module are added by
# nixos/lib/host-modules.nix.
{
  imports = [
    ./base.nix
    ./access.nix
    ./common.nix
    ./node-network.nix
    ./kubernetes.nix
    ./etcd.nix
    ./etcd-data-disk.nix
    ./etcd-backup.nix
    ./control-plane.nix
    ./apiserver-drain.nix
    ./kubelet-node.nix
    ./node-roles.nix
    ./addons.nix
    ./load-balancer.nix
    ./api-vip.nix
  ];
}
