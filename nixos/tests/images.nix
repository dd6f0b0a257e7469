# The container images the VM test needs, built with dockerTools so nothing is pulled from a registry: the pod
# sandbox (the same image nixpkgs' kubelet module builds and seeds as pause:latest), CoreDNS from nixpkgs' coredns
# package, and a busybox image for the test pods (sleep, nslookup, wget, httpd). Every kubelet node seeds all three.
{ pkgs, kubernetes }:
let
  root =
    name: paths:
    pkgs.buildEnv {
      inherit name paths;
      pathsToLink = [ "/bin" ];
    };
in
{
  pause = pkgs.dockerTools.buildImage {
    name = "pause";
    tag = "latest";
    copyToRoot = root "pause-root" [ kubernetes.pause ];
    config.Cmd = [ "/bin/pause" ];
  };

  coredns = pkgs.dockerTools.buildImage {
    name = "coredns/coredns";
    tag = "vm-test";
    copyToRoot = root "coredns-root" [ pkgs.coredns ];
    config.Entrypoint = [ "/bin/coredns" ];
  };
  # services.kubernetes.addons.dns.coredns: the image reference the CoreDNS Deployment uses (pullPolicy Never).
  corednsReference = {
    imageName = "coredns/coredns";
    finalImageTag = "vm-test";
  };

  pod = pkgs.dockerTools.buildImage {
    name = "vm-test-pod";
    tag = "latest";
    copyToRoot = root "vm-test-pod-root" [ pkgs.busybox ];
    config.Cmd = [ "/bin/sh" ];
  };
  podReference = "vm-test-pod:latest";
}
