/** Runs nix-instantiate for the Nix tests (parse, strict JSON evaluation); no nixpkgs, no network. */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { nixString } from "../../src/nix/writer";

export const REPO = path.resolve(__dirname, "..", "..");

export interface NixResult {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

export function nixInstantiate(args: readonly string[], cwd = REPO): NixResult {
  const result = spawnSync("nix-instantiate", [...args], { cwd, encoding: "utf8", env: { ...process.env, NIX_PATH: "" } });
  if (result.error) throw result.error;
  return { ok: result.status === 0, stdout: result.stdout, stderr: result.stderr };
}

/** Evaluates an expression strictly and returns its JSON value; throws with Nix's message on failure. */
export function evalJson<T = unknown>(expression: string, cwd = REPO): T {
  const result = nixInstantiate(["--eval", "--strict", "--json", "--expr", expression], cwd);
  if (!result.ok) throw new Error(`nix-instantiate failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Evaluates an expression that must fail; returns Nix's error output. */
export function evalError(expression: string, cwd = REPO): string {
  const result = nixInstantiate(["--eval", "--strict", "--json", "--expr", expression], cwd);
  if (result.ok) throw new Error(`expected the evaluation to fail, got ${result.stdout}`);
  return result.stderr;
}

/** A Nix string literal for a file system path (for use inside --expr). */
export function nixPathLiteral(file: string): string {
  return `(/. + ${nixString(path.resolve(file))})`;
}
