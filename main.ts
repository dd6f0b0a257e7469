/** The cdktf app: load and check the description, plan it, build the stacks, synthesize, then post-synth. */
import * as path from "node:path";
import { App } from "cdktf";
import { DEFAULT_DESCRIPTION, DescriptionError, loadCluster } from "./src/cluster/load";
import { runPostSynth } from "./src/postsynth";
import { buildClusterStacks } from "./stacks/app";

const root = __dirname;

function descriptionFile(app: App): string {
  const fromContext = app.node.tryGetContext("cluster") as unknown;
  return process.env.CLUSTER_CONFIG || (typeof fromContext === "string" && fromContext) || DEFAULT_DESCRIPTION;
}

function main(): void {
  const app = new App();
  const file = descriptionFile(app);
  let loaded;
  try {
    loaded = loadCluster(file, root);
  } catch (e) {
    if (e instanceof DescriptionError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  for (const w of loaded.warnings) process.stderr.write(`warning: ${loaded.plan.sourceFile}: ${w.path}: ${w.message}\n`);
  buildClusterStacks(app, loaded.plan);
  app.synth();
  const nixosDir = path.resolve(root, process.env.NIXOS_OUT_DIR || "nixos");
  runPostSynth({ plan: loaded.plan, root, outdir: path.resolve(root, app.outdir), nixosDir });
}

main();
