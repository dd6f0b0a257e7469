/**
 * The machine record: nixos/clusters/<cluster>/machines.json, written by synth and committed with the host files.
 * Per host it holds the values of the attributes that decide what an apply does to the machine (replace it,
 * stop it, or change it in place), as last synthesized. The next synth compares the description with it
 * (src/day2/review.ts): that is how a change is previewed, and refused, before anything is written.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { showRange } from "../cluster/libvirt-network";
import type { ClusterPlan, HostPlan } from "../cluster/plan-types";

export const MACHINE_RECORD_FILE = "machines.json";
export const MACHINE_RECORD_VERSION = 1;

/** One host's machine attributes. `null`: the attribute does not apply (no data disk, not a GCP host). */
export interface MachineRecordHost {
  readonly pool: HostPlan["pool"];
  readonly roles: readonly string[];
  readonly vcpu: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
  readonly fqdn: string;
  /** The planned address on the node subnet. */
  readonly address: string;
  /** Size of the etcd member's data disk; null: none (not a member, or a member from before data disks). */
  readonly etcdDataGiB: number | null;
  readonly zone: string | null;
  readonly machineType: string | null;
  readonly bootDiskType: string | null;
  /** The boot image the machine was created from (description form); changes to it are bootstrap-only. */
  readonly image: string | null;
}

export interface MachineRecord {
  /** "by cdktf synth from <description>; do not edit" (JSON has no comments). */
  readonly generated: string;
  readonly version: number;
  readonly cluster: string;
  readonly target: ClusterPlan["target"];
  /**
   * Cluster-wide attributes that replace every machine when they change, by description field: libvirt
   * network.nodeCidr / network.domain (a new network), libvirt.domainType (libvirt_domain.type), libvirt.poolPath
   * (a new pool, so new volumes); GCP gcp.project / gcp.region, network.nodeCidr (a new subnetwork).
   */
  readonly clusterWide: Readonly<Record<string, string>>;
  readonly hosts: Readonly<Record<string, MachineRecordHost>>;
}

/** The boot image as the description names it (GCP), one string for comparison and messages. */
export function describedImage(plan: ClusterPlan): string | null {
  if (plan.target === "libvirt") return plan.libvirt?.baseImage ?? null;
  const image = plan.gcp?.image;
  if (!image) return null;
  if ("selfLink" in image) return image.selfLink;
  if ("family" in image) return `family ${image.family}${image.project ? ` of project ${image.project}` : ""}`;
  return image.tarball;
}

export function recordHost(host: HostPlan, image: string | null): MachineRecordHost {
  return {
    pool: host.pool,
    roles: [...host.roles],
    vcpu: host.vcpu,
    memoryMiB: host.memoryMiB,
    diskGiB: host.diskGiB,
    fqdn: host.fqdn,
    address: host.address,
    etcdDataGiB: host.etcdDataGiB ?? null,
    zone: host.zone ?? null,
    machineType: host.machineType ?? null,
    bootDiskType: host.bootDiskType ?? null,
    image,
  };
}

export function clusterAttributes(plan: ClusterPlan): Record<string, string> {
  if (plan.target === "libvirt") {
    const libvirt = plan.libvirt;
    const network = plan.libvirtNetwork?.record;
    return {
      "network.nodeCidr": plan.nodeCidr,
      "network.domain": plan.hostDomain,
      ...(libvirt ? { "libvirt.domainType": libvirt.domainType, "libvirt.poolPath": libvirt.poolPath } : {}),
      // As the network was made (src/cluster/libvirt-network.ts); a record from before these keys compares nothing.
      ...(network ? { "libvirt.network.bridge": network.bridge, "libvirt.network.dynamicRange": showRange(network.dynamicRange) } : {}),
    };
  }
  return { ...(plan.gcp ? { "gcp.project": plan.gcp.project, "gcp.region": plan.gcp.region } : {}), "network.nodeCidr": plan.nodeCidr };
}

/** The record of an (effective) plan; `images` gives per host the image it booted from (default: the described one). */
export function machineRecord(plan: ClusterPlan, images: Readonly<Record<string, string | null>> = {}): MachineRecord {
  const described = describedImage(plan);
  return {
    generated: `by cdktf synth from ${plan.sourceFile}; do not edit`,
    version: MACHINE_RECORD_VERSION,
    cluster: plan.cluster,
    target: plan.target,
    clusterWide: clusterAttributes(plan),
    hosts: Object.fromEntries(plan.hosts.map((h) => [h.name, recordHost(h, h.name in images ? images[h.name] : described)])),
  };
}

export function machineRecordText(record: MachineRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

export class MachineRecordError extends Error {}

/** Reads the committed record of `cluster` under the flake folder; undefined when there is none yet. */
export function readMachineRecord(nixosDir: string, clusterDirectory: string): MachineRecord | undefined {
  const file = path.join(nixosDir, ...clusterDirectory.split("/"), MACHINE_RECORD_FILE);
  if (!existsSync(file)) return undefined;
  const shown = `nixos/${clusterDirectory}/${MACHINE_RECORD_FILE}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new MachineRecordError(`${shown}: not valid JSON (${(e as Error).message}); restore it from git (git checkout -- ${shown})`);
  }
  const record = parsed as Partial<MachineRecord>;
  if (
    typeof record !== "object" || record === null || record.version !== MACHINE_RECORD_VERSION ||
    typeof record.hosts !== "object" || record.hosts === null || typeof record.clusterWide !== "object" || record.clusterWide === null
  ) {
    throw new MachineRecordError(`${shown}: not a machine record of version ${MACHINE_RECORD_VERSION}; restore it from git (git checkout -- ${shown})`);
  }
  for (const [host, entry] of Object.entries(record.hosts)) {
    const problem = hostProblem(entry as unknown);
    if (problem) throw new MachineRecordError(`${shown}: hosts.${host}: ${problem}; the file is written by synth, restore it from git (git checkout -- ${shown})`);
  }
  return record as MachineRecord;
}

const NUMBERS = ["vcpu", "memoryMiB", "diskGiB"] as const;
const OPTIONAL_STRINGS = ["zone", "machineType", "bootDiskType", "image"] as const;

function hostProblem(entry: unknown): string | undefined {
  if (typeof entry !== "object" || entry === null) return "not an object";
  const e = entry as Record<string, unknown>;
  if (typeof e.pool !== "string") return "pool is missing";
  if (!Array.isArray(e.roles) || !e.roles.every((r) => typeof r === "string")) return "roles must be a list of role names";
  for (const key of NUMBERS) if (typeof e[key] !== "number") return `${key} must be a number`;
  if (typeof e.fqdn !== "string") return "fqdn must be a string";
  if (typeof e.address !== "string") return "address must be a string";
  if (e.etcdDataGiB !== null && typeof e.etcdDataGiB !== "number") return "etcdDataGiB must be a number or null";
  for (const key of OPTIONAL_STRINGS) if (e[key] !== null && typeof e[key] !== "string") return `${key} must be a string or null`;
  return undefined;
}
