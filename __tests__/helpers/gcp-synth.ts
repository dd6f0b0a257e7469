/** Test helpers for the GCP target: synthesize a plan's network and compute stacks and look into their JSON. */
import { Testing } from "cdktf";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import { buildClusterStacks } from "../../stacks/app";

import { named, resourcesOf, type Json } from "./synth-json";

export { named, resourcesOf, type Json };

export interface GcpSynth {
  readonly network: Json;
  readonly compute: Json;
}

/**
 * Synthesizes the network and compute stacks of `plan`. Each stack is prepared first, as `app.synth()` does: that
 * turns references across stacks into the network stack's outputs and the compute stack's remote state.
 */
export function synthGcp(plan: ClusterPlan): GcpSynth {
  const stacks = buildClusterStacks(Testing.app(), plan);
  for (const stack of [stacks.network, stacks.compute]) stack.prepareStack();
  const compute = JSON.parse(Testing.synth(stacks.compute)) as Json;
  const network = JSON.parse(Testing.synth(stacks.network)) as Json;
  return { network, compute };
}



/** The Terraform expression referring to attribute `attribute` of the resource of `type` named `name`. */
export function refTo(stack: Json, type: string, name: string, attribute: string): string {
  return `\${${type}.${named(stack, type, name).id}.${attribute}}`;
}

const REMOTE_STATE = /^\$\{data\.terraform_remote_state\.[^.]+\.outputs\.([^}]+)\}$/;

/** Follows a compute-stack value read from the network stack's remote state to the network stack's expression. */
export function throughRemoteState(network: Json, value: string): string {
  const match = REMOTE_STATE.exec(value);
  if (!match) throw new Error(`"${value}" is not read from the network stack's remote state`);
  const output = network.output?.[match[1]];
  if (!output) throw new Error(`the network stack has no output "${match[1]}"`);
  return output.value as string;
}
