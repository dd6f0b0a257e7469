/** Post-synth step: writes cdktf.out/topology.md for reviewers. */
import * as path from "node:path";
import { readSynthesizedStacks } from "../export/manifest";
import type { PostSynthContext } from "../postsynth";
import { writeFileAtomic } from "../postsynth/files";
import { TOPOLOGY_FILE, topologyMarkdown } from "./topology";

export function writeTopologySummary(context: Pick<PostSynthContext, "plan" | "outdir">): void {
  const stacks = readSynthesizedStacks(context.outdir);
  writeFileAtomic(path.join(context.outdir, TOPOLOGY_FILE), topologyMarkdown(context.plan, stacks));
}
