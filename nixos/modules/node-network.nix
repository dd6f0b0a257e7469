# Machine facts that differ between real hosts and the NixOS VM test (nixos/tests), as module parameters: real hosts
# have one NIC and leave them at their defaults; the test driver's VMs carry the cluster network on eth1 (their eth0
# is the driver's own user-mode network), so nixos/tests sets nodeInterface = "eth1". docs/nixos.md lists them.
{ lib, ... }:
{
  options.k8sNixos.nodeInterface = lib.mkOption {
    type = lib.types.nullOr lib.types.str;
    default = null;
    example = "eth1";
    description = ''
      The interface that carries the node network (flannel's VXLAN traffic). null: the interface of the default
      route, which is the only NIC of a libvirt or GCP host.
    '';
  };
}
