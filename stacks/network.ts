/** The `network` stack: the target's network, firewall and API addresses, and their named outputs. */
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";
import type { Target, TargetNetwork } from "../constructs/target";
import { ClusterStack } from "./cluster-stack";

export class NetworkStack extends ClusterStack {
  readonly network: TargetNetwork;

  constructor(scope: Construct, id: string, plan: ClusterPlan, target: Target) {
    super(scope, id, plan);
    this.network = target.createNetwork(this, plan);
    for (const [name, { value, description }] of Object.entries(this.network.outputs)) this.output(name, value, { description });
    this.output("api_url", this.network.operatorApiUrl, { description: "Kubernetes API URL for operators (kubeconfig server)" });
    this.output("api_node_url", plan.api.nodeUrl, { description: "Kubernetes API URL the nodes use" });
  }
}
