/**
 * What keeps an active trust anchor (CA key and certificate, service-account key) from being replaced by
 * accident. tls 4.1.0 replaces a key whose algorithm, curve or size changes and a CA certificate whose validity
 * changes, and every host and client trusts that exact CA. So:
 * - prevent_destroy (unless the description turns it off to destroy the cluster): a plan that would destroy the
 *   resource, for any reason (-replace, expiry, a requires-replace edit), fails before anything is destroyed;
 * - those settings are ignore_changes: the resource keeps the values it was created with, and a postcondition
 *   refuses the plan when the description asks for other values outside a rotation, naming the field and the
 *   rotation path (Terraform checks it at plan: the planned values of an existing resource are its state);
 * - a birth marker (terraform_data holding the plan time it was created in) lets the rotation's checks tell a
 *   slot that existed before this plan from one this plan creates.
 */
import { DataResource, Fn, type TerraformResourceLifecycle } from "cdktf";
import type { Construct } from "constructs";
import type { KeyAlgorithm } from "../../src/pki/catalog";

export interface Protection {
  /** prevent_destroy; false only to destroy the cluster (description pki.protectAuthorities). */
  readonly preventDestroy: boolean;
  /**
   * Refuse a description whose settings differ from the resource's (outside a rotation); absent during a rotation
   * for the slot being replaced, whose settings may differ on purpose. Gets the field and the wanted value.
   */
  readonly refuseChange?: (field: string, wanted: string) => string;
}

/** The ignore_changes and postconditions of a protected tls_private_key. */
export function keyLifecycle(algorithm: KeyAlgorithm, protection: Protection): TerraformResourceLifecycle {
  const guard = protection.refuseChange;
  const wantedCurve = algorithm.ecdsaCurve ?? "P256";
  const wantedBits = algorithm.rsaBits ?? 2048;
  return {
    preventDestroy: protection.preventDestroy,
    ignoreChanges: ["algorithm", "ecdsa_curve", "rsa_bits"],
    ...(guard
      ? {
          postcondition: [
            { condition: `\${self.algorithm == "${algorithm.algorithm}"}`, errorMessage: guard("pki.algorithm", algorithm.algorithm) },
            algorithm.algorithm === "ECDSA"
              ? { condition: `\${self.algorithm != "ECDSA" || self.ecdsa_curve == "${wantedCurve}"}`, errorMessage: guard("pki.ecdsaCurve", wantedCurve) }
              : { condition: `\${self.algorithm != "RSA" || self.rsa_bits == ${wantedBits}}`, errorMessage: guard("pki.rsaBits", String(wantedBits)) },
          ],
        }
      : {}),
  };
}

/** The ignore_changes and postcondition of a protected CA certificate (tls_self_signed_cert). */
export function caCertLifecycle(validityHours: number, protection: Protection): TerraformResourceLifecycle {
  const guard = protection.refuseChange;
  return {
    preventDestroy: protection.preventDestroy,
    ignoreChanges: ["validity_period_hours"],
    ...(guard ? { postcondition: [{ condition: `\${self.validity_period_hours == ${validityHours}}`, errorMessage: guard("pki.caValidityHours", String(validityHours)) }] } : {}),
  };
}

/** A terraform_data holding the plan time of the apply that created it (kept: ignore_changes). */
export function birthMarker(scope: Construct, id: string): DataResource {
  return new DataResource(scope, id, { input: { created: Fn.plantimestamp() }, lifecycle: { ignoreChanges: ["input"] } });
}

/** A Terraform condition: `marker` was created by an earlier apply than the one being planned (known at plan). */
export function createdBeforeThisPlan(marker: DataResource): string {
  return `\${timecmp(${marker.fqn}.input.created, plantimestamp()) < 0}`;
}
