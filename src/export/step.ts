/** Post-synth step: writes cdktf.out/terranix/ (plain Terraform JSON and a terranix module per stack). */
import * as path from "node:path";
import type { PostSynthContext } from "../postsynth";
import { replaceDirectory } from "../postsynth/files";
import { readSynthesizedStacks } from "./manifest";
import { TERRANIX_DIR, terranixFiles } from "./terranix";

export function exportTerranix(context: Pick<PostSynthContext, "plan" | "outdir">): void {
  const stacks = readSynthesizedStacks(context.outdir);
  replaceDirectory(path.join(context.outdir, TERRANIX_DIR), terranixFiles(stacks, context.plan.sourceFile));
}
