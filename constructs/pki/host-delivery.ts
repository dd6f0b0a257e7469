/**
 * Delivers one host's PKI bundle over SSH: a terraform_data (Terraform's built-in resource, no provider) whose
 * creation-time provisioners stage every file in a tmpfs directory, install it with owner and mode by atomic
 * rename and restart the units whose files changed (a restarted etcd or kube-apiserver must pass its health check
 * before the script, and so the next host's delivery, goes on). The host records the restarts it owes before the
 * first install, so the re-run of a failed (tainted) delivery completes them (src/pki/install-script.ts). Every
 * connection verifies the host's key (and the bastion's), and scripts are uploaded below the login user's home
 * (script-paths.ts), never to /tmp. Optionally through a bastion: Terraform's SSH client reads no ~/.ssh/config.
 * triggers_replace makes any change re-deliver:
 * - layout: digest of what the plan says the host gets (paths, owners, modes, subjects, SANs, scripts), known at synth;
 * - content: per file, the digest of its content, known at apply (renewal, new keys, new CA, addresses from other
 *   stacks);
 * - machine_id: a replaced machine starts empty.
 */
import { createHash } from "node:crypto";
import { DataResource, Fn, type ITerraformDependable, type SSHProvisionerConnection } from "cdktf";
import { Construct } from "constructs";
import type { SshBastion } from "../../src/cluster/plan-types";
import type { BundleFile } from "../../src/pki/bundle";
import { installScript, prepareScript, stagedPath, type ScriptOptions } from "../../src/pki/install-script";
import { FIRST_SCRIPT_PATH, privateScriptDirCommands, SCRIPT_PATH } from "../../src/pki/script-paths";
import { requireText } from "./validate";

export interface DeliveredFile {
  readonly file: BundleFile;
  /** The file's content: a single token (sensitive for keys), not a literal with embedded tokens. */
  readonly content: string;
}

export interface HostDeliveryProps {
  /** Host name, for messages. */
  readonly host: string;
  /** Address SSH connects to (TargetCompute.hosts[name].sshAddress; may be a token). */
  readonly sshAddress: string;
  /**
   * The host's SSH host public key ("ssh-ed25519 AAAA...", may be a token): Terraform refuses a host that answers
   * with another key before it uploads anything. The host must offer no other host key type (see docs/pki.md).
   */
  readonly hostKey: string;
  /** SSH login user (the description's ssh.user); other than root it needs passwordless sudo. */
  readonly sshUser: string;
  /** The machine's id (TargetCompute.hosts[name].machineId; a token): a new machine gets the bundle again. */
  readonly machineId: string;
  readonly files: readonly DeliveredFile[];
  /**
   * Jump host (description ssh.bastion) when the operator cannot reach sshAddress directly; default none.
   * Terraform's SSH client reads no ~/.ssh/config, so ProxyJump/ProxyCommand there do not apply to the delivery.
   */
  readonly bastion?: SshBastion;
  /** How long to wait for SSH; default "10m" (a machine created in the same apply may still be booting). */
  readonly connectionTimeout?: string;
  /** Deliveries that must have finished first (rolling restarts of etcd and the control plane); default none. */
  readonly after?: readonly ITerraformDependable[];
}

export class HostDelivery extends Construct {
  readonly resource: DataResource;
  /** sha256 (hex) of the plan-known part of the bundle: changes exactly when the plan changes what the host gets. */
  readonly layoutDigest: string;

  constructor(scope: Construct, id: string, props: HostDeliveryProps) {
    super(scope, id);
    requireText(this, "host", props.host);
    requireText(this, "sshUser", props.sshUser);
    requireText(this, "hostKey", props.hostKey);
    if (props.bastion) {
      requireText(this, "bastion.host", props.bastion.host);
      requireText(this, "bastion.hostKey", props.bastion.hostKey);
    }
    if (props.files.length === 0) throw new Error(`${this.node.path}: host "${props.host}" has no files to deliver`);
    const options: ScriptOptions = { sshUser: props.sshUser };
    // The first script makes the private directory every later script is uploaded to (script-paths.ts).
    const prepare = [...prepareScript(options), ...privateScriptDirCommands()];
    const install = installScript(
      props.files.map((f) => f.file),
      options,
    );
    this.layoutDigest = createHash("sha256")
      .update(JSON.stringify({ files: props.files.map((f) => f.file), prepare, install }))
      .digest("hex");
    // Per file, so a plan shows which files changed. A digest reveals nothing about a key, so digests of secret
    // files are unmarked (nonsensitive) to keep them readable in plans.
    const content = Object.fromEntries(
      props.files.map((f) => [f.file.path, f.file.secret ? Fn.nonsensitive(Fn.sha256(f.content)) : Fn.sha256(f.content)]),
    );
    const connection: SSHProvisionerConnection = {
      type: "ssh",
      host: props.sshAddress,
      user: props.sshUser,
      agent: "true",
      hostKey: props.hostKey,
      scriptPath: SCRIPT_PATH,
      timeout: props.connectionTimeout ?? "10m",
      // The agent serves the bastion login too; an unset bastion user or port is the host's (Terraform's defaults).
      ...(props.bastion
        ? {
            bastionHost: props.bastion.host,
            bastionHostKey: props.bastion.hostKey,
            ...(props.bastion.user !== undefined ? { bastionUser: props.bastion.user } : {}),
            ...(props.bastion.port !== undefined ? { bastionPort: props.bastion.port } : {}),
          }
        : {}),
    };
    this.resource = new DataResource(this, "delivery", {
      triggersReplace: { machine_id: props.machineId, layout: this.layoutDigest, content },
      connection,
      provisioners: [
        { type: "remote-exec", inline: prepare, connection: { ...connection, scriptPath: FIRST_SCRIPT_PATH } },
        ...props.files.map((f) => ({ type: "file" as const, content: f.content, destination: stagedPath(f.file, options) })),
        { type: "remote-exec", inline: install },
      ],
      ...(props.after && props.after.length > 0 ? { dependsOn: [...props.after] } : {}),
    });
  }
}
