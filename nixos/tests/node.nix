# What a VM of the NixOS VM test adds to the role modules (nixos/lib/host-modules.nix), i.e. everything that differs
# from a real host; docs/nixos.md ("The NixOS VM test") lists it:
# - the module arguments the flake passes as specialArgs (the host file and its SSH access);
# - the network: the test driver's VMs carry the cluster network on eth1 (vlan 1; eth0 is the driver's own), so
#   k8sNixos.nodeInterface = "eth1", the planned address is set statically instead of by the libvirt DHCP
#   reservation, and keepalived's VIP interface follows k8sNixos.nodeInterface (eth0 on a libvirt guest);
# - the PKI: installed at activation from a build-time PKI (make-pki.sh over pki-spec.json) at the paths, owners and
#   modes of the host's bundle, instead of the pki stack's SSH delivery; the keys are in the Nix store (test only);
# - container images seeded from dockerTools builds instead of nixpkgs' registry pull (images.nix);
# - an admin kubeconfig for the test script (/etc/vm-test/admin.kubeconfig), aimed at the cluster endpoint;
# - VM sizes.
{
  hostFile,
  pki,
  images,
}:
{
  config,
  lib,
  pkgs,
  ...
}:
let
  h = hostFile;
  adminKubeconfig = builtins.toJSON {
    apiVersion = "v1";
    kind = "Config";
    clusters = [
      {
        name = h.cluster.name;
        cluster = {
          server = h.api.nodeUrl;
          certificate-authority = "${pki}/cas/kubernetes.crt";
        };
      }
    ];
    users = [
      {
        name = "vm-test-admin";
        user = {
          client-certificate = "${pki}/certs/admin.crt";
          client-key = "${pki}/certs/admin.key";
        };
      }
    ];
    contexts = [
      {
        name = h.cluster.name;
        context = {
          cluster = h.cluster.name;
          user = "vm-test-admin";
        };
      }
    ];
    current-context = h.cluster.name;
  };
in
{
  _module.args = {
    hostFile = h;
    access = h.ssh;
  };

  k8sNixos.nodeInterface = "eth1";
  virtualisation.vlans = [ 1 ];
  networking.useDHCP = lib.mkForce false;
  networking.interfaces.eth1.ipv4.addresses = lib.mkForce [
    {
      address = h.host.address;
      prefixLength = h.network.prefixLength;
    }
  ];
  # /etc/hosts of every VM lists this address for the host's name.
  networking.primaryIPAddress = lib.mkForce h.host.address;
  networking.defaultGateway = {
    address = h.network.gateway;
    interface = "eth1";
  };

  system.activationScripts.vm-test-pki = {
    deps = [ "users" ];
    text = ''
      while IFS=$'\t' read -r source path uid gid mode; do
        install -D -m "$mode" -o "$uid" -g "$gid" "${pki}/$source" "$path"
      done < ${pki}/hosts/${h.host.name}.tsv
    '';
  };

  services.kubernetes.kubelet.seedDockerImages = lib.mkIf h.host.runsKubelet (
    lib.mkForce [
      images.pause
      images.coredns
      images.pod
    ]
  );
  services.kubernetes.addons.dns.coredns = lib.mkIf h.host.runsKubelet images.corednsReference;

  environment.etc."vm-test/admin.kubeconfig" = lib.mkIf h.host.runsKubelet { text = adminKubeconfig; };

  virtualisation.cores = 2;
  virtualisation.memorySize =
    if h.host.runsControlPlane then
      2048
    else if h.host.runsKubelet then
      1536
    else
      768;
  virtualisation.diskSize = if h.host.runsKubelet then 4096 else 1024;
}
