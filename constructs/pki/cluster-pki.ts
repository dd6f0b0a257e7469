/**
 * The whole cluster PKI from the catalog: three CAs and the service-account key pair, each in one or two key slots
 * (current, next: src/pki/rotation.ts), every issued certificate, and the encryption-at-rest key and
 * configuration. contentOf() gives the content of any bundle file (a token): trust files hold every trusted slot
 * (a bundle during a rotation), keys and signing certificates the slot that signs.
 */
import type { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { Bytes } from "@cdktf/provider-random/lib/bytes";
import { Fn, TerraformStack, type DataResource, type TerraformResource } from "cdktf";
import { makeUniqueId } from "cdktf/lib/private/unique";
import { Construct } from "constructs";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import type { BundleFile } from "../../src/pki/bundle";
import { CAS, ENCRYPTION_CONFIG, issuedCertificates, keyAlgorithmOf, type CaId, type IssuedCertificate } from "../../src/pki/catalog";
import { renderEncryptionConfig } from "../../src/pki/encryption-config";
import { authorityState, outlivingCaMessage, refuseChangeMessage, type Authority, type AuthorityState, type Slot } from "../../src/pki/rotation";
import { Certificate } from "./certificate";
import { CertificateAuthority } from "./certificate-authority";
import { privateKey } from "./key";
import { birthMarker, keyLifecycle, type Protection } from "./protection";

export interface ClusterPkiProps {
  readonly plan: ClusterPlan;
  /**
   * Every address the API is reached at (TargetNetwork.apiAddresses), added to the API server certificate;
   * may hold tokens from the network stack (GCP: the external balancer address).
   */
  readonly apiAddresses: readonly string[];
}

/** A trust anchor in its slots. */
export interface Anchor<T> {
  readonly state: AuthorityState;
  readonly slots: Readonly<Partial<Record<Slot, T>>>;
  /** The slot that signs now. */
  readonly signing: T;
  /** When each slot was created (protection.ts birth markers). */
  readonly born: Readonly<Partial<Record<Slot, DataResource>>>;
}

export interface CaAnchor extends Anchor<CertificateAuthority> {
  /** Every trusted CA certificate, PEM, in slot order: the content of the CA certificate files and kubeconfigs. */
  readonly trustBundlePem: string;
}

export interface ServiceAccountAnchor extends Anchor<PrivateKey> {
  /** Every trusted public key, PEM (sa.pub: the API server accepts tokens signed by any of them). */
  readonly publicKeysPem: string;
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

/** Construct ids of a slot. The current slot keeps the ids these resources had before slots existed. */
const caSlotId = (ca: CaId, slot: Slot) => (slot === "current" ? `${ca}-ca` : `${ca}-ca-next`);
const saSlotId = (slot: Slot) => (slot === "current" ? "service-account-key" : "service-account-key-next");

/** One PEM after the other (each ends with a newline). */
function concatenated(pems: readonly string[]): string {
  return pems.length === 1 ? pems[0] : Fn.join("", [...pems]);
}

/**
 * Outside a rotation, a next slot left from the last one moves to the current slot (state only): after "drop"
 * the next slot is the only one in state. The address is the one the next slot's resource had.
 */
function moveFromNextSlot(resource: TerraformResource, currentId: string, nextId: string): void {
  const stack = TerraformStack.of(resource);
  const scopes = resource.node.scopes;
  const components = scopes.slice(scopes.indexOf(stack) + 1).map((c) => (c.node.id === currentId ? nextId : c.node.id));
  resource.moveFromId(`${resource.terraformResourceType}.${makeUniqueId(components)}`);
}

export class ClusterPki extends Construct {
  readonly authorities: Readonly<Record<CaId, CaAnchor>>;
  readonly serviceAccount: ServiceAccountAnchor;
  /** By issued-certificate key ("apiserver", "kubelet/worker-1", ...). */
  readonly certificates: ReadonlyMap<string, Certificate>;
  readonly issued: readonly IssuedCertificate[];
  /** The random encryption-at-rest key (base64 attribute is sensitive). */
  readonly encryptionKey: Bytes;
  /** The EncryptionConfiguration YAML (a sensitive token). */
  readonly encryptionConfig: string;

  constructor(scope: Construct, id: string, props: ClusterPkiProps) {
    super(scope, id);
    // Validity settings are checked by the description validation and, for any other caller, by Certificate.
    const { pki } = props.plan;
    const keyAlgorithm = keyAlgorithmOf(pki);
    const protection = (authority: Authority, state: AuthorityState, slot: Slot): Protection => ({
      preventDestroy: pki.protectAuthorities,
      // The slot a rotation replaces may differ from the description on purpose (that is why it is rotated).
      ...(slot === "next" || state.phase === undefined ? { refuseChange: (field: string, wanted: string) => refuseChangeMessage(authority, slot, field, wanted) } : {}),
    });

    this.authorities = Object.fromEntries(
      CAS.map((ca) => {
        const state = authorityState(pki, ca.id);
        const slots: Partial<Record<Slot, CertificateAuthority>> = {};
        for (const slot of state.slots) {
          const authority = new CertificateAuthority(this, caSlotId(ca.id, slot), {
            commonName: ca.commonName,
            keyAlgorithm,
            validityHours: pki.caValidityHours,
            protection: protection(ca.id, state, slot),
          });
          if (slot === "current" && state.phase === undefined) {
            for (const r of [authority.key, authority.cert, authority.born!]) moveFromNextSlot(r, caSlotId(ca.id, "current"), caSlotId(ca.id, "next"));
          }
          slots[slot] = authority;
        }
        const anchor: CaAnchor = {
          state,
          slots,
          signing: slots[state.signing]!,
          born: Object.fromEntries(state.slots.map((s) => [s, slots[s]!.born!])),
          trustBundlePem: concatenated(state.trusted.map((s) => slots[s]!.certPem)),
        };
        return [ca.id, anchor];
      }),
    ) as Record<CaId, CaAnchor>;

    const saState = authorityState(pki, "service-account");
    const saSlots: Partial<Record<Slot, PrivateKey>> = {};
    const saBorn: Partial<Record<Slot, DataResource>> = {};
    for (const slot of saState.slots) {
      const key = privateKey(this, saSlotId(slot), keyAlgorithm, keyLifecycle(keyAlgorithm, protection("service-account", saState, slot)));
      const born = birthMarker(this, `${saSlotId(slot)}-born`);
      if (slot === "current" && saState.phase === undefined) {
        moveFromNextSlot(key, saSlotId("current"), saSlotId("next"));
        moveFromNextSlot(born, `${saSlotId("current")}-born`, `${saSlotId("next")}-born`);
      }
      saSlots[slot] = key;
      saBorn[slot] = born;
    }
    this.serviceAccount = {
      state: saState,
      slots: saSlots,
      signing: saSlots[saState.signing]!,
      born: saBorn,
      publicKeysPem: concatenated(saState.trusted.map((s) => saSlots[s]!.publicKeyPem)),
    };

    this.issued = issuedCertificates(props.plan, props.apiAddresses);
    this.certificates = new Map(
      this.issued.map((c) => {
        const issuer = this.authorities[c.spec.issuer];
        return [
          c.key,
          new Certificate(this, certificateConstructId(c), {
            ca: issuer.signing,
            commonName: c.commonName,
            ...(c.organization ? { organization: c.organization } : {}),
            dnsNames: c.dnsNames,
            ipAddresses: c.ipAddresses,
            usages: c.spec.usages,
            validityHours: pki.certValidityHours,
            earlyRenewalHours: c.spec.renewsEarly === false ? 0 : pki.earlyRenewalHours,
            // Not while the trust phase of a rotation still signs with the CA being replaced: that phase must be
            // plannable even when the old CA is close to expiry (that is why it is rotated).
            ...(issuer.state.phase === "trust" ? {} : { refuseOutlivingCa: outlivingCaMessage(c.spec.issuer, c.key, pki.certValidityHours) }),
          }),
        ];
      }),
    );
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
        return this.authorities[item.ca].trustBundlePem;
      case "ca-key":
        return this.authorities[item.ca].signing.privateKeyPem;
      case "ca-signing-cert":
        return this.authorities[item.ca].signing.certPem;
      case "cert":
      case "key": {
        if (file.certificate === undefined) throw new Error(`${this.node.path}: ${file.path} names no certificate`);
        const cert = this.certificate(file.certificate);
        return item.kind === "cert" ? cert.certPem : cert.privateKeyPem;
      }
      case "service-account-key":
        return this.serviceAccount.signing.privateKeyPem;
      case "service-account-public-key":
        return this.serviceAccount.publicKeysPem;
      case "encryption-config":
        return this.encryptionConfig;
    }
  }
}
