/**
 * Reads what the repository remembers of a cluster's libvirt network: the record the previous synth wrote next
 * to the cluster's committed index (nixos/clusters/<cluster>/libvirt-network.json), or that the index predates
 * it. This is how the synth tells an existing network (keep it) from a new one (per-cluster bridge and range).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parseIp } from "./ipv4";
import { BRIDGE_NAME, LIBVIRT_ASSIGNED_BRIDGE, LIBVIRT_NETWORK_RECORD_FILE, WHOLE_SUBNET_RANGE, type CommittedNetwork, type LibvirtNetworkRecord } from "./libvirt-network";
import type { Finding } from "./validate";

/** The committed generated files of a cluster, relative to the repository root. */
export function committedClusterDir(cluster: string): string {
  return `nixos/clusters/${cluster}`;
}

function isRecord(value: unknown): value is LibvirtNetworkRecord {
  if (typeof value !== "object" || value === null) return false;
  const { bridge, dynamicRange } = value as Record<string, unknown>;
  const bridgeOk = typeof bridge === "string" && (bridge === LIBVIRT_ASSIGNED_BRIDGE || BRIDGE_NAME.test(bridge));
  const range = dynamicRange as Record<string, unknown> | string;
  const rangeOk =
    range === WHOLE_SUBNET_RANGE ||
    (typeof range === "object" && range !== null && typeof range.start === "string" && typeof range.end === "string" && parseIp(range.start) !== undefined && parseIp(range.end) !== undefined);
  return bridgeOk && rangeOk;
}

/**
 * `root` is the repository root; the committed files are those under <root>/nixos, wherever this synth writes.
 * A damaged record is a finding (the caller reports it), never a guess: a wrong guess replaces every VM.
 */
export function readCommittedNetwork(root: string, cluster: string): CommittedNetwork | Finding {
  const dir = committedClusterDir(cluster);
  const recordFile = `${dir}/${LIBVIRT_NETWORK_RECORD_FILE}`;
  const indexFile = `${dir}/default.nix`;
  const absolute = path.join(root, ...recordFile.split("/"));
  if (existsSync(absolute)) {
    let record: unknown;
    try {
      record = JSON.parse(readFileSync(absolute, "utf8"));
    } catch {
      record = undefined;
    }
    if (!isRecord(record)) {
      return {
        severity: "error",
        path: "libvirt.network",
        message: `${recordFile} (written by synth: the bridge and DHCP range the cluster's network was created with) is not a valid record; restore it with git checkout -- ${recordFile}`,
      };
    }
    return { kind: "recorded", recordFile, record: { bridge: record.bridge, dynamicRange: record.dynamicRange } };
  }
  if (existsSync(path.join(root, ...indexFile.split("/")))) return { kind: "unrecorded", indexFile };
  return { kind: "none" };
}
