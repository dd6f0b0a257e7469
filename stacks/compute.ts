/** The `compute` stack: images, disks and one machine per planned host. Depends only on `network`. */
import { Token } from "cdktf";
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";
import type { Target, TargetCompute } from "../constructs/target";
import { ClusterStack } from "./cluster-stack";
import type { NetworkStack } from "./network";

/** The compute stack's output holding the etcd backup uploader's key (GCP with backup.bucket). */
export const ETCD_BACKUP_WRITER_KEY_OUTPUT = "etcd_backup_writer_key";

export class ComputeStack extends ClusterStack {
  readonly compute: TargetCompute;

  constructor(scope: Construct, id: string, plan: ClusterPlan, target: Target, network: NetworkStack) {
    super(scope, id, plan);
    this.addDependency(network);
    this.compute = target.createCompute(this, plan, network.network);
    const hosts = Object.fromEntries(
      plan.hosts.map((h) => {
        const endpoint = this.compute.hosts[h.name];
        return [h.name, { address: h.address, external_address: endpoint.externalAddress ?? Token.nullValue(), ssh_address: endpoint.sshAddress, roles: h.roles }];
      }),
    );
    this.output("hosts", hosts, {
      description: "Per host name: planned (internal) address, public address (null without one), the address SSH/deploy-rs connects to, roles",
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
