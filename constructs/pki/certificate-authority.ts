/** A self-signed certificate authority: its key and certificate (hashicorp/tls), optionally protected. */
import type { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import type { DataResource } from "cdktf";
import { Construct } from "constructs";
import { allowedUses, type KeyAlgorithm } from "../../src/pki/catalog";
import { privateKey } from "./key";
import { birthMarker, caCertLifecycle, keyLifecycle, type Protection } from "./protection";
import { requirePositiveHours, requireText } from "./validate";

export interface CertificateAuthorityProps {
  readonly commonName: string;
  /** Subject O; default none (as kubeadm's CAs). */
  readonly organization?: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Validity of the CA certificate. A CA is not renewed in place: it is rotated (docs/pki.md#ca-rotation). */
  readonly validityHours: number;
  /** prevent_destroy, settings kept as created, a refusal message, a birth marker (protection.ts); default none. */
  readonly protection?: Protection;
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
  /** When protected: the plan time of the apply that created this CA (protection.ts). */
  readonly born?: DataResource;

  constructor(scope: Construct, id: string, props: CertificateAuthorityProps) {
    super(scope, id);
    requireText(this, "commonName", props.commonName);
    requirePositiveHours(this, "validityHours", props.validityHours);
    this.keyAlgorithm = props.keyAlgorithm;
    this.validityHours = props.validityHours;
    this.key = privateKey(this, "key", props.keyAlgorithm, props.protection ? keyLifecycle(props.keyAlgorithm, props.protection) : undefined);
    this.cert = new SelfSignedCert(this, "cert", {
      privateKeyPem: this.key.privateKeyPem,
      subject: [{ commonName: props.commonName, ...(props.organization ? { organization: props.organization } : {}) }],
      isCaCertificate: true,
      setSubjectKeyId: true,
      allowedUses: allowedUses("ca", props.keyAlgorithm.algorithm),
      validityPeriodHours: props.validityHours,
      ...(props.protection ? { lifecycle: caCertLifecycle(props.validityHours, props.protection) } : {}),
    });
    if (props.protection) this.born = birthMarker(this, "born");
    this.certPem = this.cert.certPem;
    this.privateKeyPem = this.key.privateKeyPem;
  }
}
