/** Reads a description file, checks it completely, and plans it; reports every problem at once. */
import { readFileSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { readCommittedNetwork } from "./committed-network";
import type { CommittedNetwork } from "./libvirt-network";
import { descriptionSchema, type Description } from "./schema";
import { planCluster } from "./plan";
import type { ClusterPlan } from "./plan-types";
import { derivedNameFindings } from "../gcp/derived-names";
import { schemaFindings } from "./schema-messages";
import { isInside } from "../stack-dir";
import { validateDescription, type Finding } from "./validate";
import { readYaml } from "./yaml-source";

export const DEFAULT_DESCRIPTION = "clusters/local.yaml";

export class DescriptionError extends Error {
  constructor(
    readonly file: string,
    readonly findings: readonly Finding[],
  ) {
    super(
      `${file}: the cluster description has ${findings.length} problem${findings.length === 1 ? "" : "s"}; nothing was synthesized:\n` +
        findings.map(formatFinding).join("\n"),
    );
    this.name = "DescriptionError";
  }
}

/** One line of a report: "  - pools.worker.vcpu (line 14): expected a whole number, got the text "two"". */
export function formatFinding(f: Finding): string {
  if (!f.path) return `  - ${f.line ? `line ${f.line}` : "(top level)"}: ${f.message}`;
  return `  - ${f.path}${f.line ? ` (line ${f.line})` : ""}: ${f.message}`;
}

export interface LoadedCluster {
  readonly description: Description;
  readonly plan: ClusterPlan;
  readonly warnings: readonly Finding[];
}

/**
 * Parses YAML text into a checked description; throws DescriptionError listing every problem. `committedFor`
 * says what the repository remembers of a libvirt cluster's network (committed-network.ts); default: nothing.
 */
export function parseDescription(
  text: string,
  file: string,
  committedFor: (cluster: string) => CommittedNetwork | Finding = () => ({ kind: "none" }),
): { description: Description; plan: ClusterPlan; warnings: Finding[] } {
  const source = readYaml(text);
  if (source.findings.length > 0) throw new DescriptionError(file, source.findings);
  const parsed = descriptionSchema.safeParse(source.value, { reportInput: true });
  if (!parsed.success) {
    throw new DescriptionError(file, parsed.error.issues.flatMap((issue) => schemaFindings(issue, source.lineOf)));
  }
  const committed: CommittedNetwork | Finding = parsed.data.target === "libvirt" ? committedFor(parsed.data.name) : { kind: "none" };
  if ("severity" in committed) throw new DescriptionError(file, [committed]);
  const findings = validateDescription(parsed.data, committed).map((f) => (f.line || !f.path ? f : { ...f, ...lineField(source.lineOf(f.path.split("."))) }));
  const errors = findings.filter((f) => f.severity === "error");
  if (errors.length > 0) throw new DescriptionError(file, errors);
  // Names built from the plan (what the constructs will name), once the description itself is sound.
  const plan = planCluster(parsed.data, file, committed);
  const nameErrors = derivedNameFindings(plan).map((f) => ({ ...f, ...lineField(source.lineOf(f.path.split("."))) }));
  if (nameErrors.length > 0) throw new DescriptionError(file, nameErrors);
  return { description: parsed.data, plan, warnings: findings.filter((f) => f.severity === "warning") };
}

const lineField = (line: number | undefined) => (line ? { line } : {});

/** Path of a description relative to the repository root, "/"-separated, for generated headers. */
export function relativeSourcePath(file: string, root: string): string {
  return path.relative(root, path.resolve(root, file)).split(path.sep).join("/");
}

/** A description is a few kilobytes; anything this large is the wrong file (and would be slow to report on). */
export const MAX_DESCRIPTION_BYTES = 1024 * 1024;

const only = (file: string, message: string) => new DescriptionError(file, [{ severity: "error", path: "", message }]);


const REASONS: Record<string, string> = {
  ENOENT: "the file does not exist",
  EACCES: "permission denied",
  EISDIR: "it is a directory, not a file",
  ENOTDIR: "a part of the path is not a directory",
  ELOOP: "the path is a symlink loop",
};

/**
 * Reads the description text: inside the repository (by its resolved path, so a symlink pointing outside is
 * refused too), a regular text file, not huge, valid UTF-8 without NUL bytes.
 */
export function readDescriptionText(file: string, root: string): { shown: string; resolved: string; text: string } {
  const absolute = path.resolve(root, file);
  const shown = relativeSourcePath(file, root);
  const realRoot = realpathSync(root);
  // Generated files name their description by its path in the repository; outside it that would be a machine path.
  const outside = `keep cluster descriptions inside the repository, e.g. in clusters/, and set CLUSTER_CONFIG to that path`;
  if (shown.startsWith("../") || path.isAbsolute(shown)) {
    throw only(path.basename(file), `the description ${file} is outside the repository; ${outside}`);
  }
  const fix = `set CLUSTER_CONFIG to an existing description such as ${DEFAULT_DESCRIPTION}`;
  let resolved: string;
  try {
    resolved = realpathSync(absolute);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw only(shown, `cannot read the description file: ${REASONS[code] ?? code} (${code}); ${fix}`);
  }
  if (!isInside(realRoot, resolved)) {
    throw only(shown, `the description resolves (through a symlink) to ${resolved}, outside the repository; ${outside}`);
  }
  const stats = statSync(resolved);
  if (!stats.isFile()) throw only(shown, `cannot read the description file: ${REASONS.EISDIR}; ${fix}`);
  if (stats.size > MAX_DESCRIPTION_BYTES) {
    throw only(shown, `the file is ${stats.size} bytes; a description is a few kilobytes (at most ${MAX_DESCRIPTION_BYTES}): is CLUSTER_CONFIG pointing at the right file?`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(resolved);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw only(shown, `cannot read the description file: ${REASONS[code] ?? code} (${code}); ${fix}`);
  }
  const nul = bytes.indexOf(0);
  let text: string;
  try {
    if (nul >= 0) throw new Error("NUL");
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw only(shown, `the file is not a text file (${nul >= 0 ? `a NUL byte at offset ${nul}` : "bytes that are not UTF-8"}); a description is YAML text: is CLUSTER_CONFIG pointing at the right file?`);
  }
  return { shown, resolved, text };
}

export function loadCluster(file: string, root: string = process.cwd()): LoadedCluster {
  const { shown, text } = readDescriptionText(file, root);
  return parseDescription(text, shown, (cluster) => readCommittedNetwork(root, cluster));
}
