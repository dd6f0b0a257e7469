/** Shared by the output tests: plans of the example descriptions and an in-process synth into a temp folder. */
import { mkdtempSync, readFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { App } from "cdktf";
import { parse, stringify } from "yaml";
import { descriptionFiles, REPO_ROOT } from "../bench/workcopy";
import { loadCluster, parseDescription } from "../src/cluster/load";
import { planCluster } from "../src/cluster/plan";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { readSynthesizedStacks, type SynthesizedStack } from "../src/export/manifest";
import { buildClusterStacks } from "../stacks/app";
import { withoutTokenStackTraces } from "../stacks/token-traces";

export { REPO_ROOT };

/** Every description under clusters/, e.g. "clusters/local.yaml". */
export const CLUSTERS = descriptionFiles();

export function planOf(file: string): ClusterPlan {
  return loadCluster(file, REPO_ROOT).plan;
}

/** Plans a description after changing a copy of it. */
export function planChanged(file: string, change: (description: Record<string, any>) => void): ClusterPlan {
  const description = parse(readFileSync(path.join(REPO_ROOT, file), "utf8")) as Record<string, any>;
  change(description);
  return planCluster(parseDescription(stringify(description), file).description, file);
}

export interface Synthesized {
  readonly outdir: string;
  /** In apply order. */
  readonly stacks: readonly SynthesizedStack[];
}

/** Synthesizes a plan's stacks as main.ts does, into a new temporary output folder. */
export function synthesize(plan: ClusterPlan): Synthesized {
  const outdir = mkdtempSync(path.join(os.tmpdir(), "output-test-"));
  // The App options main.ts uses (no stack traces, no cdktf validations: synthesis needs no terraform binary).
  const app = new App({ outdir, stackTraces: false, skipValidation: true });
  withoutTokenStackTraces(() => {
    buildClusterStacks(app, plan);
    app.synth();
  });
  return { outdir, stacks: readSynthesizedStacks(outdir) };
}

export function stackById(synthesized: Synthesized, id: string): SynthesizedStack {
  const stack = synthesized.stacks.find((s) => s.id === id);
  if (!stack) throw new Error(`no stack "${id}" (have ${synthesized.stacks.map((s) => s.id).join(", ")})`);
  return stack;
}
