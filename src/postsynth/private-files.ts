/**
 * Post-synth step: the places on the operator's machine that hold key material are readable by the operator only.
 *
 * - The output folder (cdktf.out) is made 0700: `cdktf diff` leaves each stack's plan file there
 *   (cdktf.out/stacks/<id>/plan, written by `terraform plan -out plan` with the umask's mode), a zip whose `tfstate`
 *   holds every key of that stack. A plan file left by an earlier `cdktf diff` is removed here, so it lives until
 *   the next cdktf command at most (`npm run diff` removes it right away).
 * - Local state (backend `local`): state/ and state/<cluster>/ are made 0700 and each stack's state file and its
 *   `.backup` 0600. Terraform creates a missing one with the umask's mode (0644 under the usual 022) and keeps the
 *   mode of an existing one, so missing ones are created here, empty and 0600 (Terraform accepts an empty state file
 *   as "no state yet"); existing ones are set to 0600, which also fixes clusters created before.
 * - secrets/ and secrets/<cluster>/ (kubeconfigs, known_hosts) are made 0700 when they exist: hashicorp/local sets
 *   the mode of directories it creates, not of existing ones.
 *
 * The state and secrets part runs only for the repository's own output folder (<root>/cdktf.out): the stacks
 * synthesized elsewhere (tests, the benchmark) are for looking at, and must not create files in the checkout.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { readSynthesizedStacks, type SynthesizedStack } from "../export/manifest";
import { LOCAL_STATE_DIR, SECRETS_DIR } from "../state-locations";
import { isInside, OUTDIR_NAME } from "../stack-dir";
import { declaredBackend } from "./backend-cache";
import type { PostSynthContext } from "./index";

/** The plan file `cdktf diff` leaves in a stack's folder (cdktf-cli: `terraform plan -out plan`). */
export const CDKTF_PLAN_FILE = "plan";

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

/** Whether `file` lies below `root` (not `root` itself). */
const isBelow = (root: string, file: string): boolean => file !== root && isInside(root, file);

/** Creates (or tightens) every directory from `top` down to `dir` (which is `top` or below it), each 0700. */
function privateDirs(top: string, dir: string): void {
  const chain = [dir];
  while (chain[0] !== top && isBelow(top, chain[0])) chain.unshift(path.dirname(chain[0]));
  for (const d of chain) {
    mkdirSync(d, { mode: PRIVATE_DIR, recursive: true });
    chmodSync(d, PRIVATE_DIR);
  }
}

/** The output folder 0700, without plan files of an earlier `cdktf diff`. Returns the plan files removed. */
export function protectOutdir(outdir: string, stacks: readonly SynthesizedStack[]): string[] {
  chmodSync(outdir, PRIVATE_DIR);
  const removed: string[] = [];
  for (const stack of stacks) {
    const plan = path.join(outdir, ...stack.workingDirectory.split("/"), CDKTF_PLAN_FILE);
    if (existsSync(plan)) {
      rmSync(plan, { force: true });
      removed.push(plan);
    }
  }
  return removed;
}

/**
 * For every stack with a local backend whose state file lies inside `root`: its folders (from state/ down) 0700,
 * the state file 0600, created empty when missing, and its backups 0600. Returns the state files.
 */
export function protectLocalState(root: string, outdir: string, stacks: readonly SynthesizedStack[]): string[] {
  const stateRoot = path.join(root, LOCAL_STATE_DIR);
  const files: string[] = [];
  for (const stack of stacks) {
    const backend = declaredBackend(stack.json);
    if (backend?.type !== "local" || typeof backend.config.path !== "string") continue;
    const file = path.resolve(outdir, ...stack.workingDirectory.split("/"), backend.config.path);
    if (!isBelow(stateRoot, file)) continue;
    privateDirs(stateRoot, path.dirname(file));
    // The backup too: terraform (re)writes it on every apply, creating it with the umask's mode when missing.
    for (const f of [file, `${file}.backup`]) if (!existsSync(f)) closeSync(openSync(f, "a", PRIVATE_FILE));
    for (const name of readdirSync(path.dirname(file))) {
      const sibling = path.join(path.dirname(file), name);
      if ((name === path.basename(file) || name.startsWith(`${path.basename(file)}.`)) && statSync(sibling).isFile()) chmodSync(sibling, PRIVATE_FILE);
    }
    files.push(file);
  }
  return files;
}

/** secrets/ and secrets/<cluster>/ 0700 where they exist (created by hashicorp/local at apply). */
export function protectSecrets(root: string, cluster: string): void {
  const top = path.join(root, SECRETS_DIR);
  for (const dir of [top, path.join(top, cluster)]) if (existsSync(dir)) chmodSync(dir, PRIVATE_DIR);
}

export function privateFilesPostSynthStep(context: PostSynthContext): void {
  const stacks = readSynthesizedStacks(context.outdir);
  for (const plan of protectOutdir(context.outdir, stacks)) {
    process.stdout.write(`${path.relative(context.root, plan) || plan}: removed the plan file of an earlier \`cdktf diff\` (it holds the stack's state, keys included)\n`);
  }
  if (path.resolve(context.outdir) !== path.resolve(context.root, OUTDIR_NAME)) return;
  protectLocalState(context.root, context.outdir, stacks);
  protectSecrets(context.root, context.plan.cluster);
}
