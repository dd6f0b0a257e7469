/** A self-signed certificate authority: its key and certificate (hashicorp/tls). */
import type { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { Construct } from "constructs";
import { allowedUses, type KeyAlgorithm } from "../../src/pki/catalog";
import { privateKey } from "./key";
import { requirePositiveHours, requireText } from "./validate";

export interface CertificateAuthorityProps {
  readonly commonName: string;
  /** Subject O; default none (as kubeadm's CAs). */
  readonly organization?: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Validity of the CA certificate. A CA is not renewed early: replacing it re-signs every certificate it issued. */
  readonly validityHours: number;
}

export class CertificateAuthority extends Construct {
  readonly key: PrivateKey;
  readonly cert: SelfSignedCert;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly validityHours: number;
  /** The certificate PEM (a token). */
  readonly certPem: string;
  /** The private key PEM (a sensitive token: only references reach the synthesized JSON). */
  readonly privateKeyPem: string;

  constructor(scope: Construct, id: string, props: CertificateAuthorityProps) {
    super(scope, id);
    requireText(this, "commonName", props.commonName);
    requirePositiveHours(this, "validityHours", props.validityHours);
    this.keyAlgorithm = props.keyAlgorithm;
    this.validityHours = props.validityHours;
    this.key = privateKey(this, "key", props.keyAlgorithm);
    this.cert = new SelfSignedCert(this, "cert", {
      privateKeyPem: this.key.privateKeyPem,
      subject: [{ commonName: props.commonName, ...(props.organization ? { organization: props.organization } : {}) }],
      isCaCertificate: true,
      setSubjectKeyId: true,
      allowedUses: allowedUses("ca", props.keyAlgorithm.algorithm),
      validityPeriodHours: props.validityHours,
    });
    this.certPem = this.cert.certPem;
    this.privateKeyPem = this.key.privateKeyPem;
  }
}
