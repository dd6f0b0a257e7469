/**
 * The hosts' SSH host keys, made by Terraform before the machines exist (hashicorp/tls, Ed25519), so that the very
 * first connection to a host (the PKI delivery, deploy-rs) can verify it. The target hands each private key to its
 * machine before first boot over a channel the cloud API authenticates (libvirt: a read-only config disk attached
 * through the libvirt connection; GCP: instance metadata, served by the metadata server to that instance only), and
 * the NixOS side installs it as /etc/ssh/ssh_host_ed25519_key (nixos/modules/access.nix). The public keys go into
 * every delivery's `host_key` and into the operator's per-cluster known_hosts file.
 *
 * A key belongs to a host name: re-creating a machine (new image, machine type) keeps it, removing the host destroys
 * it, and `terraform apply -replace` of the key rotates it (the file below is rewritten by that apply).
 */
import { SensitiveFile } from "@cdktf/provider-local/lib/sensitive-file";
import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { Fn, Token } from "cdktf";
import { Construct } from "constructs";

export interface SshHostKeysProps {
  /** Host names, RFC 1123 labels (construct ids derive from them). */
  readonly hosts: readonly string[];
}

export class SshHostKeys extends Construct {
  private readonly keys: ReadonlyMap<string, PrivateKey>;

  constructor(scope: Construct, id: string, props: SshHostKeysProps) {
    super(scope, id);
    if (props.hosts.length === 0) throw new Error(`${this.node.path}: no hosts`);
    const keys = new Map<string, PrivateKey>();
    for (const host of props.hosts) {
      if (keys.has(host)) throw new Error(`${this.node.path}: host "${host}" given twice`);
      keys.set(host, new PrivateKey(this, hostKeyConstructId(host), { algorithm: "ED25519" }));
    }
    this.keys = keys;
  }

  private key(host: string): PrivateKey {
    const key = this.keys.get(host);
    if (!key) throw new Error(`${this.node.path}: no host key for "${host}"`);
    return key;
  }

  /** The private key in OpenSSH format (a sensitive token), for the target to hand to the machine. */
  privateKeyOpenssh(host: string): string {
    return this.key(host).privateKeyOpenssh;
  }

  /** The public key, "ssh-ed25519 AAAA..." without a trailing newline (a token): `host_key` and known_hosts. */
  publicKeyOpenssh(host: string): string {
    return Fn.trimspace(this.key(host).publicKeyOpenssh);
  }
}

/** Construct id of a host's key: keyed by host name, so adding hosts never replaces another host's key. */
export function hostKeyConstructId(host: string): string {
  return `ssh-host-key-${host}`;
}

export interface KnownHostsEntry {
  /** Names and addresses ssh may be given for the host (may hold tokens, e.g. a public address). */
  readonly names: readonly string[];
  /** "ssh-ed25519 AAAA..." (a token). */
  readonly publicKey: string;
}

export interface KnownHostsFileProps {
  readonly entries: readonly KnownHostsEntry[];
  /** Path relative to the stack's working directory, never absolute. */
  readonly filename: string;
}

/**
 * The names field of a known_hosts line: the names, each once, in their order, comma-separated. Names known at synth
 * are deduplicated here; when one is a token (an address known only at apply), Terraform's distinct() does it then,
 * since the token may turn out equal to another name.
 */
export function knownHostsNames(names: readonly string[]): string {
  const unique = [...new Set(names)];
  return unique.some((n) => Token.isUnresolved(n)) ? Fn.join(",", Fn.distinct(unique)) : unique.join(",");
}

/**
 * An OpenSSH known_hosts file with exactly the given entries, 0600 in a 0700 directory; rewritten by every apply
 * that changes a key or an address, so a host answering with another key makes ssh stop with "REMOTE HOST
 * IDENTIFICATION HAS CHANGED".
 */
export class KnownHostsFile extends Construct {
  readonly file: SensitiveFile;

  constructor(scope: Construct, id: string, props: KnownHostsFileProps) {
    super(scope, id);
    if (props.filename.startsWith("/")) throw new Error(`${this.node.path}: filename must be relative, not ${props.filename}`);
    if (props.entries.length === 0) throw new Error(`${this.node.path}: no entries`);
    const lines = props.entries.map((e) => {
      if (e.names.length === 0) throw new Error(`${this.node.path}: an entry has no names`);
      return `${knownHostsNames(e.names)} ${e.publicKey}`;
    });
    // local_sensitive_file for its 0600 default and so that plans do not print the file (it is public material,
    // but a plan showing every host's key on each address change is noise). The content is one string template,
    // "<names> ${trimspace(key)}" per line: cdktf resolves nested function calls once per enclosing call, so the
    // equivalent join(join(join(distinct(...)))) expression cost it more than the rest of its stack.
    this.file = new SensitiveFile(this, "file", {
      filename: props.filename,
      filePermission: "0600",
      directoryPermission: "0700",
      content: `${lines.join("\n")}\n`,
    });
  }
}
