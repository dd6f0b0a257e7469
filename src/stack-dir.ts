/**
 * Where terraform runs: cdktf writes each stack to <repository root>/cdktf.out/stacks/<stack id>, and terraform
 * (through cdktf or `terraform -chdir`) runs there. The synthesized JSON reaches files of the repository (local
 * state, the admin kubeconfig, the libvirt base image) by paths relative to that folder, so it holds no path of
 * this machine. Pure: no cdktf, usable by constructs, stacks and main.ts alike.
 */
import * as path from "node:path";

/** The output folder, relative to the repository root (cdktf's default, `"output"` in cdktf.json). */
export const OUTDIR_NAME = "cdktf.out";

/** The repository root as seen from a stack's folder, cdktf.out/stacks/<stack id>: three levels up. */
export const REPOSITORY_ROOT_FROM_STACK_DIR = "../../..";

/**
 * A repository-relative path ("state/local/network.tfstate") as terraform must write it in a stack's JSON:
 * relative to the stack's folder ("../../../state/local/network.tfstate"). "/"-separated, normalized.
 */
export function fromStackDir(repoRelativePath: string): string {
  if (path.posix.isAbsolute(repoRelativePath) || path.win32.isAbsolute(repoRelativePath)) {
    throw new Error(`fromStackDir: "${repoRelativePath}" is absolute; give a path relative to the repository root`);
  }
  const normalized = path.posix.normalize(repoRelativePath);
  if (normalized === "." || normalized === "") throw new Error(`fromStackDir: "${repoRelativePath}" names the repository root itself, not a file in it`);
  return path.posix.join(REPOSITORY_ROOT_FROM_STACK_DIR, normalized);
}

/** Whether `dir` is `root` or below it (both absolute). */
export function isInside(root: string, dir: string): boolean {
  const relative = path.relative(root, dir);
  return relative === "" || (relative !== ".." && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative));
}

/**
 * Why the output folder `outdir` cannot be used, or undefined when it can (both paths absolute).
 * Inside the repository only <root>/cdktf.out keeps the rule above: any other folder there would make the
 * synthesized stacks read and write state, credentials and images at the wrong place. A folder outside the
 * repository (a test's or the benchmark's temporary folder) is allowed: it is for looking at, not for applying.
 */
export function outdirProblem(root: string, outdir: string): string | undefined {
  const expected = path.join(root, OUTDIR_NAME);
  if (path.resolve(outdir) === path.resolve(expected) || !isInside(root, outdir)) return undefined;
  const shown = path.relative(root, outdir) || ".";
  return [
    `output directory "${shown}" is inside the repository but is not ${OUTDIR_NAME}; nothing was synthesized.`,
    `The stacks run in ${OUTDIR_NAME}/stacks/<stack> and reach the repository root as ${REPOSITORY_ROOT_FROM_STACK_DIR} from there`,
    `(local state, secrets/, the libvirt base image), which holds only for ${OUTDIR_NAME} at the repository root.`,
    `Fix: keep "output": "${OUTDIR_NAME}" in cdktf.json (the default) and pass no --output or CDKTF_OUTDIR that points`,
    `inside the repository (a folder outside it is fine for inspecting the JSON, not for applying it).`,
  ].join("\n");
}
