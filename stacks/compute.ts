/**
 * The `compute` stack: images, disks and one machine per planned host, each with the SSH host key Terraform made for
 * it (and the operator's known_hosts file of those keys). Depends only on `network`.
 */
import { LocalProvider } from "@cdktf/provider-local/lib/provider";
import { TlsProvider } from "@cdktf/provider-tls/lib/provider";
import { Token } from "cdktf";
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { fromStackDir } from "../src/stack-dir";
import { SECRETS_DIR } from "../src/state-locations";
import { KnownHostsFile, SshHostKeys } from "../constructs/ssh/host-keys";
import type { Target, TargetCompute } from "../constructs/target";
import { ClusterStack } from "./cluster-stack";
import type { NetworkStack } from "./network";

/** The compute stack's output holding the etcd backup uploader's key (GCP with backup.bucket). */
export const ETCD_BACKUP_WRITER_KEY_OUTPUT = "etcd_backup_writer_key";
/** The operator's known_hosts for a cluster, relative to the repository root (secrets/ is git-ignored). */
export function knownHostsRepoPath(cluster: string): string {
  return `${SECRETS_DIR}/${cluster}/known_hosts`;
}

export class ComputeStack extends ClusterStack {
  readonly compute: TargetCompute;
  readonly hostKeys: SshHostKeys;
  readonly knownHosts: KnownHostsFile;

  constructor(scope: Construct, id: string, plan: ClusterPlan, target: Target, network: NetworkStack) {
    super(scope, id, plan);
    this.addDependency(network);
    new TlsProvider(this, "tls");
    new LocalProvider(this, "local");
    this.hostKeys = new SshHostKeys(this, "host-keys", { hosts: plan.hosts.map((h) => h.name) });
    this.compute = target.createCompute(this, plan, network.network, this.hostKeys);
    // Every name ssh may be given for a host: its name, FQDN, planned address and the address SSH connects to.
    this.knownHosts = new KnownHostsFile(this, "known-hosts", {
      filename: fromStackDir(knownHostsRepoPath(plan.cluster)),
      entries: plan.hosts.map((h) => ({
        names: [h.name, h.fqdn, h.address, this.compute.hosts[h.name].sshAddress],
        publicKey: this.hostKeys.publicKeyOpenssh(h.name),
      })),
    });
    const hosts = Object.fromEntries(
      plan.hosts.map((h) => {
        const endpoint = this.compute.hosts[h.name];
        return [
          h.name,
          {
            address: h.address,
            external_address: endpoint.externalAddress ?? Token.nullValue(),
            ssh_address: endpoint.sshAddress,
            roles: h.roles,
            ssh_host_key: this.hostKeys.publicKeyOpenssh(h.name),
          },
        ];
      }),
    );
    this.output("hosts", hosts, {
      description:
        "Per host name: planned (internal) address, public address (null without one), the address SSH/deploy-rs connects to, roles, SSH host public key",
    });
    this.output("known_hosts_path", knownHostsRepoPath(plan.cluster), {
      description: "The cluster's known_hosts (every host's SSH host key), relative to the repository root",
    });
    if (this.compute.etcdBackupWriterKey !== undefined) {
      // Read by scripts/etcd-backup-key.sh, which places it on the etcd members; never printed by cdktf.
      this.output(ETCD_BACKUP_WRITER_KEY_OUTPUT, this.compute.etcdBackupWriterKey, {
        description: "The etcd snapshot uploader's service account key (base64 JSON): scripts/etcd-backup-key.sh <cluster>",
        sensitive: true,
      });
    }
  }
}
