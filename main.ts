/** The cdktf app: load and check the description, plan it, build the stacks, synthesize, then post-synth. */
import * as path from "node:path";
import { App } from "cdktf";
import { APP_ROOT } from "./src/app-root";
import { DEFAULT_DESCRIPTION } from "./src/cluster/load";
import { reviewSynthOrThrow } from "./src/day2/step";
import { runPostSynth } from "./src/postsynth";
import { runReportingFailures, UsageError } from "./src/report/errors";
import { loadClusterForSynth } from "./src/repository/load";
import { OUTDIR_NAME, outdirProblem } from "./src/stack-dir";
import { buildClusterStacks } from "./stacks/app";
import { withoutTokenStackTraces } from "./stacks/token-traces";

/** The repository root: main.ts's folder. */
const root = APP_ROOT;

/**
 * CLUSTER_CONFIG, else the context key `cluster` (cdktf.json "context", passed by the CLI as CDKTF_CONTEXT_JSON),
 * else the default. Read before the App exists: `new App()` already creates the output folder.
 */
function descriptionFile(): string {
  const context = JSON.parse(process.env.CDKTF_CONTEXT_JSON || "{}") as { cluster?: unknown };
  const fromContext = typeof context.cluster === "string" ? context.cluster : undefined;
  return process.env.CLUSTER_CONFIG || fromContext || DEFAULT_DESCRIPTION;
}

function main(): void {
  // Checked before anything is written (`new App()` creates the folder): inside the repository only cdktf.out works.
  const outdir = path.resolve(root, process.env.CDKTF_OUTDIR || OUTDIR_NAME);
  const outdirError = outdirProblem(root, outdir);
  if (outdirError) {
    throw new UsageError(outdirError);
  }
  const nixosDir = path.resolve(root, process.env.NIXOS_OUT_DIR || "nixos");
  const loaded = loadClusterForSynth(descriptionFile(), root, nixosDir);
  // Before anything is written: the change preview, which refuses a change that disrupts too many hosts at once.
  const change = reviewSynthOrThrow(loaded.plan, nixosDir);
  // No stack traces in metadata: they hold absolute paths of this checkout (manifest.json annotations).
  // No cdktf validations: besides the provider check (done by stacks/provider-pins.ts) they only run
  // `terraform version` on this machine, once per terraform_data resource; the stacks' required_version is
  // checked where they are applied instead, and synthesis needs no terraform binary.
  const app = new App({ outdir, stackTraces: false, skipValidation: true });
  for (const w of loaded.warnings) process.stderr.write(`warning: ${loaded.plan.sourceFile}: ${w.path}: ${w.message}\n`);
  // Errors are reported by message only (src/report/errors.ts), so no stack is collected unless debugging.
  withoutTokenStackTraces(
    () => {
      buildClusterStacks(app, change.plan);
      app.synth();
    },
    { errorStacks: process.env.NIXOS_K8S_DEBUG === "1" },
  );
  runPostSynth({ plan: change.plan, root, outdir, nixosDir, change });
}

runReportingFailures(main);
