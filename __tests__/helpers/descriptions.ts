/** Test helpers: example descriptions as objects, so a test can change one field and see what the loader says. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { parseDescription } from "../../src/cluster/load";
import { planCluster } from "../../src/cluster/plan";
import type { ClusterPlan } from "../../src/cluster/plan-types";

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const EXAMPLES = ["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/gcp.yaml", "clusters/laptop.yaml"] as const;

/** The example description as a plain object (a fresh copy each call). */
export function exampleObject(file: string): Record<string, any> {
  return parse(readFileSync(path.join(REPO_ROOT, file), "utf8")) as Record<string, any>;
}

/** Parses and plans a description object as if it were the YAML file `file`. */
export function planFromObject(object: unknown, file = "clusters/test.yaml"): ClusterPlan {
  const { description } = parseDescription(stringify(object), file);
  return planCluster(description, file);
}

/**
 * The error message the loader gives for a description object, or "" when it is valid; without the
 * " (line N)" after each field path (the lines are tested on their own), so a pattern reads "field: message".
 */
export function problemsOf(object: unknown): string {
  try {
    parseDescription(stringify(object), "clusters/test.yaml");
    return "";
  } catch (e) {
    return (e as Error).message.replace(/ \(line \d+\):/g, ":");
  }
}

/** Applies `change` to a copy of an example and returns the copy. */
export function changed(file: string, change: (d: Record<string, any>) => void): Record<string, any> {
  const d = exampleObject(file);
  change(d);
  return d;
}
