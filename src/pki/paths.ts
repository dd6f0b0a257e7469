/**
 * Where PKI files live on the hosts. The pki stack delivers to these paths and the Nix host files point
 * the services at them: this module is the one place both read. Pure data, no cdktf.
 */
export const PKI_DIR = "/var/lib/kubernetes/pki";

/** File names (relative to PKI_DIR) by purpose; the kubeadm names where kubeadm has one. */
export const PKI_FILES = {
  kubernetesCaCert: "ca.crt",
  kubernetesCaKey: "ca.key",
  /** The one CA certificate that goes with ca.key (kube-controller-manager's signer takes exactly one); ca.crt is a bundle during a rotation. */
  kubernetesCaSigningCert: "ca-signing.crt",
  etcdCaCert: "etcd/ca.crt",
  frontProxyCaCert: "front-proxy-ca.crt",
  apiServerCert: "apiserver.crt",
  apiServerKey: "apiserver.key",
  apiServerKubeletClientCert: "apiserver-kubelet-client.crt",
  apiServerKubeletClientKey: "apiserver-kubelet-client.key",
  apiServerEtcdClientCert: "apiserver-etcd-client.crt",
  apiServerEtcdClientKey: "apiserver-etcd-client.key",
  frontProxyClientCert: "front-proxy-client.crt",
  frontProxyClientKey: "front-proxy-client.key",
  serviceAccountKey: "sa.key",
  serviceAccountPub: "sa.pub",
  encryptionConfig: "encryption-config.yaml",
  controllerManagerCert: "controller-manager.crt",
  controllerManagerKey: "controller-manager.key",
  schedulerCert: "scheduler.crt",
  schedulerKey: "scheduler.key",
  addonManagerCert: "addon-manager.crt",
  addonManagerKey: "addon-manager.key",
  nodeLabelerCert: "node-labeler.crt",
  nodeLabelerKey: "node-labeler.key",
  etcdServerCert: "etcd/server.crt",
  etcdServerKey: "etcd/server.key",
  etcdPeerCert: "etcd/peer.crt",
  etcdPeerKey: "etcd/peer.key",
  etcdHealthcheckClientCert: "etcd/healthcheck-client.crt",
  etcdHealthcheckClientKey: "etcd/healthcheck-client.key",
  kubeletCert: "kubelet.crt",
  kubeletKey: "kubelet.key",
  kubeProxyCert: "kube-proxy.crt",
  kubeProxyKey: "kube-proxy.key",
  flannelCert: "flannel.crt",
  flannelKey: "flannel.key",
} as const;

export type PkiFileId = keyof typeof PKI_FILES;

export function pkiPath(id: PkiFileId): string {
  return `${PKI_DIR}/${PKI_FILES[id]}`;
}
