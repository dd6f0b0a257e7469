/**
 * Steps that run after app.synth(): each reads the plan (and the synthesized JSON on disk) and writes
 * files atomically. Order matters only for readability of the log.
 */
import type { ClusterPlan } from "../cluster/plan-types";
import type { ReviewedChange } from "../day2/review";
import { printSynthSummary } from "../day2/summary";
import { exportTerranix } from "../export/step";
import { nixPostSynthStep } from "../nix/emit";
import { writeTopologySummary } from "../report/step";
import { backendCachePostSynthStep } from "./backend-cache";
import { privateFilesPostSynthStep } from "./private-files";

export interface PostSynthContext {
  readonly plan: ClusterPlan;
  /** Repository root (absolute; never written into any output). */
  readonly root: string;
  /** cdktf output directory (absolute), holding stacks/<id>/cdk.tf.json and manifest.json. */
  readonly outdir: string;
  /**
   * Folder of the Nix flake, where generated host files go under clusters/<cluster>/ (absolute).
   * main.ts uses <root>/nixos, or $NIXOS_OUT_DIR when set (tests and the benchmark write elsewhere).
   */
  readonly nixosDir: string;
  /** The change review of this synth (src/day2/step.ts); the synth summary is printed when it is given. */
  readonly change?: ReviewedChange;
}

export type PostSynthStep = (context: PostSynthContext) => void;

export const POST_SYNTH_STEPS: readonly PostSynthStep[] = [
  backendCachePostSynthStep,
  privateFilesPostSynthStep,
  exportTerranix,
  nixPostSynthStep,
  writeTopologySummary,
  printSynthSummary,
];

export function runPostSynth(context: PostSynthContext): void {
  for (const step of POST_SYNTH_STEPS) step(context);
}
