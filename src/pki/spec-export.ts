/**
 * The cluster PKI of a plan as plain JSON, for builders other than the pki stack: every CA, every issued certificate
 * (issuer, subject, SANs, extended usages) and, per host, every file its bundle holds (path, owner ids, mode, what it
 * contains). The NixOS VM test (nixos/tests/make-pki.sh) realizes it with openssl at build time, so the test's PKI
 * comes from the same table and bundles as the hosts' (catalog.ts, bundle.ts), not from a second list. Pure, no cdktf.
 */
import type { ClusterPlan } from "../cluster/plan-types";
import { bundleFor, type BundleFile } from "./bundle";
import { CAS, ENCRYPTION_CONFIG, issuedCertificates, keyAlgorithmOf, type KeyAlgorithm } from "./catalog";
import { renderEncryptionConfig } from "./encryption-config";

/** Stands for the random key in the encryption configuration template; the builder substitutes a fresh key. */
export const ENCRYPTION_SECRET_MARKER = "@ENCRYPTION_SECRET_BASE64@";

export type SpecSource =
  | { readonly kind: "ca-cert" | "ca-key" | "ca-signing-cert"; readonly ca: string }
  | { readonly kind: "cert" | "key"; readonly certificate: string }
  | { readonly kind: "service-account-key" | "service-account-public-key" | "encryption-config" };

export interface PkiSpec {
  readonly cluster: string;
  readonly sourceFile: string;
  readonly key: KeyAlgorithm;
  readonly caValidityHours: number;
  readonly certValidityHours: number;
  readonly cas: readonly { readonly id: string; readonly commonName: string }[];
  readonly certificates: readonly {
    readonly key: string;
    readonly issuer: string;
    readonly commonName: string;
    readonly organization?: string;
    readonly dnsNames: readonly string[];
    readonly ipAddresses: readonly string[];
    readonly usages: readonly string[];
  }[];
  readonly encryptionConfig: { readonly template: string; readonly secretMarker: string; readonly keyBytes: number };
  /** Per host (plan order), the files of its bundle (sorted by path); hosts with no files (load balancers) have []. */
  readonly hosts: Readonly<Record<string, readonly { readonly path: string; readonly uid: number; readonly gid: number; readonly mode: string; readonly source: SpecSource }[]>>;
}

function sourceOf(file: BundleFile): SpecSource {
  const item = file.item;
  switch (item.kind) {
    case "ca-cert":
    case "ca-key":
    case "ca-signing-cert":
      return { kind: item.kind, ca: item.ca };
    case "cert":
    case "key":
      if (!file.certificate) throw new Error(`${file.path}: a ${item.kind} file without its certificate key`);
      return { kind: item.kind, certificate: file.certificate };
    default:
      return { kind: item.kind };
  }
}

export function pkiSpec(plan: ClusterPlan): PkiSpec {
  return {
    cluster: plan.cluster,
    sourceFile: plan.sourceFile,
    key: keyAlgorithmOf(plan.pki),
    caValidityHours: plan.pki.caValidityHours,
    certValidityHours: plan.pki.certValidityHours,
    cas: CAS.map((ca) => ({ id: ca.id, commonName: ca.commonName })),
    certificates: issuedCertificates(plan).map((c) => ({
      key: c.key,
      issuer: c.spec.issuer,
      commonName: c.commonName,
      ...(c.organization ? { organization: c.organization } : {}),
      dnsNames: c.dnsNames,
      ipAddresses: c.ipAddresses,
      usages: c.spec.usages,
    })),
    encryptionConfig: { template: renderEncryptionConfig(ENCRYPTION_SECRET_MARKER), secretMarker: ENCRYPTION_SECRET_MARKER, keyBytes: ENCRYPTION_CONFIG.keyBytes },
    hosts: Object.fromEntries(
      plan.hosts.map((host) => [host.name, bundleFor(plan, host).map((f) => ({ path: f.path, uid: f.uid, gid: f.gid, mode: f.mode, source: sourceOf(f) }))]),
    ),
  };
}
