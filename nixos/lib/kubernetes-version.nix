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
    if matches described packaged then
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
