# The cluster description names a Kubernetes minor version; the pinned nixpkgs ships exactly one. They must
# agree, or hosts would run a version nobody asked for. Plain builtins, so tests can evaluate it without nixpkgs.
rec {
  # "1.34.2" -> "1.34" (what nixpkgs' lib.versions.majorMinor returns).
  majorMinor =
    version:
    let
      parts = builtins.splitVersion version;
    in
    if builtins.length parts < 2 then version else "${builtins.elemAt parts 0}.${builtins.elemAt parts 1}";

  matches = described: packaged: majorMinor packaged == described;

  # Kubernetes 1.35 removed the kubelet flag --pod-infra-container-image, which nixpkgs' kubelet module (NixOS 25.11)
  # passes: a kubelet of 1.35 or later would not start. Refused until the flag is handled (guards.nix also refuses
  # a rendered kubelet command line that still carries it). The schema has the same gate (FIRST_UNSUPPORTED_MINOR).
  firstUnsupported = "1.35";
  supported = version: builtins.compareVersions (majorMinor version) firstUnsupported < 0;
  unsupportedMessage =
    { cluster, sourceFile, version }:
    "cluster ${cluster}: Kubernetes ${majorMinor version} (${sourceFile} or the pinned nixpkgs) is not supported yet: Kubernetes ${firstUnsupported} removed the kubelet flag --pod-infra-container-image, which nixpkgs' kubelet module still passes, so kubelets would not start. "
    + "Keep kubernetes.version at 1.34 and a nixpkgs that ships 1.34 until the project handles the flag.";

  mismatchMessage =
    {
      cluster,
      sourceFile,
      described,
      packaged,
    }:
    "cluster ${cluster}: ${sourceFile} asks for Kubernetes ${described}, but the nixpkgs pinned in nixos/flake.nix provides Kubernetes ${packaged}. "
    + "Set kubernetes.version to \"${majorMinor packaged}\" in ${sourceFile} and run `cdktf synth`, or pin a nixpkgs release whose Kubernetes is ${described}.";

  # Throws the message above on a mismatch; returns `value` otherwise.
  check =
    {
      cluster,
      sourceFile,
      described,
      packaged,
    }:
    value:
    if !(supported described) || !(supported packaged) then
      throw (unsupportedMessage {
        inherit cluster sourceFile;
        version = if supported described then packaged else described;
      })
    else if matches described packaged then
      value
    else
      throw (mismatchMessage {
        inherit
          cluster
          sourceFile
          described
          packaged
          ;
      });
}
