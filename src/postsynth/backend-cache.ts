/**
 * Post-synth step: terraform's cached backend settings must belong to the cluster just synthesized.
 *
 * `terraform init` records the backend it initialized in <stack folder>/.terraform/terraform.tfstate (type and
 * settings only; the cluster's state itself lives in state/<cluster>/ or GCS). cdktf.out/stacks/<id> is shared by
 * every cluster of the checkout, so after another cluster is synthesized there the record names the previous
 * cluster's state: `cdktf deploy` stops with "Backend configuration changed", and the -migrate-state it offers
 * would copy that cluster's state into this one's. Such a record is removed, and the next init starts fresh
 * against this cluster's own backend. A record of this cluster's own state under another backend (the
 * description's `backend` section changed) is a real migration: it stays, and the step says how to migrate.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { readSynthesizedStacks } from "../export/manifest";
import { type BackendLocation, clusterOfState } from "../state-locations";
import type { PostSynthContext } from "./index";

/** Terraform's record of the initialized backend, relative to a stack's folder. */
export const BACKEND_CACHE_FILE = path.join(".terraform", "terraform.tfstate");

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The backend a synthesized stack declares (`terraform.backend.<type>`), if exactly one. */
export function declaredBackend(stackJson: Readonly<Record<string, unknown>>): BackendLocation | undefined {
  const terraform = stackJson.terraform;
  const backends = isRecord(terraform) && isRecord(terraform.backend) ? Object.entries(terraform.backend) : [];
  if (backends.length !== 1 || !isRecord(backends[0][1])) return undefined;
  return { type: backends[0][0], config: backends[0][1] };
}

/** The backend recorded by `terraform init` in a cache file's text; undefined when it records none or is unreadable. */
export function cachedBackend(text: string): BackendLocation | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(raw) || !isRecord(raw.backend) || typeof raw.backend.type !== "string") return undefined;
  return { type: raw.backend.type, config: isRecord(raw.backend.config) ? raw.backend.config : {} };
}

/** Canonical JSON (sorted keys) of a setting; unset and null are the same (terraform records every unset one as null). */
function canonical(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (isRecord(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
  return JSON.stringify(value);
}

/** Same backend type and the same value for every setting either side sets. */
export function sameBackend(a: BackendLocation, b: BackendLocation): boolean {
  if (a.type !== b.type) return false;
  const keys = new Set([...Object.keys(a.config), ...Object.keys(b.config)]);
  return [...keys].every((key) => canonical(a.config[key]) === canonical(b.config[key]));
}

/** "local ../../../state/local/network.tfstate", "gcs acme-state/k8s/local/network": for log lines. */
function describe(backend: BackendLocation): string {
  const { config } = backend;
  if (backend.type === "local") return `local ${String(config.path ?? "terraform.tfstate")}`;
  if (backend.type === "gcs") return `gcs ${String(config.bucket)}/${String(config.prefix ?? "")}`;
  return backend.type;
}

export type BackendCacheAction = "removed" | "kept for migration";

export interface BackendCacheResult {
  readonly stack: string;
  readonly action: BackendCacheAction;
}

/**
 * Checks the cached backend of every stack folder of the output directory against the stack just synthesized;
 * removes records of another cluster's state, keeps (and reports) records of this cluster's state elsewhere.
 * Writes one line per stack it acts on.
 */
export function reconcileBackendCaches(context: PostSynthContext, log: (line: string) => void): BackendCacheResult[] {
  const results: BackendCacheResult[] = [];
  for (const stack of readSynthesizedStacks(context.outdir)) {
    const stackDir = path.join(context.outdir, ...stack.workingDirectory.split("/"));
    const file = path.join(stackDir, BACKEND_CACHE_FILE);
    if (!existsSync(file)) continue;
    const declared = declaredBackend(stack.json);
    const cached = cachedBackend(readFileSync(file, "utf8"));
    if (!declared || !cached || sameBackend(cached, declared)) continue;
    const shown = displayPath(context, file);
    if (clusterOfState(cached, stack.id) === context.plan.cluster) {
      log(
        `${shown}: cluster "${context.plan.cluster}" moved from backend ${describe(cached)} to ${describe(declared)}; ` +
          `kept for the state migration: run \`npx cdktf deploy --migrate-state ${stack.id}\` ` +
          `(or \`terraform -chdir=${displayPath(context, stackDir)} init -migrate-state\`)`,
      );
      results.push({ stack: stack.id, action: "kept for migration" });
      continue;
    }
    rmSync(file, { force: true });
    log(
      `${shown}: removed terraform's cached backend (${describe(cached)}, not cluster "${context.plan.cluster}"'s); ` +
        `the next init uses ${describe(declared)}`,
    );
    results.push({ stack: stack.id, action: "removed" });
  }
  return results;
}

/** Relative to the repository root when inside it (no machine path in the log), else as is. */
function displayPath(context: PostSynthContext, file: string): string {
  const relative = path.relative(context.root, file);
  return relative === "" || relative.startsWith("..") || path.isAbsolute(relative) ? file : relative.split(path.sep).join("/");
}

/** The registered step: reports on standard output, which `cdktf synth` shows. */
export function backendCachePostSynthStep(context: PostSynthContext): void {
  reconcileBackendCaches(context, (line) => process.stdout.write(`${line}\n`));
}
