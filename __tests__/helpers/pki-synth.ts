/**
 * Test helpers for the pki stack: synthesizes it inside a real app (network, compute, pki stacks) whose target
 * is a stand-in, so pki tests do not depend on a target implementation, yet every value a target hands over is
 * a token of another stack, as with the real targets (GCP's external API address, machine ids).
 */
import { App, DataResource, Testing } from "cdktf";
import type { Construct } from "constructs";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import type { Target, TargetCompute, TargetNetwork } from "../../constructs/target";
import { ComputeStack } from "../../stacks/compute";
import { NetworkStack } from "../../stacks/network";
import { PkiStack } from "../../stacks/pki";

export type Json = Record<string, any>;

/** Marks every value a stand-in target returns, so tests can tell plan values from target tokens. */
export const EXTERNAL_API_ADDRESS_INPUT = "stand-in external API address";

/** A target that makes one terraform_data per value it must hand over, like a real target's resources. */
export const standInTarget: Target = {
  createNetwork(scope: Construct, plan: ClusterPlan): TargetNetwork {
    if (plan.target !== "gcp") return { operatorApiUrl: plan.api.nodeUrl, apiAddresses: [plan.api.address], outputs: {} };
    const external = new DataResource(scope, "external-api-address", { input: { value: EXTERNAL_API_ADDRESS_INPUT } });
    return { operatorApiUrl: `https://${external.id}:${plan.api.port}`, apiAddresses: [plan.api.address, external.id], outputs: {} };
  },
  createCompute(scope: Construct, plan: ClusterPlan): TargetCompute {
    return {
      hosts: Object.fromEntries(
        plan.hosts.map((h) => {
          const machine = new DataResource(scope, `machine-${h.name}`, { input: { name: h.machineName } });
          return [h.name, { sshAddress: plan.target === "gcp" ? machine.id : h.address, machineId: machine.id }];
        }),
      ),
    };
  },
};

export interface SynthesizedPki {
  readonly stack: PkiStack;
  /** The pki stack's cdk.tf.json, parsed. */
  readonly json: Json;
  /** The same, as text (to scan for key material). */
  readonly text: string;
}

export function synthPki(plan: ClusterPlan): SynthesizedPki {
  const app: App = Testing.app();
  const network = new NetworkStack(app, "network", plan, standInTarget);
  const compute = new ComputeStack(app, "compute", plan, standInTarget, network);
  const stack = new PkiStack(app, "pki", plan, network, compute);
  // What app.synth() does first: turns references to other stacks into remote state and outputs.
  stack.prepareStack();
  const text = Testing.synth(stack);
  return { stack, json: JSON.parse(text) as Json, text };
}

/** The resources of one type, by name. */
export function resources(json: Json, type: string): Record<string, Json> {
  return (json.resource?.[type] ?? {}) as Record<string, Json>;
}
