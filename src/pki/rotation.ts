/**
 * Rotation of a trust anchor (a CA, or the service-account signing key) as data: which key slots exist, which are
 * trusted and which one signs, in each phase of the description's `pki.rotation`. Pure, no cdktf: the pki
 * constructs build the slots, bundle contents follow `trusted`, issuers follow `signing`.
 *
 *   phase      slots            trusted (bundle files)   signs leaves / tokens
 *   (none)     current          current                  current
 *   trust      current, next    current + next           current
 *   reissue    current, next    current + next           next
 *   drop       next             next                     next
 *
 * After "drop" is applied the entry is removed: the next slot's resources then move to the current slot (a
 * Terraform `moved` block, state only), ready for the next rotation.
 */
import { ROTATABLE_AUTHORITIES, ROTATION_PHASES, type PkiSettings } from "../cluster/schema";

export type Authority = (typeof ROTATABLE_AUTHORITIES)[number];
export type RotationPhase = (typeof ROTATION_PHASES)[number];
export type Slot = "current" | "next";

export { ROTATABLE_AUTHORITIES, ROTATION_PHASES };

export interface AuthorityState {
  readonly authority: Authority;
  /** Absent outside a rotation. */
  readonly phase?: RotationPhase;
  /** The key slots declared in the configuration (a slot that disappears is destroyed). */
  readonly slots: readonly Slot[];
  /** Whose certificates (public keys) the trust files hold, in this order. */
  readonly trusted: readonly Slot[];
  /** Which slot issues leaf certificates (signs service-account tokens). */
  readonly signing: Slot;
}

export function authorityState(pki: Pick<PkiSettings, "rotation">, authority: Authority): AuthorityState {
  const phase = pki.rotation[authority];
  switch (phase) {
    case undefined:
      return { authority, slots: ["current"], trusted: ["current"], signing: "current" };
    case "trust":
      return { authority, phase, slots: ["current", "next"], trusted: ["current", "next"], signing: "current" };
    case "reissue":
      return { authority, phase, slots: ["current", "next"], trusted: ["current", "next"], signing: "next" };
    case "drop":
      return { authority, phase, slots: ["next"], trusted: ["next"], signing: "next" };
  }
}

/** The phases whose application must already be complete before `phase` may be planned (the one before it). */
export function previousPhase(phase: RotationPhase): RotationPhase | undefined {
  const i = ROTATION_PHASES.indexOf(phase);
  return i > 0 ? ROTATION_PHASES[i - 1] : undefined;
}

/** The description field that drives an authority's rotation. */
export function rotationField(authority: Authority): string {
  return `pki.rotation.${authority}`;
}

const LABELS: Readonly<Record<Authority, string>> = {
  kubernetes: "Kubernetes CA",
  etcd: "etcd CA",
  "front-proxy": "front-proxy CA",
  "service-account": "service-account signing key",
};

const ROTATION_PATH = (authority: Authority) =>
  `set ${rotationField(authority)} to "trust", apply, then "reissue", apply, then "drop", apply, then remove it and apply (docs/pki.md#ca-rotation)`;

/** Plan-time refusal of a description setting that would replace an active trust anchor. */
export function refuseChangeMessage(authority: Authority, slot: Slot, field: string, wanted: string): string {
  const which = slot === "current" ? `the active ${LABELS[authority]}` : `the new ${LABELS[authority]} of the rotation in progress (${rotationField(authority)})`;
  return (
    `${field} is ${wanted} in the description, but ${which} was created with another value; ` +
    `hashicorp/tls would replace it, and every host and client trusts that exact one. ` +
    (slot === "current"
      ? `Set ${field} back to the value it was created with, or change it through a rotation: ${ROTATION_PATH(authority)}.`
      : `Set ${field} back to the value the rotation started with, or finish this rotation and start another.`)
  );
}

/** Plan-time refusal of a leaf certificate that would outlive its CA. */
export function outlivingCaMessage(authority: Authority, certificate: string, validityHours: number): string {
  return (
    `Certificate ${certificate}, if issued now (pki.certValidityHours: ${validityHours} h), would be valid beyond the expiry of the ${LABELS[authority]} that signs it ` +
    `(output ca_not_after). Rotate that CA before issuing anything else: ${ROTATION_PATH(authority)}.`
  );
}

/** Plan-time refusal of a phase whose predecessor has not completed (every host delivered). */
export function phaseOrderMessage(authority: Authority, phase: RotationPhase): string {
  const previous = previousPhase(phase);
  if (previous === undefined) {
    return (
      `${rotationField(authority)} is "trust", but the ${LABELS[authority]} it would replace does not exist before this plan. ` +
      `A rotation starts from an applied cluster without ${rotationField(authority)}: after "drop", remove ${rotationField(authority)} and apply ` +
      `(the new one becomes the active one) before starting another rotation; on a cluster created before rotations existed, apply once without it first.`
    );
  }
  return (
    `${rotationField(authority)} is "${phase}", but phase "${previous}" has not completed: it completes when its apply has delivered to every host. ` +
    `Set ${rotationField(authority)} to "${previous}", apply until that succeeds, then "${phase}" (docs/pki.md#ca-rotation).`
  );
}
