/** GCP target (hashicorp/google). Implemented in the GCP target issue. */
import type { Construct } from "constructs";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import type { Target, TargetCompute, TargetNetwork } from "../target";

export const gcpTarget: Target = {
  createNetwork(_scope: Construct, plan: ClusterPlan): TargetNetwork {
    return { operatorApiUrl: plan.api.nodeUrl, apiAddresses: [plan.api.address] };
  },
  createCompute(_scope: Construct, plan: ClusterPlan): TargetCompute {
    return { hosts: Object.fromEntries(plan.hosts.map((h) => [h.name, { sshAddress: h.address, machineId: h.machineName }])) };
  },
};
