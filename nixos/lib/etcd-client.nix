# etcdctl against the member on this host, with the delivered health-check client certificate: the environment
# etcd.nix gives login shells and etcd-backup.nix its snapshot service (one definition for both).
{ hostFile }:
let
  ports = import ./ports.nix;
  files = hostFile.pki.files;
in
{
  ETCDCTL_ENDPOINTS = "https://127.0.0.1:${toString ports.etcdClient}";
  ETCDCTL_CACERT = files.etcdCaCert;
  ETCDCTL_CERT = files.etcdHealthcheckClientCert;
  ETCDCTL_KEY = files.etcdHealthcheckClientKey;
}
