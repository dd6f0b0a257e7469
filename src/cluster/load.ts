/** Reads a description file, checks it completely, and plans it; reports every problem at once. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import type { core } from "zod";
import { descriptionSchema, type Description } from "./schema";
import { readCommittedNetwork } from "./committed-network";
import type { CommittedNetwork } from "./libvirt-network";
import { planCluster } from "./plan";
import type { ClusterPlan } from "./plan-types";
import { validateDescription, type Finding } from "./validate";

export const DEFAULT_DESCRIPTION = "clusters/local.yaml";

export class DescriptionError extends Error {
  constructor(
    readonly file: string,
    readonly findings: readonly Finding[],
  ) {
    super(
      `${file}: the cluster description has ${findings.length} problem${findings.length === 1 ? "" : "s"}; nothing was synthesized:\n` +
        findings.map((f) => `  - ${f.path || "(top level)"}: ${f.message}`).join("\n"),
    );
    this.name = "DescriptionError";
  }
}

export interface LoadedCluster {
  readonly description: Description;
  readonly plan: ClusterPlan;
  readonly warnings: readonly Finding[];
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function schemaFinding(issue: core.$ZodIssue): Finding[] {
  const base = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      severity: "error" as const,
      path: base ? `${base}.${key}` : key,
      message: `unknown field "${key}"${base ? ` in ${base}` : ""} (a typo?); remove it or use one of the documented fields`,
    }));
  }
  const got = "input" in issue && issue.input !== undefined ? ` (got ${showValue(issue.input)})` : issue.code === "invalid_type" ? " (missing)" : "";
  return [{ severity: "error", path: base, message: `${issue.message}${got}` }];
}

/**
 * Parses YAML text into a checked description; throws DescriptionError listing every problem. `committedFor`
 * says what the repository remembers of a libvirt cluster's network (committed-network.ts); default: nothing.
 */
export function parseDescription(
  text: string,
  file: string,
  committedFor: (cluster: string) => CommittedNetwork | Finding = () => ({ kind: "none" }),
): { description: Description; warnings: Finding[]; committed: CommittedNetwork } {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new DescriptionError(file, doc.errors.map((e) => ({ severity: "error", path: "", message: `YAML: ${e.message.split("\n")[0]}` })));
  }
  const parsed = descriptionSchema.safeParse(doc.toJS(), { reportInput: true });
  if (!parsed.success) {
    throw new DescriptionError(file, parsed.error.issues.flatMap(schemaFinding));
  }
  const committed: CommittedNetwork | Finding = parsed.data.target === "libvirt" ? committedFor(parsed.data.name) : { kind: "none" };
  if ("severity" in committed) throw new DescriptionError(file, [committed]);
  const findings = validateDescription(parsed.data, committed);
  const errors = findings.filter((f) => f.severity === "error");
  if (errors.length > 0) throw new DescriptionError(file, errors);
  return { description: parsed.data, warnings: findings.filter((f) => f.severity === "warning"), committed };
}

/** Path of a description relative to the repository root, "/"-separated, for generated headers. */
export function relativeSourcePath(file: string, root: string): string {
  return path.relative(root, path.resolve(root, file)).split(path.sep).join("/");
}

export function loadCluster(file: string, root: string = process.cwd()): LoadedCluster {
  const absolute = path.resolve(root, file);
  const shown = relativeSourcePath(file, root);
  if (shown.startsWith("../") || path.isAbsolute(shown)) {
    // Generated files name their description by its path in the repository; outside it that would be a machine path.
    throw new DescriptionError(path.basename(file), [
      { severity: "error", path: "", message: `the description ${file} is outside the repository; keep cluster descriptions inside it, e.g. in clusters/` },
    ]);
  }
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (e) {
    throw new DescriptionError(shown, [{ severity: "error", path: "", message: `cannot read the description file: ${(e as NodeJS.ErrnoException).code ?? String(e)}; set CLUSTER_CONFIG to an existing file such as ${DEFAULT_DESCRIPTION}` }]);
  }
  const { description, warnings, committed } = parseDescription(text, shown, (cluster) => readCommittedNetwork(root, cluster));
  return { description, plan: planCluster(description, shown, committed), warnings };
}
