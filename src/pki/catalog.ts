/**
 * The cluster PKI as data: every certificate authority, certificate and secret file, with its issuer, subject,
 * SAN rule, key usages, file names and owner. The pki constructs turn this table into hashicorp/tls resources;
 * bundle.ts decides which host gets which file; tests and the Nix side read it. Pure, no cdktf.
 *
 * Parity target: the certificates kubeadm creates ("PKI certificates and requirements"), plus client
 * certificates for the components the NixOS modules run with their own identity (flannel, the add-on manager).
 */
import type { ClusterPlan, HostPlan } from "../cluster/plan-types";
import type { PkiSettings } from "../cluster/schema";
import type { ServiceAccountName } from "./accounts";
import { pkiPath, type PkiFileId } from "./paths";

export type CaId = "kubernetes" | "etcd" | "front-proxy";

export interface CaSpec {
  readonly id: CaId;
  readonly commonName: string;
  readonly purpose: string;
  readonly certFile: PkiFileId;
  /**
   * Present when some host needs the CA key (only the Kubernetes CA: kube-controller-manager signs CSRs), with the
   * file of the single certificate that goes with it (certFile holds old and new CA during a rotation).
   */
  readonly key?: { readonly file: PkiFileId; readonly owner: ServiceAccountName; readonly signingCertFile: PkiFileId };
}

export const CAS: readonly CaSpec[] = [
  {
    id: "kubernetes",
    commonName: "kubernetes",
    purpose: "cluster CA: API server, kubelets, component and user client certificates",
    certFile: "kubernetesCaCert",
    key: { file: "kubernetesCaKey", owner: "kubernetes", signingCertFile: "kubernetesCaSigningCert" },
  },
  { id: "etcd", commonName: "etcd-ca", purpose: "etcd serving, peer and client certificates", certFile: "etcdCaCert" },
  { id: "front-proxy", commonName: "front-proxy-ca", purpose: "API aggregation: the API server's front-proxy client", certFile: "frontProxyCaCert" },
];

/** Extended key usages, in hashicorp/tls `allowed_uses` spelling. */
export type ExtendedUsage = "server_auth" | "client_auth";

/** How many instances a certificate has: one for the cluster, or one per etcd member / per kubelet node. */
export type CertificateScope = "cluster" | "etcd-member" | "kubelet-node";

/**
 * Which names a certificate carries:
 * - api-server: the in-cluster service names, the first service IP, loopback, every control-plane host
 *   (name, FQDN, address), every API address of the target, the name the target's DNS gives the API address
 *   (libvirt: LIBVIRT_API_HOSTNAME, short and in the hosts' domain), and pki.apiDnsName;
 * - host: the host's name, FQDN and address;
 * - host-and-loopback: the same plus localhost, 127.0.0.1 and ::1 (etcd members: clients on the member itself may
 *   reach it over either loopback address).
 */
export type SanRule = "none" | "api-server" | "host" | "host-and-loopback";

export type CertificateId =
  | "apiserver"
  | "apiserver-kubelet-client"
  | "apiserver-etcd-client"
  | "front-proxy-client"
  | "controller-manager"
  | "scheduler"
  | "addon-manager"
  | "node-labeler"
  | "admin"
  | "break-glass"
  | "kubelet"
  | "kube-proxy"
  | "flannel"
  | "etcd-server"
  | "etcd-peer"
  | "etcd-healthcheck-client";

/** The user of the node-labeler certificate; the Nix side binds it to a ClusterRole that may only get, list and patch nodes. */
export const NODE_LABELER_USER = "k8s-nixos:node-labeler";

/**
 * The operators' group (kubeadm's name since 1.29): the NixOS add-on bootstrap binds it to ClusterRole cluster-admin
 * (ClusterRoleBinding CLUSTER_ADMINS_BINDING); deleting that binding revokes every certificate in the group.
 */
export const CLUSTER_ADMINS_GROUP = "kubeadm:cluster-admins";

/** The ClusterRoleBinding of CLUSTER_ADMINS_GROUP to cluster-admin (kubeadm's name). */
export const CLUSTER_ADMINS_BINDING = "kubeadm:cluster-admins";

/**
 * The identity that applies the cluster-wide bootstrap add-ons (ClusterRoles and their bindings, the cluster-admins
 * binding included), which needs more than any RBAC role can grant before those roles exist. It is not issued by
 * the pki stack: each run of k8s-addon-bootstrap on a control-plane host signs itself a certificate for it with the
 * cluster CA key that host holds anyway (kube-controller-manager signs CSRs with it), valid ADDON_BOOTSTRAP_VALIDITY_DAYS,
 * with a key that lives only in the unit's runtime directory (tmpfs, removed when the unit stops).
 */
export const ADDON_BOOTSTRAP_IDENTITY = { commonName: "system:k8s-nixos:addon-bootstrap", organization: "system:masters" } as const;
export const ADDON_BOOTSTRAP_VALIDITY_DAYS = 1;

/** The group whose members may use the whole kubelet API; the Nix side binds it to ClusterRole system:kubelet-api-admin. */
export const KUBELET_API_ADMINS_GROUP = "kube-apiserver:kubelet-api-admins";

/**
 * The short name the libvirt network's DNS publishes for the API VIP, as `api` and `api.<network.domain>`
 * (LibvirtClusterNetwork's apiHostname default; the pki side may not import a target, a test compares them).
 */
export const LIBVIRT_API_HOSTNAME = "api";

/** Names the target's own DNS gives the API address; clients that use them must find them in the certificate. */
export function targetApiDnsNames(plan: Pick<ClusterPlan, "target" | "hostDomain">): string[] {
  return plan.target === "libvirt" ? [LIBVIRT_API_HOSTNAME, `${LIBVIRT_API_HOSTNAME}.${plan.hostDomain}`] : [];
}

/** Replaced by the host name in per-host subjects. */
export const HOST_PLACEHOLDER = "{host}";

export interface CertificateSpec {
  readonly id: CertificateId;
  readonly issuer: CaId;
  readonly scope: CertificateScope;
  /** May contain HOST_PLACEHOLDER (per-host certificates). */
  readonly commonName: string;
  readonly organization?: string;
  readonly sans: SanRule;
  readonly usages: readonly ExtendedUsage[];
  readonly purpose: string;
  /**
   * Whether an apply within pki.earlyRenewalHours of expiry issues a new one; default true. false: renewed only
   * once expired (early_renewal_hours 0), so a new credential never appears without the operator replacing it.
   */
  readonly renewsEarly?: boolean;
  /** Where a host keeps it; absent for the operator's certificates (they only go into local kubeconfigs). */
  readonly files?: { readonly cert: PkiFileId; readonly key: PkiFileId; readonly keyOwner: ServiceAccountName };
}

export const CERTIFICATES: readonly CertificateSpec[] = [
  {
    id: "apiserver",
    issuer: "kubernetes",
    scope: "cluster",
    commonName: "kube-apiserver",
    sans: "api-server",
    usages: ["server_auth"],
    purpose: "kube-apiserver serving certificate",
    files: { cert: "apiServerCert", key: "apiServerKey", keyOwner: "kubernetes" },
  },
  {
    id: "apiserver-kubelet-client",
    issuer: "kubernetes",
    scope: "cluster",
    commonName: "kube-apiserver-kubelet-client",
    organization: KUBELET_API_ADMINS_GROUP,
    sans: "none",
    usages: ["client_auth"],
    purpose: "kube-apiserver to kubelets (logs, exec, port-forward)",
    files: { cert: "apiServerKubeletClientCert", key: "apiServerKubeletClientKey", keyOwner: "kubernetes" },
  },
  {
    id: "apiserver-etcd-client",
    issuer: "etcd",
    scope: "cluster",
    commonName: "kube-apiserver-etcd-client",
    sans: "none",
    usages: ["client_auth"],
    purpose: "kube-apiserver to etcd",
    files: { cert: "apiServerEtcdClientCert", key: "apiServerEtcdClientKey", keyOwner: "kubernetes" },
  },
  {
    id: "front-proxy-client",
    issuer: "front-proxy",
    scope: "cluster",
    commonName: "front-proxy-client",
    sans: "none",
    usages: ["client_auth"],
    purpose: "kube-apiserver to aggregated API servers",
    files: { cert: "frontProxyClientCert", key: "frontProxyClientKey", keyOwner: "kubernetes" },
  },
  {
    id: "controller-manager",
    issuer: "kubernetes",
    scope: "cluster",
    commonName: "system:kube-controller-manager",
    sans: "none",
    usages: ["client_auth"],
    purpose: "kube-controller-manager kubeconfig",
    files: { cert: "controllerManagerCert", key: "controllerManagerKey", keyOwner: "kubernetes" },
  },
  {
    id: "scheduler",
    issuer: "kubernetes",
    scope: "cluster",
    commonName: "system:kube-scheduler",
    sans: "none",
    usages: ["client_auth"],
    purpose: "kube-scheduler kubeconfig",
    files: { cert: "schedulerCert", key: "schedulerKey", keyOwner: "kubernetes" },
  },
  {
    id: "addon-manager",
    issuer: "kubernetes",
    scope: "cluster",
    // No group: nixpkgs' add-on manager RBAC (a Role on everything in kube-system, a ClusterRole to list) names this
    // user, which is all kube-addons needs for the add-ons it keeps applied (CoreDNS). The cluster-wide bootstrap
    // add-ons are applied by ADDON_BOOTSTRAP_IDENTITY instead.
    commonName: "system:kube-addon-manager",
    sans: "none",
    usages: ["client_auth"],
    purpose: "kube-addon-manager kubeconfig (bootstraps the RBAC bindings, installs CoreDNS)",
    files: { cert: "addonManagerCert", key: "addonManagerKey", keyOwner: "kubernetes" },
  },
  {
    id: "node-labeler",
    issuer: "kubernetes",
    scope: "cluster",
    // Labels control-plane nodes at bootstrap, as kubeadm's mark-control-plane phase does (a kubelet may not set
    // node-role.kubernetes.io/* on itself). Its ClusterRole (nixos/modules/node-roles.nix) allows only get, list and
    // patch of nodes.
    commonName: NODE_LABELER_USER,
    sans: "none",
    usages: ["client_auth"],
    purpose: "k8s-node-roles on control-plane hosts: the control-plane label, removal of the stale unschedulable taint",
    files: { cert: "nodeLabelerCert", key: "nodeLabelerKey", keyOwner: "kubernetes" },
  },
  {
    id: "admin",
    issuer: "kubernetes",
    scope: "cluster",
    // kubeadm's admin.conf identity: cluster-admin through RBAC, so deleting the binding revokes it.
    commonName: "kubernetes-admin",
    organization: CLUSTER_ADMINS_GROUP,
    sans: "none",
    usages: ["client_auth"],
    purpose: "operator identity in the local admin kubeconfig (cluster-admin through the kubeadm:cluster-admins binding)",
  },
  {
    id: "break-glass",
    issuer: "kubernetes",
    scope: "cluster",
    // kubeadm's super-admin.conf identity: system:masters bypasses RBAC (and cannot be revoked short of expiry or a
    // new CA), for when RBAC itself is broken. Never renewed early, so no apply silently mints a new one.
    commonName: "kubernetes-super-admin",
    organization: "system:masters",
    sans: "none",
    usages: ["client_auth"],
    purpose: "break-glass identity in its own local kubeconfig (system:masters, not renewed early)",
    renewsEarly: false,
  },
  {
    id: "kubelet",
    issuer: "kubernetes",
    scope: "kubelet-node",
    commonName: `system:node:${HOST_PLACEHOLDER}`,
    organization: "system:nodes",
    sans: "host",
    usages: ["server_auth", "client_auth"],
    purpose: "kubelet serving certificate and its client identity (Node authorizer)",
    files: { cert: "kubeletCert", key: "kubeletKey", keyOwner: "root" },
  },
  {
    id: "kube-proxy",
    issuer: "kubernetes",
    scope: "cluster",
    commonName: "system:kube-proxy",
    organization: "system:node-proxier",
    sans: "none",
    usages: ["client_auth"],
    purpose: "kube-proxy kubeconfig",
    files: { cert: "kubeProxyCert", key: "kubeProxyKey", keyOwner: "root" },
  },
  {
    id: "flannel",
    issuer: "kubernetes",
    scope: "cluster",
    commonName: "flannel-client",
    sans: "none",
    usages: ["client_auth"],
    purpose: "flanneld with the Kubernetes subnet manager (nixpkgs binds ClusterRole flannel to this user)",
    files: { cert: "flannelCert", key: "flannelKey", keyOwner: "root" },
  },
  {
    id: "etcd-server",
    issuer: "etcd",
    scope: "etcd-member",
    commonName: HOST_PLACEHOLDER,
    sans: "host-and-loopback",
    usages: ["server_auth", "client_auth"],
    purpose: "etcd client-facing serving certificate",
    files: { cert: "etcdServerCert", key: "etcdServerKey", keyOwner: "etcd" },
  },
  {
    id: "etcd-peer",
    issuer: "etcd",
    scope: "etcd-member",
    commonName: HOST_PLACEHOLDER,
    sans: "host-and-loopback",
    usages: ["server_auth", "client_auth"],
    purpose: "etcd member-to-member certificate",
    files: { cert: "etcdPeerCert", key: "etcdPeerKey", keyOwner: "etcd" },
  },
  {
    id: "etcd-healthcheck-client",
    issuer: "etcd",
    scope: "cluster",
    commonName: "kube-etcd-healthcheck-client",
    sans: "none",
    usages: ["client_auth"],
    purpose: "etcdctl health checks on etcd members",
    files: { cert: "etcdHealthcheckClientCert", key: "etcdHealthcheckClientKey", keyOwner: "etcd" },
  },
];

/** The service-account token signing key pair (tls_private_key): private key and public key PEM. */
export const SERVICE_ACCOUNT_KEY = { keyFile: "serviceAccountKey", publicKeyFile: "serviceAccountPub", owner: "kubernetes" } as const satisfies {
  keyFile: PkiFileId;
  publicKeyFile: PkiFileId;
  owner: ServiceAccountName;
};

/** The API server's encryption-at-rest configuration, holding a random key of `keyBytes` bytes (secretbox: 32). */
export const ENCRYPTION_CONFIG = { file: "encryptionConfig", owner: "kubernetes", keyBytes: 32 } as const satisfies {
  file: PkiFileId;
  owner: ServiceAccountName;
  keyBytes: number;
};

/** Something a host can receive. */
export type PkiItem =
  | { readonly kind: "ca-cert"; readonly ca: CaId }
  | { readonly kind: "ca-key"; readonly ca: CaId }
  | { readonly kind: "ca-signing-cert"; readonly ca: CaId }
  | { readonly kind: "cert"; readonly cert: CertificateId }
  | { readonly kind: "key"; readonly cert: CertificateId }
  | { readonly kind: "service-account-key" }
  | { readonly kind: "service-account-public-key" }
  | { readonly kind: "encryption-config" };

export interface Placement {
  readonly fileId: PkiFileId;
  readonly path: string;
  readonly owner: ServiceAccountName;
  /** Secrets 0400 (their owner only), public material 0644. */
  readonly mode: "0400" | "0644";
  readonly secret: boolean;
}

const PUBLIC_MODE = "0644";
const SECRET_MODE = "0400";

function placed(fileId: PkiFileId, owner: ServiceAccountName | undefined): Placement {
  return owner === undefined
    ? { fileId, path: pkiPath(fileId), owner: "root", mode: PUBLIC_MODE, secret: false }
    : { fileId, path: pkiPath(fileId), owner, mode: SECRET_MODE, secret: true };
}

export function caSpec(id: CaId): CaSpec {
  const spec = CAS.find((c) => c.id === id);
  if (!spec) throw new Error(`unknown certificate authority "${id}"`);
  return spec;
}

export function certificateSpec(id: CertificateId): CertificateSpec {
  const spec = CERTIFICATES.find((c) => c.id === id);
  if (!spec) throw new Error(`unknown certificate "${id}"`);
  return spec;
}

/** File, owner and mode of an item on a host. */
export function placementOf(item: PkiItem): Placement {
  switch (item.kind) {
    case "ca-cert":
      return placed(caSpec(item.ca).certFile, undefined);
    case "ca-key":
    case "ca-signing-cert": {
      const key = caSpec(item.ca).key;
      if (!key) throw new Error(`the ${item.ca} CA key is never delivered to hosts`);
      return item.kind === "ca-key" ? placed(key.file, key.owner) : placed(key.signingCertFile, undefined);
    }
    case "cert":
    case "key": {
      const files = certificateSpec(item.cert).files;
      if (!files) throw new Error(`the ${item.cert} certificate is never delivered to hosts`);
      return item.kind === "cert" ? placed(files.cert, undefined) : placed(files.key, files.keyOwner);
    }
    case "service-account-key":
      return placed(SERVICE_ACCOUNT_KEY.keyFile, SERVICE_ACCOUNT_KEY.owner);
    case "service-account-public-key":
      return placed(SERVICE_ACCOUNT_KEY.publicKeyFile, undefined);
    case "encryption-config":
      return placed(ENCRYPTION_CONFIG.file, ENCRYPTION_CONFIG.owner);
  }
}

/** The key algorithm every generated key uses, from the description's `pki` section. */
export interface KeyAlgorithm {
  readonly algorithm: "ECDSA" | "RSA";
  readonly ecdsaCurve?: "P256" | "P384";
  readonly rsaBits?: number;
}

export function keyAlgorithmOf(pki: Pick<PkiSettings, "algorithm" | "ecdsaCurve" | "rsaBits">): KeyAlgorithm {
  return pki.algorithm === "RSA" ? { algorithm: "RSA", rsaBits: pki.rsaBits } : { algorithm: "ECDSA", ecdsaCurve: pki.ecdsaCurve };
}

/**
 * hashicorp/tls `allowed_uses`. CAs: cert_signing and digital_signature. Leaves: digital_signature, plus
 * key_encipherment only for RSA keys (RFC 8813 section 3: it has no meaning for, and must not be set on, ECDSA
 * keys), plus their extended usages. Only CAs ever get cert_signing.
 */
export function allowedUses(usages: "ca" | readonly ExtendedUsage[], algorithm: KeyAlgorithm["algorithm"]): string[] {
  if (usages === "ca") return ["cert_signing", "digital_signature"];
  return ["digital_signature", ...(algorithm === "RSA" ? ["key_encipherment"] : []), ...usages];
}

/** A certificate as issued: one per cluster-scoped spec, one per host for per-host specs. */
export interface IssuedCertificate {
  /** Stable key: the spec id, or "<spec id>/<host>" for per-host certificates. */
  readonly key: string;
  readonly spec: CertificateSpec;
  readonly host?: string;
  readonly commonName: string;
  readonly organization?: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export function certificateKey(id: CertificateId, host?: string): string {
  return host === undefined ? id : `${id}/${host}`;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** The in-cluster names of the `kubernetes` service, in the plan's cluster domain. */
export function kubernetesServiceNames(clusterDomain: string): string[] {
  return ["kubernetes", "kubernetes.default", "kubernetes.default.svc", `kubernetes.default.svc.${clusterDomain}`];
}

/**
 * Subject alternative names for a rule.
 * @param apiAddresses every address the API is reached at (TargetNetwork.apiAddresses; may hold tokens resolved
 *   at apply, such as GCP's external balancer address); the plan's own API address is always included.
 */
export function subjectAltNames(
  plan: ClusterPlan,
  rule: SanRule,
  host: HostPlan | undefined,
  apiAddresses: readonly string[],
): { dnsNames: string[]; ipAddresses: string[] } {
  switch (rule) {
    case "none":
      return { dnsNames: [], ipAddresses: [] };
    case "api-server": {
      const controlPlane = plan.hosts.filter((h) => h.runsControlPlane);
      return {
        dnsNames: unique([
          ...kubernetesServiceNames(plan.clusterDomain),
          "localhost",
          ...controlPlane.flatMap((h) => [h.name, h.fqdn]),
          ...targetApiDnsNames(plan),
          ...(plan.pki.apiDnsName ? [plan.pki.apiDnsName] : []),
        ]),
        ipAddresses: unique([plan.firstServiceIp, "127.0.0.1", ...controlPlane.map((h) => h.address), plan.api.address, ...apiAddresses]),
      };
    }
    case "host":
    case "host-and-loopback": {
      if (!host) throw new Error(`SAN rule "${rule}" needs a host`);
      const loopback = rule === "host-and-loopback";
      return {
        dnsNames: [host.name, host.fqdn, ...(loopback ? ["localhost"] : [])],
        ipAddresses: [host.address, ...(loopback ? ["127.0.0.1", "::1"] : [])],
      };
    }
  }
}

function hostsFor(plan: ClusterPlan, scope: CertificateScope): readonly (HostPlan | undefined)[] {
  switch (scope) {
    case "cluster":
      return [undefined];
    case "etcd-member":
      return plan.hosts.filter((h) => h.runsEtcd);
    case "kubelet-node":
      return plan.hosts.filter((h) => h.runsKubelet);
  }
}

/**
 * Every certificate the plan needs, in catalog order (per-host ones in host order).
 * @param apiAddresses see subjectAltNames; defaults to the addresses the plan knows.
 */
export function issuedCertificates(plan: ClusterPlan, apiAddresses: readonly string[] = [plan.api.address]): IssuedCertificate[] {
  return CERTIFICATES.flatMap((spec) =>
    hostsFor(plan, spec.scope).map((host): IssuedCertificate => {
      const subject = (text: string) => (host ? text.split(HOST_PLACEHOLDER).join(host.name) : text);
      return {
        key: certificateKey(spec.id, host?.name),
        spec,
        ...(host ? { host: host.name } : {}),
        commonName: subject(spec.commonName),
        ...(spec.organization ? { organization: subject(spec.organization) } : {}),
        ...subjectAltNames(plan, spec.sans, host, apiAddresses),
      };
    }),
  );
}
