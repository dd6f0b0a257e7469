/**
 * Renders a kubeconfig with embedded credentials (the operator's admin kubeconfig). Every value is written as
 * a double-quoted YAML scalar; the data fields are base64 and the server a URL, so none needs escaping beyond
 * what JSON.stringify does. Pure, no cdktf: values may be tokens resolved at apply.
 */
export interface KubeconfigValues {
  /** Cluster name (the description's `name`). */
  readonly cluster: string;
  /** User name in the kubeconfig. */
  readonly user: string;
  /** API server URL. */
  readonly server: string;
  /** base64 of the CA certificate PEM. */
  readonly caData: string;
  /** base64 of the client certificate PEM. */
  readonly certData: string;
  /** base64 of the client key PEM. */
  readonly keyData: string;
}

export function contextName(values: Pick<KubeconfigValues, "cluster" | "user">): string {
  return `${values.user}@${values.cluster}`;
}

export function renderKubeconfig(v: KubeconfigValues): string {
  const q = (s: string) => JSON.stringify(s);
  const context = contextName(v);
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `  - name: ${q(v.cluster)}`,
    "    cluster:",
    `      server: ${q(v.server)}`,
    `      certificate-authority-data: ${q(v.caData)}`,
    "users:",
    `  - name: ${q(v.user)}`,
    "    user:",
    `      client-certificate-data: ${q(v.certData)}`,
    `      client-key-data: ${q(v.keyData)}`,
    "contexts:",
    `  - name: ${q(context)}`,
    "    context:",
    `      cluster: ${q(v.cluster)}`,
    `      user: ${q(v.user)}`,
    `current-context: ${q(context)}`,
    "",
  ].join("\n");
}
