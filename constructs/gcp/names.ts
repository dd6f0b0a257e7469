/**
 * Names and network tags of the GCP target. Every name starts with the cluster name, so two clusters can share
 * one project; each is checked against the Compute Engine rules here, at synth time, instead of failing at apply.
 */
import { createHash } from "node:crypto";
import type { HostPlan } from "../../src/cluster/plan-types";

/** Compute Engine resource names and network tags (RFC 1035): a letter first, at most 63 characters. */
const GCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Service account ids: 6 to 30 characters, a letter first. */
const SERVICE_ACCOUNT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

/** Joins `parts` with "-" into a Compute Engine name; throws a message naming the value when it is not one. */
export function gceName(...parts: readonly string[]): string {
  const name = parts.join("-");
  if (!GCE_NAME.test(name)) {
    throw new Error(
      `GCP resource name "${name}" (${name.length} characters) is not a valid Compute Engine name: it must start with a letter, ` +
        `hold only lower-case letters, digits and '-', and be at most 63 characters; it is built from the cluster "name" ` +
        `(and the zone or host name), so start "name" with a letter and shorten it`,
    );
  }
  return name;
}

/** The network tags by role; firewall rules select hosts by these tags. */
export interface RoleTags {
  /** Hosts running an etcd member (the etcd pool, or stacked control-plane hosts). */
  readonly etcd: string;
  /** Hosts running kube-apiserver, kube-controller-manager and kube-scheduler. */
  readonly controlPlane: string;
  /** Worker hosts. */
  readonly worker: string;
  /** Every Kubernetes node: hosts running kubelet, kube-proxy and flannel (control plane and workers). */
  readonly node: string;
}

export function roleTags(cluster: string): RoleTags {
  return {
    etcd: gceName(cluster, "etcd"),
    controlPlane: gceName(cluster, "control-plane"),
    worker: gceName(cluster, "worker"),
    node: gceName(cluster, "node"),
  };
}

/** Every role tag: the targets of rules that concern every host of the cluster (SSH, ICMP). */
export function allHostTags(tags: RoleTags): string[] {
  return [tags.etcd, tags.controlPlane, tags.worker];
}

/** The tags of one host: one per role it runs (a stacked control-plane host is also an etcd host), plus `node`. */
export function hostTags(host: HostPlan, tags: RoleTags): string[] {
  return [
    ...(host.runsEtcd ? [tags.etcd] : []),
    ...(host.runsControlPlane ? [tags.controlPlane] : []),
    ...(host.roles.includes("worker") ? [tags.worker] : []),
    ...(host.runsKubelet ? [tags.node] : []),
  ];
}

/**
 * The id of the cluster's node service account: "<cluster>-nodes", or, when that is longer than the 30 characters
 * allowed, a prefix of the cluster name plus a short hash of it (deterministic, so it never changes between runs).
 */
export function serviceAccountId(cluster: string): string {
  const plain = `${cluster}-nodes`;
  if (SERVICE_ACCOUNT_ID.test(plain)) return plain;
  const hash = createHash("sha256").update(cluster).digest("hex").slice(0, 8);
  const id = `${cluster.slice(0, 21).replace(/-+$/, "")}-${hash}`;
  if (!SERVICE_ACCOUNT_ID.test(id)) {
    throw new Error(`cannot derive a GCP service account id from the cluster name "${cluster}": start "name" with a letter`);
  }
  return id;
}

/**
 * The id of the service account that uploads etcd snapshots: "<cluster>-etcd-backup", or, when that is longer than
 * 30 characters, a prefix of the cluster name, "-bk-" and a short hash of it (deterministic).
 */
export function backupWriterAccountId(cluster: string): string {
  const plain = `${cluster}-etcd-backup`;
  if (SERVICE_ACCOUNT_ID.test(plain)) return plain;
  const hash = createHash("sha256").update(cluster).digest("hex").slice(0, 8);
  const id = `${cluster.slice(0, 18).replace(/-+$/, "")}-bk-${hash}`;
  if (!SERVICE_ACCOUNT_ID.test(id)) {
    throw new Error(`cannot derive a GCP service account id from the cluster name "${cluster}": start "name" with a letter`);
  }
  return id;
}

/** Short, stable content hash for names that must change when their source changes (e.g. an uploaded image). */
export function shortHash(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 10);
}
