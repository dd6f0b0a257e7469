/**
 * Names and network tags of the GCP target: the one place they are built. Every name starts with the cluster
 * name, so two clusters can share one project. The constructs take their names from here (checked again as
 * they are made), and validation checks every name of gcpDerivedNames before anything is synthesized, so a
 * name Compute Engine would refuse is reported against the description instead of crashing the synth or
 * failing at apply. Pure: no cdktf.
 */
import { ETCD_DATA_DISK_NAME } from "../cluster/etcd-data-disk";
import { shortHash } from "../cluster/names";
import type { HostPlan } from "../cluster/plan-types";

/** Compute Engine resource names and network tags (RFC 1035): a letter first, at most 63 characters. */
export const GCE_NAME_MAX = 63;
export const GCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Service account ids: 6 to 30 characters, a letter first. */
export const SERVICE_ACCOUNT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;

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

/** The role tags as built, before the Compute Engine check (validation looks at them; constructs use roleTags). */
export function roleTagNames(cluster: string): RoleTags {
  return { etcd: `${cluster}-etcd`, controlPlane: `${cluster}-control-plane`, worker: `${cluster}-worker`, node: `${cluster}-node` };
}

export function roleTags(cluster: string): RoleTags {
  const tags = roleTagNames(cluster);
  return { etcd: gceName(tags.etcd), controlPlane: gceName(tags.controlPlane), worker: gceName(tags.worker), node: gceName(tags.node) };
}

/** Suffixes of the names every GCP cluster has once ("<cluster>-<suffix>"), by what they name. */
export const CLUSTER_NAME_SUFFIXES = {
  /** VPC network. */
  network: "net",
  /** The node subnetwork. */
  subnetwork: "nodes",
  router: "router",
  nat: "nat",
  /** The API addresses, backend services and forwarding rules (one external, one internal; each kind its own namespace). */
  apiExternal: "api-external",
  apiInternal: "api-internal",
  /** The API health check. */
  apiHealthCheck: "api",
  /** Family of the uploaded NixOS images. */
  imageFamily: "nixos",
} as const;

export type ClusterNameOf = keyof typeof CLUSTER_NAME_SUFFIXES;

/** A per-cluster name (checked). */
export function clusterResourceName(cluster: string, what: ClusterNameOf): string {
  return gceName(cluster, CLUSTER_NAME_SUFFIXES[what]);
}

/** The parts of the per-zone control-plane instance group's name (backends of both API balancers). */
export function instanceGroupNameParts(cluster: string, zone: string): string[] {
  return [cluster, "cp", zone];
}

/** The parts of an uploaded image's name: the family plus a hash of its source (a new upload, a new image). */
export function imageNameParts(cluster: string, source: string): string[] {
  return [cluster, CLUSTER_NAME_SUFFIXES.imageFamily, shortHash(source)];
}

/** The parts of a firewall rule's name: "<cluster>-<rule key>" (keys: src/gcp/firewall-rules.ts). */
/** An etcd member's data disk: `<machine>-etcd-data`. */
export function etcdDataDiskNameParts(machineName: string): string[] {
  return [machineName, ETCD_DATA_DISK_NAME];
}

export function firewallRuleNameParts(cluster: string, key: string): string[] {
  return [cluster, key];
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
  const id = serviceAccountIdCandidate(cluster);
  if (!SERVICE_ACCOUNT_ID.test(id)) {
    throw new Error(`cannot derive a GCP service account id from the cluster name "${cluster}" (got "${id}"): start "name" with a letter`);
  }
  return id;
}

/** The service account id as derived, before the check (see serviceAccountId). */
export function serviceAccountIdCandidate(cluster: string): string {
  const plain = `${cluster}-nodes`;
  if (SERVICE_ACCOUNT_ID.test(plain)) return plain;
  const hash = shortHash(cluster, 8);
  return `${cluster.slice(0, 21).replace(/-+$/, "")}-${hash}`;
}

/**
 * The id of the service account that uploads etcd snapshots: "<cluster>-etcd-backup", or, when that is longer than
 * 30 characters, a prefix of the cluster name, "-bk-" and a short hash of it (deterministic).
 */
export function backupWriterAccountId(cluster: string): string {
  const id = backupWriterAccountIdCandidate(cluster);
  if (!SERVICE_ACCOUNT_ID.test(id)) {
    throw new Error(`cannot derive a GCP service account id from the cluster name "${cluster}": start "name" with a letter`);
  }
  return id;
}

/** The backup writer's id as derived, before the check (see backupWriterAccountId). */
export function backupWriterAccountIdCandidate(cluster: string): string {
  const plain = `${cluster}-etcd-backup`;
  if (SERVICE_ACCOUNT_ID.test(plain)) return plain;
  const hash = shortHash(cluster, 8);
  return `${cluster.slice(0, 18).replace(/-+$/, "")}-bk-${hash}`;
}

