/** The `compute` stack: images, disks and one machine per planned host. Depends only on `network`. */
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";
import type { Target, TargetCompute } from "../constructs/target";
import { ClusterStack } from "./cluster-stack";
import type { NetworkStack } from "./network";

export class ComputeStack extends ClusterStack {
  readonly compute: TargetCompute;

  constructor(scope: Construct, id: string, plan: ClusterPlan, target: Target, network: NetworkStack) {
    super(scope, id, plan);
    this.addDependency(network);
    this.compute = target.createCompute(this, plan, network.network);
    const hosts = Object.fromEntries(
      plan.hosts.map((h) => [h.name, { address: h.address, ssh_address: this.compute.hosts[h.name].sshAddress, roles: h.roles }]),
    );
    this.output("hosts", hosts, { description: "Per host name: planned address, the address SSH/deploy-rs connects to, roles" });
  }
}
