/**
 * Which PKI files each host receives: the rule is written per role (ROLE_BUNDLES) and a host gets the union
 * over its roles. Each file says which systemd units read it, so a delivery restarts exactly those units when
 * the file changes. Pure, no cdktf: the pki stack, the Nix side and the tests all read bundleFor().
 */
import type { ClusterPlan, HostPlan, Role } from "../cluster/plan-types";
import { SERVICE_ACCOUNTS, type ServiceAccountName } from "./accounts";
import {
  certificateKey,
  certificateSpec,
  issuedCertificates,
  placementOf,
  type CaId,
  type ExtendedUsage,
  type IssuedCertificate,
  type PkiItem,
} from "./catalog";
import type { PkiFileId } from "./paths";

/** systemd units (nixpkgs names, without ".service") that read PKI files, in the order a delivery restarts them. */
export const UNITS = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kube-addon-manager",
  "kubelet",
  "kube-proxy",
  "flannel",
] as const;
export type Unit = (typeof UNITS)[number];

export interface RoleRule {
  readonly item: PkiItem;
  /** Units that read the file on a host of this role (empty: read on demand, e.g. by etcdctl). */
  readonly units: readonly Unit[];
}

const caCert = (ca: CaId): PkiItem => ({ kind: "ca-cert", ca });
const both = (cert: Extract<PkiItem, { kind: "cert" }>["cert"], units: readonly Unit[]): RoleRule[] => [
  { item: { kind: "cert", cert }, units },
  { item: { kind: "key", cert }, units },
];

/** Every Kubernetes node (workers and control-plane hosts) runs kubelet, kube-proxy and flannel. */
const KUBERNETES_NODE: readonly RoleRule[] = [
  { item: caCert("kubernetes"), units: ["kubelet", "kube-proxy", "flannel"] },
  ...both("kubelet", ["kubelet"]),
  ...both("kube-proxy", ["kube-proxy"]),
  ...both("flannel", ["flannel"]),
];

const CONTROL_PLANE: readonly RoleRule[] = [
  { item: caCert("kubernetes"), units: ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-addon-manager"] },
  // kube-controller-manager signs CSRs (kubelet serving rotation, user certificates) with the cluster CA.
  { item: { kind: "ca-key", ca: "kubernetes" }, units: ["kube-controller-manager"] },
  { item: { kind: "ca-signing-cert", ca: "kubernetes" }, units: ["kube-controller-manager"] },
  // The API server verifies etcd with the etcd CA and aggregated API clients with the front-proxy CA.
  { item: caCert("etcd"), units: ["kube-apiserver"] },
  { item: caCert("front-proxy"), units: ["kube-apiserver"] },
  ...both("apiserver", ["kube-apiserver"]),
  ...both("apiserver-kubelet-client", ["kube-apiserver"]),
  ...both("apiserver-etcd-client", ["kube-apiserver"]),
  ...both("front-proxy-client", ["kube-apiserver"]),
  { item: { kind: "service-account-key" }, units: ["kube-apiserver", "kube-controller-manager"] },
  { item: { kind: "service-account-public-key" }, units: ["kube-apiserver"] },
  { item: { kind: "encryption-config" }, units: ["kube-apiserver"] },
  ...both("controller-manager", ["kube-controller-manager"]),
  ...both("scheduler", ["kube-scheduler"]),
  ...both("addon-manager", ["kube-addon-manager"]),
  // Read by k8s-node-roles each time it runs (at boot and on every activation), so no unit restarts for it.
  ...both("node-labeler", []),
];

const ETCD_MEMBER: readonly RoleRule[] = [
  { item: caCert("etcd"), units: ["etcd"] },
  ...both("etcd-server", ["etcd"]),
  ...both("etcd-peer", ["etcd"]),
  ...both("etcd-healthcheck-client", []),
];

/**
 * The rule per role. A worker never gets a CA key or etcd files; an etcd member never gets Kubernetes CA keys
 * or Kubernetes certificates; a control-plane host gets the Kubernetes CA key and is also a kubelet node; a
 * stacked control-plane host (roles control-plane + etcd) also gets its etcd member files. Load balancers get
 * nothing: haproxy checks the API servers' /readyz, which the API server serves to anonymous clients
 * (ClusterRole system:public-info-viewer), so no client certificate is needed there.
 */
export const ROLE_BUNDLES: Readonly<Record<Role, readonly RoleRule[]>> = {
  worker: KUBERNETES_NODE,
  "control-plane": [...CONTROL_PLANE, ...KUBERNETES_NODE],
  etcd: ETCD_MEMBER,
  "load-balancer": [],
};

/** What a delivered certificate file asserts (plan-known SANs: tokens resolved at apply are not listed). */
export interface CertificateIdentity {
  readonly certificate: string;
  readonly issuer: CaId;
  readonly commonName: string;
  readonly organization?: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly extendedUsages: readonly ExtendedUsage[];
}

export interface BundleFile {
  readonly fileId: PkiFileId;
  /** Absolute path on the host, under PKI_DIR. */
  readonly path: string;
  readonly item: PkiItem;
  /** For certificates and their keys: the issued certificate's key (e.g. "kubelet/worker-1"). */
  readonly certificate?: string;
  /** For certificate files: what the certificate says. */
  readonly identity?: CertificateIdentity;
  readonly owner: ServiceAccountName;
  readonly uid: number;
  readonly gid: number;
  readonly mode: "0400" | "0644";
  readonly secret: boolean;
  /** Units to restart when this file changes, in UNITS order. */
  readonly units: readonly Unit[];
}

function hostOf(plan: ClusterPlan, host: HostPlan | string): HostPlan {
  if (typeof host !== "string") return host;
  const found = plan.hosts.find((h) => h.name === host);
  if (!found) throw new Error(`host "${host}" is not in the plan of cluster "${plan.cluster}"`);
  return found;
}

/** The plan's certificates by key, computed once per plan: bundleFor runs for every host. */
const issuedByPlan = new WeakMap<ClusterPlan, ReadonlyMap<string, IssuedCertificate>>();

function issuedIndex(plan: ClusterPlan): ReadonlyMap<string, IssuedCertificate> {
  let index = issuedByPlan.get(plan);
  if (!index) {
    index = new Map(issuedCertificates(plan).map((c) => [c.key, c]));
    issuedByPlan.set(plan, index);
  }
  return index;
}

function issuedFor(issued: ReadonlyMap<string, IssuedCertificate>, item: PkiItem, host: HostPlan): IssuedCertificate | undefined {
  if (item.kind !== "cert" && item.kind !== "key") return undefined;
  const scope = certificateSpec(item.cert).scope;
  const key = certificateKey(item.cert, scope === "cluster" ? undefined : host.name);
  const found = issued.get(key);
  if (!found) throw new Error(`host "${host.name}" has no "${item.cert}" certificate: its roles are ${host.roles.join(", ")}`);
  return found;
}

function identityOf(cert: IssuedCertificate): CertificateIdentity {
  return {
    certificate: cert.key,
    issuer: cert.spec.issuer,
    commonName: cert.commonName,
    ...(cert.organization ? { organization: cert.organization } : {}),
    dnsNames: cert.dnsNames,
    ipAddresses: cert.ipAddresses,
    extendedUsages: cert.spec.usages,
  };
}

/** The files `host` receives, sorted by path; empty for hosts that need none (load balancers). */
export function bundleFor(plan: ClusterPlan, host: HostPlan | string): BundleFile[] {
  const h = hostOf(plan, host);
  const issued = issuedIndex(plan);
  const byPath = new Map<string, BundleFile>();
  for (const role of h.roles) {
    for (const rule of ROLE_BUNDLES[role]) {
      const placement = placementOf(rule.item);
      const cert = issuedFor(issued, rule.item, h);
      const previous = byPath.get(placement.path);
      if (previous && JSON.stringify(previous.item) !== JSON.stringify(rule.item)) {
        throw new Error(`${placement.path} is claimed by two different items on host "${h.name}"`);
      }
      const units = new Set<Unit>([...(previous?.units ?? []), ...rule.units]);
      const account = SERVICE_ACCOUNTS[placement.owner];
      byPath.set(placement.path, {
        fileId: placement.fileId,
        path: placement.path,
        item: rule.item,
        ...(cert ? { certificate: cert.key } : {}),
        ...(cert && rule.item.kind === "cert" ? { identity: identityOf(cert) } : {}),
        owner: placement.owner,
        uid: account.uid,
        gid: account.gid,
        mode: placement.mode,
        secret: placement.secret,
        units: UNITS.filter((u) => units.has(u)),
      });
    }
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
