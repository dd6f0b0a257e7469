/** Atomic file output for post-synth steps: all content is computed first, then swapped in. */
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export interface OutputFile {
  /** Path relative to the directory being replaced, "/"-separated. */
  readonly path: string;
  readonly content: string;
  /** File mode; default 0o644. */
  readonly mode?: number;
}

/** Writes one file atomically (temporary file in the same folder, then rename). */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}`;
  writeFileSync(temporary, content, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, file);
}

/**
 * Replaces `dir` with exactly `files`: built beside it, then swapped in by rename, so readers see the old
 * or the new set, never a mix; files no longer produced (e.g. of removed hosts) disappear.
 */
export function replaceDirectory(dir: string, files: readonly OutputFile[]): void {
  const parent = path.dirname(dir);
  const name = path.basename(dir);
  const staging = path.join(parent, `.${name}.new-${process.pid}`);
  const previous = path.join(parent, `.${name}.old-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  for (const file of files) {
    const target = path.join(staging, ...file.path.split("/"));
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, file.content, { mode: file.mode ?? 0o644 });
    chmodSync(target, file.mode ?? 0o644);
  }
  mkdirSync(staging, { recursive: true });
  const hadPrevious = existsSync(dir);
  if (hadPrevious) renameSync(dir, previous);
  renameSync(staging, dir);
  if (hadPrevious) rmSync(previous, { recursive: true, force: true });
}
