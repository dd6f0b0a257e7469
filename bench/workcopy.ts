/**
 * Working copies of the repository in a temporary folder, and running the cdktf app in one. Used by the
 * benchmark (generated descriptions must not write into the repository's nixos/clusters) and by the
 * determinism test (synthesize from two different folders and compare).
 */
import { spawn } from "node:child_process";
import { cpSync, lstatSync, mkdirSync, readdirSync, realpathSync, symlinkSync } from "node:fs";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..");

/** Top-level entries never copied: installed or produced by runs, or holding secrets (state, credentials). */
const SKIPPED_TOP_LEVEL = new Set([".git", "node_modules", "cdktf.out", "state", "secrets", ".terraform", "coverage", ".build"]);

function copied(source: string, root: string): boolean {
  const relative = path.relative(root, source);
  if (relative === "") return true;
  const parts = relative.split(path.sep);
  if (SKIPPED_TOP_LEVEL.has(parts[0])) return false;
  const name = parts[parts.length - 1];
  // Nix build results (`result`, `result-libvirt`: symlinks into the store), terraform working folders,
  // leftovers of interrupted atomic writes.
  if (/^result(-.*)?$/.test(name) && lstatSync(source).isSymbolicLink()) return false;
  return name !== ".terraform" && !/\.tmp-\d+$/.test(name) && !/\.(new|old)-\d+$/.test(name);
}

/**
 * Copies the repository (sources, descriptions, generated bindings, committed Nix files) to `dir` and links its
 * node_modules, so the app runs there exactly as in the repository but writes only inside `dir`. The app's
 * build (.build/) is not copied: the copy builds its own on its first run.
 */
export function makeWorkingCopy(dir: string, root: string = REPO_ROOT): string {
  mkdirSync(dir, { recursive: true });
  cpSync(root, dir, { recursive: true, filter: (source) => copied(source, root), verbatimSymlinks: true });
  symlinkSync(realpathSync(path.join(root, "node_modules")), path.join(dir, "node_modules"), "dir");
  return dir;
}

export interface AppRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface AppRunOptions {
  /** Description file relative to the copy, e.g. "clusters/gcp.yaml"; default: none set (the app's default). */
  readonly cluster?: string;
  /** Extra environment (merged over a minimal one). */
  readonly env?: Readonly<Record<string, string>>;
  /** Node arguments before the entry point, e.g. ["--require", "./bench/peak-rss.js"]. */
  readonly nodeArgs?: readonly string[];
  /**
   * How the app runs: "app" (default) `node scripts/app.js`, the fast path of `npm run synth` and cdktf.json;
   * "cli" `cdktf synth` (the CLI runs cdktf.json's app; nodeArgs go into NODE_OPTIONS, so they reach both);
   * "tsx" `node --import tsx <entry>`, the TypeScript loader with no build; "node" `node <entry>`.
   */
  readonly via?: "app" | "cli" | "tsx" | "node";
  /** Entry point relative to the copy, for via "tsx" (default main.ts) and "node" (plain JavaScript). */
  readonly entry?: string;
}

/** The cdktf CLI's entry point (what `npx cdktf` runs), relative to the repository. */
export const CDKTF_CLI = "node_modules/cdktf-cli/bundle/bin/cdktf";

function commandLine(options: AppRunOptions): { args: string[]; env: Record<string, string> } {
  const nodeArgs = options.nodeArgs ?? [];
  switch (options.via ?? "app") {
    case "app":
      return { args: [...nodeArgs, "scripts/app.js"], env: {} };
    case "tsx":
      return { args: ["--import", "tsx", ...nodeArgs, options.entry ?? "main.ts"], env: {} };
    case "node":
      if (!options.entry) throw new Error('runApp: via "node" needs an entry');
      return { args: [...nodeArgs, options.entry], env: {} };
    case "cli":
      // The CLI warns about a NODE_OPTIONS without a heap size (and otherwise sets this one itself).
      return { args: [CDKTF_CLI, "synth"], env: { NODE_OPTIONS: [...nodeArgs, "--max-old-space-size=4096"].join(" ") } };
  }
}

/** The environment the app runs with: only what node needs, so the host's variables cannot leak into output. */
export function appEnvironment(extra: Readonly<Record<string, string>> = {}): Record<string, string> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    CHECKPOINT_DISABLE: "1",
    DISABLE_VERSION_CHECK: "1",
  };
  if (process.env.TMPDIR) base.TMPDIR = process.env.TMPDIR;
  return { ...base, ...extra };
}

/** Runs the app in `dir` as `options.via` says (it synthesizes into dir/cdktf.out and writes dir/nixos). */
export function runApp(dir: string, options: AppRunOptions = {}): Promise<AppRun> {
  const { args, env } = commandLine(options);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: dir,
      env: appEnvironment({ ...env, ...(options.cluster ? { CLUSTER_CONFIG: options.cluster } : {}), ...(options.env ?? {}) }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }));
  });
}

/** Every file under `dir` (recursively), by "/"-separated relative path; the app's own reader (src/day2/tree.ts). */
export { readTree } from "../src/day2/tree";

/** Description files under clusters/ of `root`, "/"-separated and sorted. */
export function descriptionFiles(root: string = REPO_ROOT): string[] {
  return readdirSync(path.join(root, "clusters"))
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => `clusters/${f}`);
}
