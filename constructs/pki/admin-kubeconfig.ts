/** An operator kubeconfig (admin or break-glass), written locally by hashicorp/local as a 0600 file in a 0700 directory. */
import { SensitiveFile } from "@cdktf/provider-local/lib/sensitive-file";
import { Fn } from "cdktf";
import { Construct } from "constructs";
import { renderKubeconfig } from "../../src/pki/kubeconfig";
import type { Certificate } from "./certificate";
import { requireText } from "./validate";

export interface AdminKubeconfigProps {
  readonly cluster: string;
  /** API URL operators use (TargetNetwork.operatorApiUrl; may be a token). */
  readonly server: string;
  /** The Kubernetes CA certificates the kubeconfig trusts (PEM; the trust bundle: old and new during a rotation). */
  readonly caCertificatesPem: string;
  readonly client: Certificate;
  /** Path of the file, relative to the stack's working directory (cdktf.out/stacks/<id>), never absolute. */
  readonly filename: string;
  /** User name in the kubeconfig; default "admin". */
  readonly user?: string;
}

export class AdminKubeconfig extends Construct {
  readonly file: SensitiveFile;

  constructor(scope: Construct, id: string, props: AdminKubeconfigProps) {
    super(scope, id);
    requireText(this, "filename", props.filename);
    if (props.filename.startsWith("/")) throw new Error(`${this.node.path}: filename must be relative, not ${props.filename}`);
    this.file = new SensitiveFile(this, "file", {
      filename: props.filename,
      filePermission: "0600",
      directoryPermission: "0700",
      content: renderKubeconfig({
        cluster: props.cluster,
        user: props.user ?? "admin",
        server: props.server,
        caData: Fn.base64encode(props.caCertificatesPem),
        certData: Fn.base64encode(props.client.certPem),
        keyData: Fn.base64encode(props.client.privateKeyPem),
      }),
    });
  }
}
