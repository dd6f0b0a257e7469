/**
 * Reads what `app.synth()` wrote: cdktf.out/manifest.json and each stack's JSON, and the order in which the
 * stacks apply (every stack after the stacks it depends on). Works on any app; knows no stack by name.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

/** A stack entry of manifest.json (the fields this project reads). */
export interface ManifestStack {
  readonly name: string;
  readonly constructPath: string;
  /** Construct paths of the stacks this one depends on. */
  readonly dependencies: readonly string[];
  /** Relative to the output directory, e.g. "stacks/network/cdk.tf.json". */
  readonly synthesizedStackPath: string;
  /** Relative to the output directory, e.g. "stacks/network": where terraform runs. */
  readonly workingDirectory: string;
}

export interface Manifest {
  readonly version: string;
  readonly stacks: Readonly<Record<string, ManifestStack>>;
}

export interface SynthesizedStack {
  readonly id: string;
  /** Ids of the stacks it depends on, sorted. */
  readonly dependsOn: readonly string[];
  /** "/"-separated, relative to the output directory. */
  readonly workingDirectory: string;
  /** The stack's Terraform JSON as synthesized (cdktf metadata included). */
  readonly json: Record<string, unknown>;
}

export const MANIFEST_FILE = "manifest.json";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses manifest.json text; throws naming the field that is missing. */
export function parseManifest(text: string, file = MANIFEST_FILE): Manifest {
  const raw: unknown = JSON.parse(text);
  if (!isRecord(raw) || !isRecord(raw.stacks)) throw new Error(`${file}: no "stacks" object; is it cdktf's manifest.json?`);
  const stacks: Record<string, ManifestStack> = {};
  for (const [id, entry] of Object.entries(raw.stacks)) {
    if (!isRecord(entry) || typeof entry.synthesizedStackPath !== "string" || !Array.isArray(entry.dependencies)) {
      throw new Error(`${file}: stack "${id}" lacks synthesizedStackPath or dependencies`);
    }
    stacks[id] = {
      name: typeof entry.name === "string" ? entry.name : id,
      constructPath: typeof entry.constructPath === "string" ? entry.constructPath : id,
      dependencies: entry.dependencies.map(String),
      synthesizedStackPath: entry.synthesizedStackPath,
      workingDirectory: typeof entry.workingDirectory === "string" ? entry.workingDirectory : path.posix.dirname(entry.synthesizedStackPath),
    };
  }
  return { version: typeof raw.version === "string" ? raw.version : "", stacks };
}

/**
 * Stack ids in apply order: each stack after every stack it depends on; stacks that do not depend on each
 * other by id, so the order is the same on every machine. `destroy` goes in the reverse order.
 */
export function applyOrder(manifest: Manifest): string[] {
  const idByPath = new Map(Object.entries(manifest.stacks).map(([id, s]) => [s.constructPath, id]));
  const dependsOn = new Map<string, string[]>();
  for (const [id, stack] of Object.entries(manifest.stacks)) {
    dependsOn.set(
      id,
      stack.dependencies.map((dep) => {
        const target = idByPath.get(dep) ?? (manifest.stacks[dep] ? dep : undefined);
        if (!target) throw new Error(`stack "${id}" depends on "${dep}", which is not in the manifest`);
        return target;
      }),
    );
  }
  const order: string[] = [];
  const done = new Set<string>();
  const ids = [...dependsOn.keys()].sort();
  while (order.length < ids.length) {
    const ready = ids.filter((id) => !done.has(id) && dependsOn.get(id)!.every((d) => done.has(d)));
    if (ready.length === 0) {
      const stuck = ids.filter((id) => !done.has(id));
      throw new Error(`the stacks ${stuck.join(", ")} depend on each other in a cycle; no apply order exists`);
    }
    // One stack at a time, the first ready by id: a deterministic order, not a parallel schedule.
    order.push(ready[0]);
    done.add(ready[0]);
  }
  return order;
}

export function readManifest(outdir: string): Manifest {
  const file = path.join(outdir, MANIFEST_FILE);
  return parseManifest(readFileSync(file, "utf8"), MANIFEST_FILE);
}

/** Every synthesized stack of the output directory, in apply order. */
export function readSynthesizedStacks(outdir: string): SynthesizedStack[] {
  const manifest = readManifest(outdir);
  const idByPath = new Map(Object.entries(manifest.stacks).map(([id, s]) => [s.constructPath, id]));
  return applyOrder(manifest).map((id) => {
    const entry = manifest.stacks[id];
    const json: unknown = JSON.parse(readFileSync(path.join(outdir, ...entry.synthesizedStackPath.split("/")), "utf8"));
    if (!isRecord(json)) throw new Error(`${entry.synthesizedStackPath}: not a JSON object`);
    return {
      id,
      dependsOn: entry.dependencies.map((d) => idByPath.get(d) ?? d).sort(),
      workingDirectory: entry.workingDirectory.split(path.sep).join("/"),
      json,
    };
  });
}
