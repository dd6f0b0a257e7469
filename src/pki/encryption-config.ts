/**
 * The API server's encryption-at-rest configuration (--encryption-provider-config). Secrets are written with
 * secretbox (XSalsa20-Poly1305, a 32-byte key): the strongest local provider; aescbc is not recommended by
 * Kubernetes (padding-oracle weakness) and aesgcm needs rotation every 200k writes. `identity` comes last so
 * Secrets written before encryption was enabled stay readable. Pure, no cdktf.
 */

/** Name of the key in the provider's key list; a rotation adds a new name in front of it. */
export const ENCRYPTION_KEY_NAME = "key1";

/** Resources encrypted at rest. */
export const ENCRYPTED_RESOURCES = ["secrets"] as const;

/**
 * Renders the EncryptionConfiguration YAML.
 * @param secretBase64 the 32-byte key, base64 (a token resolved at apply: random_bytes.base64)
 */
export function renderEncryptionConfig(secretBase64: string): string {
  return [
    "apiVersion: apiserver.config.k8s.io/v1",
    "kind: EncryptionConfiguration",
    "resources:",
    "  - resources:",
    ...ENCRYPTED_RESOURCES.map((r) => `      - ${r}`),
    "    providers:",
    "      - secretbox:",
    "          keys:",
    `            - name: ${ENCRYPTION_KEY_NAME}`,
    // base64 is a plain YAML scalar (it never starts with an indicator), so the key needs no quoting.
    `              secret: ${secretBase64}`,
    "      - identity: {}",
    "",
  ].join("\n");
}
