/**
 * `npm run outputs -- <description>`: after `cdktf deploy`, saves the compute stack's `hosts` output (the
 * addresses deploy-rs connects to; on GCP the public addresses assigned at apply) as
 * nixos/clusters/<cluster>/outputs.json, and tells git about the file so the flake sees it.
 *
 * Reads exactly the compute stack's state with `terraform output -json hosts` (not cdktf's --outputs-file,
 * which every deploy rewrites with only that run's stacks). TERRAFORM_BINARY_NAME picks another binary
 * (e.g. tofu), as it does for cdktf.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { DEFAULT_DESCRIPTION, loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { clusterDir, NIXOS_DIR, OUTPUTS_FILE } from "../src/nix/index-file";
import { outputsFileContent } from "../src/nix/outputs-file";
import { writeFileAtomic } from "../src/postsynth/files";
import { gcsStatePrefix, localStatePath } from "../stacks/cluster-stack";

// No calls to the HashiCorp checkpoint service from terraform or cdktf started here (they fail offline, noisily).
process.env.CHECKPOINT_DISABLE ??= "1";

const STACK = "compute";

export interface SaveOutputsOptions {
  /** Repository root. */
  readonly root: string;
  /** Cluster description, relative to the root. */
  readonly description: string;
  /** Runs terraform (or tofu) with these arguments in the compute stack's directory; returns stdout. */
  readonly terraform: (stackDir: string, args: readonly string[]) => string;
  /** Runs git with these arguments in the root; throws when it fails (e.g. not a checkout). */
  readonly git: (args: readonly string[]) => void;
  readonly log: (line: string) => void;
}

/** The synthesized compute stack must be this cluster's, or the output would come from another cluster's state. */
function checkSynthesizedStack(plan: ClusterPlan, root: string, stackDir: string): void {
  const file = path.join(stackDir, "cdk.tf.json");
  const synth = `CLUSTER_CONFIG=${plan.sourceFile} npx cdktf synth`;
  if (!existsSync(file)) throw new Error(`${path.relative(root, file)} does not exist: run \`${synth}\` (and \`cdktf deploy\`) first`);
  const json = JSON.parse(readFileSync(file, "utf8")) as { terraform?: { backend?: Record<string, Record<string, unknown>> } };
  const backend = json.terraform?.backend ?? {};
  const matches =
    plan.backend.type === "gcs"
      ? backend.gcs?.prefix === gcsStatePrefix(plan.backend.prefix, plan.cluster, STACK) && backend.gcs?.bucket === plan.backend.bucket
      : backend.local?.path === localStatePath(plan.cluster, STACK);
  if (!matches) throw new Error(`cdktf.out holds another cluster's synthesis (its compute state is not ${plan.cluster}'s): run \`${synth}\` first`);
}

/** Saves the outputs file; returns its path relative to the root. Throws Error with a message for the operator. */
export function saveOutputs(options: SaveOutputsOptions): string {
  const { root } = options;
  const plan = loadCluster(options.description, root).plan;
  const stackDir = path.join(root, "cdktf.out", "stacks", STACK);
  checkSynthesizedStack(plan, root, stackDir);
  if (!existsSync(path.join(stackDir, ".terraform", "terraform.tfstate"))) options.terraform(stackDir, ["init", "-input=false"]);
  const raw = options.terraform(stackDir, ["output", "-json", "hosts"]);
  let hosts: unknown;
  try {
    hosts = JSON.parse(raw);
  } catch (e) {
    throw new Error(`the compute stack's \`hosts\` output is not JSON: ${(e as Error).message}`);
  }
  const content = outputsFileContent(plan, hosts);
  const relative = `${NIXOS_DIR}/${clusterDir(plan.cluster)}/${OUTPUTS_FILE}`;
  writeFileAtomic(path.join(root, ...relative.split("/")), content);
  options.log(`saved ${relative}`);
  // A flake inside a git repository only sees files git knows; intent-to-add makes the file visible without
  // staging its content.
  try {
    options.git(["add", "--intent-to-add", "--", relative]);
    options.log(`git add --intent-to-add ${relative}: the flake sees it now (commit it to share the addresses)`);
  } catch {
    options.log(`not a git checkout: ${relative} is visible to the flake as it is`);
  }
  return relative;
}

function main(): void {
  const root = path.resolve(__dirname, "..");
  const binary = process.env.TERRAFORM_BINARY_NAME || "terraform";
  try {
    saveOutputs({
      root,
      description: process.argv[2] || process.env.CLUSTER_CONFIG || DEFAULT_DESCRIPTION,
      terraform: (stackDir, args) => {
        try {
          return execFileSync(binary, [`-chdir=${stackDir}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
        } catch (e) {
          throw new Error(`\`${binary} ${args.join(" ")}\` failed in ${path.relative(root, stackDir)}: ${(e as Error).message.split("\n")[0]}`);
        }
      },
      git: (args) => execFileSync("git", [...args], { cwd: root, stdio: "ignore" }),
      log: (line) => process.stdout.write(`${line}\n`),
    });
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    process.stderr.write(`npm run outputs: ${e.message}\n`);
    process.exit(1);
  }
}

if (require.main === module) main();
