/** The `pki` stack: the whole cluster PKI (hashicorp/tls), delivered to each host. Depends on `compute`. */
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { ClusterStack } from "./cluster-stack";
import type { ComputeStack } from "./compute";
import type { NetworkStack } from "./network";

export class PkiStack extends ClusterStack {
  constructor(scope: Construct, id: string, plan: ClusterPlan, network: NetworkStack, compute: ComputeStack) {
    super(scope, id, plan);
    this.addDependency(compute);
    void network;
  }
}
