/** Test helpers for the GCP target: synthesize a plan's network and compute stacks and look into their JSON. */
import { Testing } from "cdktf";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import { buildClusterStacks } from "../../stacks/app";

export type Json = Record<string, any>;

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

/** Every resource of `type`, as [logical id, config] pairs. */
export function resourcesOf(stack: Json, type: string): Array<[string, Json]> {
  return Object.entries((stack.resource?.[type] ?? {}) as Record<string, Json>);
}

/** The resource of `type` whose Compute Engine `name` is `name`, with its logical id; throws if there is none. */
export function named(stack: Json, type: string, name: string): { id: string; config: Json } {
  const found = resourcesOf(stack, type).filter(([, config]) => config.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${type} named "${name}", found ${found.length}: ${resourcesOf(stack, type).map(([, c]) => c.name).join(", ")}`);
  }
  return { id: found[0][0], config: found[0][1] };
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
