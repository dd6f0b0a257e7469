/**
 * The whole cluster PKI from the catalog: three CAs, every issued certificate, the service-account key pair and
 * the encryption-at-rest key and configuration. contentOf() gives the content of any bundle file (a token).
 */
import type { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { Bytes } from "@cdktf/provider-random/lib/bytes";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import type { BundleFile } from "../../src/pki/bundle";
import { CAS, ENCRYPTION_CONFIG, issuedCertificates, keyAlgorithmOf, type CaId, type IssuedCertificate } from "../../src/pki/catalog";
import { renderEncryptionConfig } from "../../src/pki/encryption-config";
import { Certificate } from "./certificate";
import { CertificateAuthority } from "./certificate-authority";
import { privateKey } from "./key";

export interface ClusterPkiProps {
  readonly plan: ClusterPlan;
  /**
   * Every address the API is reached at (TargetNetwork.apiAddresses), added to the API server certificate;
   * may hold tokens from the network stack (GCP: the external balancer address).
   */
  readonly apiAddresses: readonly string[];
}

const SLOT = "\u0000slot\u0000";

/**
 * Renders text around one token as a single Terraform expression (join of literal, token, literal), so the
 * result can itself be passed to Terraform functions (sha256), which reject literals with embedded tokens.
 */
function withToken(render: (value: string) => string, token: string): string {
  const parts = render(SLOT).split(SLOT);
  if (parts.length !== 2) throw new Error(`a renderer must use its value exactly once (used ${parts.length - 1} times)`);
  return Fn.join("", [parts[0], token, parts[1]]);
}

/** Construct id of an issued certificate: the spec id, plus "-<host>" for per-host certificates. */
function certificateConstructId(issued: IssuedCertificate): string {
  return issued.host === undefined ? issued.spec.id : `${issued.spec.id}-${issued.host}`;
}

export class ClusterPki extends Construct {
  readonly authorities: Readonly<Record<CaId, CertificateAuthority>>;
  /** By issued-certificate key ("apiserver", "kubelet/worker-1", ...). */
  readonly certificates: ReadonlyMap<string, Certificate>;
  readonly issued: readonly IssuedCertificate[];
  /** The service-account token signing key. */
  readonly serviceAccountKey: PrivateKey;
  /** The random encryption-at-rest key (base64 attribute is sensitive). */
  readonly encryptionKey: Bytes;
  /** The EncryptionConfiguration YAML (a sensitive token). */
  readonly encryptionConfig: string;

  constructor(scope: Construct, id: string, props: ClusterPkiProps) {
    super(scope, id);
    // Validity settings are checked by the description validation and, for any other caller, by Certificate.
    const { pki } = props.plan;
    const keyAlgorithm = keyAlgorithmOf(pki);
    const authorities = Object.fromEntries(
      CAS.map((ca) => [ca.id, new CertificateAuthority(this, `${ca.id}-ca`, { commonName: ca.commonName, keyAlgorithm, validityHours: pki.caValidityHours })]),
    ) as Record<CaId, CertificateAuthority>;
    this.authorities = authorities;
    this.issued = issuedCertificates(props.plan, props.apiAddresses);
    this.certificates = new Map(
      this.issued.map((c) => [
        c.key,
        new Certificate(this, certificateConstructId(c), {
          ca: authorities[c.spec.issuer],
          commonName: c.commonName,
          ...(c.organization ? { organization: c.organization } : {}),
          dnsNames: c.dnsNames,
          ipAddresses: c.ipAddresses,
          usages: c.spec.usages,
          validityHours: pki.certValidityHours,
          earlyRenewalHours: c.spec.renewsEarly === false ? 0 : pki.earlyRenewalHours,
        }),
      ]),
    );
    this.serviceAccountKey = privateKey(this, "service-account-key", keyAlgorithm);
    this.encryptionKey = new Bytes(this, "encryption-key", { length: ENCRYPTION_CONFIG.keyBytes });
    this.encryptionConfig = withToken(renderEncryptionConfig, this.encryptionKey.base64);
  }

  certificate(key: string): Certificate {
    const found = this.certificates.get(key);
    if (!found) throw new Error(`${this.node.path}: no certificate "${key}"`);
    return found;
  }

  /** The content of a bundle file (a token; sensitive for keys and the encryption configuration). */
  contentOf(file: BundleFile): string {
    const item = file.item;
    switch (item.kind) {
      case "ca-cert":
        return this.authorities[item.ca].certPem;
      case "ca-key":
        return this.authorities[item.ca].privateKeyPem;
      case "cert":
      case "key": {
        if (file.certificate === undefined) throw new Error(`${this.node.path}: ${file.path} names no certificate`);
        const cert = this.certificate(file.certificate);
        return item.kind === "cert" ? cert.certPem : cert.privateKeyPem;
      }
      case "service-account-key":
        return this.serviceAccountKey.privateKeyPem;
      case "service-account-public-key":
        return this.serviceAccountKey.publicKeyPem;
      case "encryption-config":
        return this.encryptionConfig;
    }
  }
}
