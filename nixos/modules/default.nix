# The modules of a cluster host. Each role module is inert unless the host file says the host runs the role;
# the target's hardware module is added by nixos/lib/outputs.nix.
{
  imports = [
    ./base.nix
    ./access.nix
    ./common.nix
    ./kubernetes.nix
    ./etcd.nix
    ./control-plane.nix
    ./apiserver-drain.nix
    ./kubelet-node.nix
    ./addons.nix
    ./load-balancer.nix
    ./api-vip.nix
  ];
}
