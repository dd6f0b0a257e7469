/**
 * Where each stack of each cluster keeps its Terraform state, for both backends, and the way back: which cluster
 * a backend location belongs to. The cluster name is part of every location, so clusters never share state.
 * Pure: used by the stacks (backends) and by the post-synth step that checks terraform's cached backend.
 */
import * as path from "node:path";
import { fromStackDir } from "./stack-dir";

/** Local state root, relative to the repository root; git-ignored (state holds private keys). */
export const LOCAL_STATE_DIR = "state";

/** Operator credentials the stacks write (kubeconfigs, known_hosts), relative to the repository root; git-ignored. */
export const SECRETS_DIR = "secrets";

/** Default object prefix of GCS state. */
export const DEFAULT_GCS_PREFIX = "nixos-k8s";

/** A stack's local state file as the stack's backend names it: state/<cluster>/<stack>.tfstate, from the stack folder. */
export function localStatePath(cluster: string, stackId: string): string {
  return fromStackDir(`${LOCAL_STATE_DIR}/${cluster}/${stackId}.tfstate`);
}

/** Object prefix of one stack's GCS state: <prefix>/<cluster>/<stack>, so clusters and stacks never share one. */
export function gcsStatePrefix(prefix: string | undefined, cluster: string, stackId: string): string {
  return `${prefix ?? DEFAULT_GCS_PREFIX}/${cluster}/${stackId}`;
}

/** A backend as Terraform records it: its type ("local", "gcs") and its settings. */
export interface BackendLocation {
  readonly type: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * The cluster whose state of stack `stackId` the backend location holds, read back from the layout above;
 * undefined for a location this layout never produces (another backend type, a hand-written path).
 */
export function clusterOfState(backend: BackendLocation, stackId: string): string | undefined {
  if (backend.type === "local") {
    if (typeof backend.config.path !== "string") return undefined;
    const file = path.posix.normalize(backend.config.path);
    const cluster = file.split("/").at(-2);
    return cluster && file === localStatePath(cluster, stackId) ? cluster : undefined;
  }
  if (backend.type === "gcs") {
    if (typeof backend.config.prefix !== "string") return undefined;
    const parts = backend.config.prefix.split("/");
    const cluster = parts.at(-2);
    return parts.length >= 3 && parts.at(-1) === stackId && cluster ? cluster : undefined;
  }
  return undefined;
}
