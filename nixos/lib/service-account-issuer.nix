# The service-account token issuer: kubeadm's `https://kubernetes.default.svc.<clusterDomain>`. Clusters created
# before the move used nixpkgs' default `https://kubernetes.default.svc`; the API server keeps accepting tokens of
# that issuer (a second --service-account-issuer) and audience, so pods holding them keep working. Plain builtins.
{ clusterDomain }:
rec {
  current = "https://kubernetes.default.svc.${clusterDomain}";
  previous = "https://kubernetes.default.svc";
  # The API server's own audiences: the issuer (kubeadm's default), the previous issuer and nixpkgs' "api", which
  # tokens issued before the move carry.
  audiences = [
    current
    previous
    "api"
  ];
}
