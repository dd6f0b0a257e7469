/** Builds the three stacks of one cluster plan into an app. */
import type { App } from "cdktf";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { ComputeStack } from "./compute";
import { NetworkStack } from "./network";
import { PkiStack } from "./pki";
import { targetFor } from "./targets";

/** Stack ids; users name them on the command line (`cdktf deploy network compute pki`). */
export const STACK_IDS = { network: "network", compute: "compute", pki: "pki" } as const;

export interface ClusterStacks {
  readonly network: NetworkStack;
  readonly compute: ComputeStack;
  readonly pki: PkiStack;
}

export function buildClusterStacks(app: App, plan: ClusterPlan): ClusterStacks {
  const target = targetFor(plan.target);
  const network = new NetworkStack(app, STACK_IDS.network, plan, target);
  const compute = new ComputeStack(app, STACK_IDS.compute, plan, target, network);
  const pki = new PkiStack(app, STACK_IDS.pki, plan, network, compute);
  return { network, compute, pki };
}
