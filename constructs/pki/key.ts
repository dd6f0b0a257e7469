/** A tls_private_key with the cluster's key algorithm. */
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import type { TerraformResourceLifecycle } from "cdktf";
import type { Construct } from "constructs";
import type { KeyAlgorithm } from "../../src/pki/catalog";

export function privateKey(scope: Construct, id: string, algorithm: KeyAlgorithm, lifecycle?: TerraformResourceLifecycle): PrivateKey {
  return new PrivateKey(scope, id, {
    algorithm: algorithm.algorithm,
    ...(algorithm.algorithm === "ECDSA" ? { ecdsaCurve: algorithm.ecdsaCurve ?? "P256" } : { rsaBits: algorithm.rsaBits ?? 2048 }),
    ...(lifecycle ? { lifecycle } : {}),
  });
}
