/**
 * The change review as the app runs it: read the committed record and host files, review, and list the committed
 * generated files that will change. Runs before the App exists, so a refused change writes nothing.
 */
import * as path from "node:path";
import type { ClusterPlan } from "../cluster/plan-types";
import { generatedNixFiles } from "../nix/emit";
import type { OutputFile } from "../postsynth/files";
import { clusterDir, NIXOS_DIR, OUTPUTS_FILE } from "../nix/index-file";
import { UsageError } from "../report/errors";
import { readTree } from "./tree";
import { MachineRecordError, readMachineRecord } from "./record";
import { ALLOW_DISRUPTION, ChangeRefused, committedHosts, reviewChange, type GeneratedFileChange, type ReviewedChange } from "./review";

export function reviewSynth(plan: ClusterPlan, nixosDir: string, env: NodeJS.ProcessEnv): ReviewedChange {
  const directory = clusterDir(plan.cluster);
  const reviewed = reviewChange({
    plan,
    record: readMachineRecord(nixosDir, directory),
    existingHosts: committedHosts(nixosDir, directory),
    allowDisruption: env[ALLOW_DISRUPTION],
  });
  const nixFiles = generatedNixFiles(reviewed.plan, reviewed.record);
  return { ...reviewed, nixFiles, generatedFiles: changedFiles(nixosDir, directory, nixFiles) };
}

/** The review, or the refusal on stderr and exit status 1 (nothing written: called before anything is). */
/** The review, with a refusal or a damaged record as a UsageError: reported by its message, exit 1, nothing written. */
export function reviewSynthOrThrow(plan: ClusterPlan, nixosDir: string, env: NodeJS.ProcessEnv = process.env): ReviewedChange {
  try {
    return reviewSynth(plan, nixosDir, env);
  } catch (e) {
    if (e instanceof ChangeRefused || e instanceof MachineRecordError) throw new UsageError(e.message);
    throw e;
  }
}

function changedFiles(nixosDir: string, directory: string, files: readonly OutputFile[]): GeneratedFileChange[] {
  const dir = path.join(nixosDir, ...directory.split("/"));
  const shown = (p: string) => `${NIXOS_DIR}/${directory}/${p}`;
  const planned = new Map(files.map((f) => [f.path, f.content]));
  const present = readTree(dir);
  present.delete(OUTPUTS_FILE); // written by `npm run outputs`, carried over unchanged
  const changes: GeneratedFileChange[] = [];
  for (const [file, content] of planned) {
    const before = present.get(file);
    if (before === undefined) changes.push({ path: shown(file), change: "added" });
    else if (!before.equals(Buffer.from(content, "utf8"))) changes.push({ path: shown(file), change: "changed" });
  }
  for (const file of present.keys()) if (!planned.has(file)) changes.push({ path: shown(file), change: "removed" });
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
