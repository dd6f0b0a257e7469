/** A leaf certificate: key, certificate request and the certificate a CertificateAuthority signs (hashicorp/tls). */
import { CertRequest } from "@cdktf/provider-tls/lib/cert-request";
import { LocallySignedCert } from "@cdktf/provider-tls/lib/locally-signed-cert";
import type { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { Construct } from "constructs";
import { allowedUses, type ExtendedUsage } from "../../src/pki/catalog";
import type { CertificateAuthority } from "./certificate-authority";
import { privateKey } from "./key";
import { requirePositiveHours, requireText } from "./validate";

export interface CertificateProps {
  /** The issuer; the certificate's key uses the CA's key algorithm. */
  readonly ca: CertificateAuthority;
  readonly commonName: string;
  /** Subject O (a Kubernetes group); default none. */
  readonly organization?: string;
  /** Default none. */
  readonly dnsNames?: readonly string[];
  /** Default none. May hold tokens (addresses known only at apply). */
  readonly ipAddresses?: readonly string[];
  /** server_auth and/or client_auth; digital_signature (and key_encipherment for RSA) are added. */
  readonly usages: readonly ExtendedUsage[];
  readonly validityHours: number;
  /** Renew when an apply runs within this many hours of expiry; must be shorter than validityHours. 0: only once expired. */
  readonly earlyRenewalHours: number;
  /**
   * When given, the plan is refused with this message if a certificate issued now (plan time + validityHours)
   * would outlive its CA's certificate; default no check.
   */
  readonly refuseOutlivingCa?: string;
}

export class Certificate extends Construct {
  readonly key: PrivateKey;
  readonly request: CertRequest;
  readonly cert: LocallySignedCert;
  /** The certificate PEM (a token). */
  readonly certPem: string;
  /** The private key PEM (a sensitive token). */
  readonly privateKeyPem: string;

  constructor(scope: Construct, id: string, props: CertificateProps) {
    super(scope, id);
    requireText(this, "commonName", props.commonName);
    requirePositiveHours(this, "validityHours", props.validityHours);
    if (!Number.isInteger(props.earlyRenewalHours) || props.earlyRenewalHours < 0) {
      throw new Error(`${this.node.path}: earlyRenewalHours must be a whole number of hours, 0 or more (got ${props.earlyRenewalHours})`);
    }
    if (props.earlyRenewalHours >= props.validityHours) {
      throw new Error(`${this.node.path}: earlyRenewalHours (${props.earlyRenewalHours}) must be less than validityHours (${props.validityHours})`);
    }
    if (props.validityHours > props.ca.validityHours) {
      throw new Error(`${this.node.path}: validityHours (${props.validityHours}) must not exceed the CA's (${props.ca.validityHours})`);
    }
    if (props.usages.length === 0) throw new Error(`${this.node.path}: usages must name server_auth and/or client_auth`);
    const dnsNames = props.dnsNames ?? [];
    const ipAddresses = props.ipAddresses ?? [];
    this.key = privateKey(this, "key", props.ca.keyAlgorithm);
    this.request = new CertRequest(this, "request", {
      privateKeyPem: this.key.privateKeyPem,
      subject: [{ commonName: props.commonName, ...(props.organization ? { organization: props.organization } : {}) }],
      ...(dnsNames.length > 0 ? { dnsNames: [...dnsNames] } : {}),
      ...(ipAddresses.length > 0 ? { ipAddresses: [...ipAddresses] } : {}),
    });
    this.cert = new LocallySignedCert(this, "cert", {
      certRequestPem: this.request.certRequestPem,
      caCertPem: props.ca.certPem,
      caPrivateKeyPem: props.ca.privateKeyPem,
      allowedUses: allowedUses(props.usages, props.ca.keyAlgorithm.algorithm),
      validityPeriodHours: props.validityHours,
      earlyRenewalHours: props.earlyRenewalHours,
      setSubjectKeyId: true,
      ...(props.refuseOutlivingCa
        ? {
            lifecycle: {
              precondition: [
                {
                  condition: `\${timecmp(timeadd(plantimestamp(), "${props.validityHours}h"), ${props.ca.cert.fqn}.validity_end_time) <= 0}`,
                  errorMessage: props.refuseOutlivingCa,
                },
              ],
            },
          }
        : {}),
    });
    this.certPem = this.cert.certPem;
    this.privateKeyPem = this.key.privateKeyPem;
  }
}
