/**
 * The libvirt network's host side: its bridge name and dnsmasq's dynamic DHCP range. Both are fixed when the
 * network is created (changing either replaces the network, and with it every domain), so they are resolved
 * here from the description, the cluster's committed record, or the defaults for a new network. Pure.
 */
import { cidrSize, formatIp, hostNumber, parseCidr, parseIp, type Cidr } from "./ipv4";
import { DEFAULT_API_HOST_NUMBER, layoutHosts } from "./layout";
import { shortHash } from "./names";
import type { Description } from "./schema";
import type { Finding } from "./validate";

/** Description value: leave the bridge name to libvirt (virbr0, virbr1, ...), as networks made before per-cluster bridges. */
export const LIBVIRT_ASSIGNED_BRIDGE = "libvirt-assigned";
/** Description value: libvirt's own range, every address after the gateway, as networks made before planned ranges. */
export const WHOLE_SUBNET_RANGE = "whole-subnet";
/** Linux limit on interface names (IFNAMSIZ 16, including the terminating NUL). */
export const MAX_BRIDGE_NAME_LENGTH = 15;
/** Fewest addresses dnsmasq's dynamic range may have: room for a rescue VM or a host booting before its reservation. */
export const MIN_DYNAMIC_ADDRESSES = 4;
/** Prefix of the per-cluster bridge names; libvirt's own names start with "virbr". */
export const BRIDGE_PREFIX = "k8s-";

/** A valid Linux interface name: no "/", ":", whitespace; not "." or "..". */
export const BRIDGE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

export interface DhcpRange {
  readonly start: string;
  readonly end: string;
}

/** What the network stack creates on the libvirt host, beyond the subnet and DNS. */
export interface LibvirtNetworkPlan {
  /** Host bridge name; absent: libvirt picks one (virbrN), the behaviour of networks made before this setting. */
  readonly bridge?: string;
  /** dnsmasq's dynamic range; absent: libvirt's default, the whole subnet after the gateway (VIP and hosts included). */
  readonly dynamicRange?: DhcpRange;
}

/** What the repository remembers of the cluster's network: the record written by the previous synth. */
export type CommittedNetwork =
  /** No generated files for this cluster: a network that does not exist yet. */
  | { readonly kind: "none" }
  /** Generated files written before the record existed: the network was made with libvirt's defaults. */
  | { readonly kind: "unrecorded"; readonly indexFile: string }
  | { readonly kind: "recorded"; readonly recordFile: string; readonly record: LibvirtNetworkRecord };

/** The record file's content (nixos/clusters/<cluster>/libvirt-network.json). */
export interface LibvirtNetworkRecord {
  readonly bridge: string;
  readonly dynamicRange: DhcpRange | typeof WHOLE_SUBNET_RANGE;
}

export const LIBVIRT_NETWORK_RECORD_FILE = "libvirt-network.json";
export const MIGRATION_DOC = "docs/targets.md#moving-an-existing-network-to-a-per-cluster-bridge-and-range";

/**
 * The bridge of a new cluster network: `k8s-<cluster>` when that fits in 15 characters, else
 * `k8s-<first 4 characters>_<6 hex digits of sha256(cluster)>`. Cluster names never contain "_", so the two
 * forms never collide; two long names collide only if they share the first 4 characters and the 24-bit hash.
 */
export function bridgeNameFor(cluster: string): string {
  const plain = `${BRIDGE_PREFIX}${cluster}`;
  if (plain.length <= MAX_BRIDGE_NAME_LENGTH) return plain;
  const hash = shortHash(cluster, 6);
  const head = cluster.slice(0, MAX_BRIDGE_NAME_LENGTH - BRIDGE_PREFIX.length - 1 - hash.length);
  return `${BRIDGE_PREFIX}${head}_${hash}`;
}

/** Last host number libvirt can hand out: the broadcast address is excluded. */
function lastUsable(cidr: Cidr): number {
  return cidrSize(cidr) - 2;
}

/**
 * The dynamic range of a new network: the top quarter of the node subnet, up to the last address before the
 * broadcast (10.240.0.192 to 10.240.0.254 for a /24). It depends on nodeCidr only, so growing a pool never
 * moves it (which would replace the network); the planner keeps every host and the VIP out of it.
 */
export function plannedDynamicRange(nodeCidr: string): DhcpRange {
  const cidr = parseCidr(nodeCidr)!;
  const size = cidrSize(cidr);
  return { start: formatIp(cidr.network + (size / 4) * 3), end: formatIp(cidr.network + lastUsable(cidr)) };
}

function sameRange(a: DhcpRange | typeof WHOLE_SUBNET_RANGE, b: DhcpRange | typeof WHOLE_SUBNET_RANGE): boolean {
  if (typeof a === "string" || typeof b === "string") return a === b;
  return a.start === b.start && a.end === b.end;
}

/** A range as messages and the machine record show it: "10.240.0.192 to 10.240.0.254", or "whole-subnet". */
export function showRange(range: DhcpRange | typeof WHOLE_SUBNET_RANGE): string {
  return typeof range === "string" ? range : `${range.start} to ${range.end}`;
}

export interface ResolvedLibvirtNetwork {
  readonly record: LibvirtNetworkRecord;
  readonly findings: readonly Finding[];
}

/**
 * Each setting: the description's value, else the committed record's, else, for a cluster whose files predate
 * the record, libvirt's defaults (so its running network is kept), else the new-network defaults.
 */
export function resolveLibvirtNetwork(d: Description, committed: CommittedNetwork): ResolvedLibvirtNetwork {
  const described = d.libvirt?.network ?? {};
  const fallback: LibvirtNetworkRecord =
    committed.kind === "recorded"
      ? committed.record
      : committed.kind === "unrecorded"
        ? { bridge: LIBVIRT_ASSIGNED_BRIDGE, dynamicRange: WHOLE_SUBNET_RANGE }
        : { bridge: bridgeNameFor(d.name), dynamicRange: plannedDynamicRange(d.network.nodeCidr) };
  const record: LibvirtNetworkRecord = {
    bridge: described.bridge ?? fallback.bridge,
    dynamicRange: described.dynamicRange ?? fallback.dynamicRange,
  };
  const findings: Finding[] = [];
  const replaces = `terraform replaces the libvirt network and then every domain of the cluster: all ${layoutHosts(d).length} VMs stop at once (their disks stay); see ${MIGRATION_DOC}`;
  if (committed.kind === "unrecorded") {
    const kept = [
      ...(described.bridge === undefined ? [`bridge ${LIBVIRT_ASSIGNED_BRIDGE}`] : []),
      ...(described.dynamicRange === undefined ? [`dynamicRange ${WHOLE_SUBNET_RANGE}`] : []),
    ];
    if (kept.length > 0) {
      findings.push({
        severity: "warning",
        path: "libvirt.network",
        message: `${committed.indexFile} predates per-cluster bridges and DHCP ranges, so this cluster's network keeps libvirt's defaults (${kept.join(", ")}; the API VIP stays inside dnsmasq's range) instead of being replaced with every VM; the synth records this in ${LIBVIRT_NETWORK_RECORD_FILE} next to it (commit it). To move, see ${MIGRATION_DOC}`,
      });
    }
  }
  const before: LibvirtNetworkRecord | undefined =
    committed.kind === "recorded" ? committed.record : committed.kind === "unrecorded" ? fallback : undefined;
  if (before && record.bridge !== before.bridge) {
    findings.push({ severity: "warning", path: "libvirt.network.bridge", message: `"${record.bridge}" differs from the network's current bridge (${before.bridge}): ${replaces}` });
  }
  if (before && !sameRange(record.dynamicRange, before.dynamicRange)) {
    findings.push({
      severity: "warning",
      path: "libvirt.network.dynamicRange",
      message: `${showRange(record.dynamicRange)} differs from the network's current range (${showRange(before.dynamicRange)}): ${replaces}`,
    });
  }
  if (typeof record.dynamicRange !== "string") findings.push(...checkDynamicRange(d, record.dynamicRange, described.dynamicRange !== undefined));
  return { record, findings };
}

/** The plan's view of a record: "libvirt-assigned" and "whole-subnet" become absent settings. */
export function networkPlanOf(record: LibvirtNetworkRecord): LibvirtNetworkPlan {
  return {
    ...(record.bridge !== LIBVIRT_ASSIGNED_BRIDGE ? { bridge: record.bridge } : {}),
    ...(typeof record.dynamicRange !== "string" ? { dynamicRange: record.dynamicRange } : {}),
  };
}

/** The range must lie in the subnet's usable addresses, be large enough, and hold no planned host and not the VIP. */
function checkDynamicRange(d: Description, range: DhcpRange, described: boolean): Finding[] {
  const node = parseCidr(d.network.nodeCidr)!;
  const field = "libvirt.network.dynamicRange";
  const origin = described ? field : `${field} (default: the top quarter of network.nodeCidr ${d.network.nodeCidr})`;
  const start = hostNumber(node, parseIp(range.start)!);
  const end = hostNumber(node, parseIp(range.end)!);
  const last = lastUsable(node);
  if (start < 2 || end > last || start > end) {
    return [
      {
        severity: "error",
        path: field,
        message: `${range.start} to ${range.end} is not a range of usable addresses of network.nodeCidr ${d.network.nodeCidr}: start and end must lie from ${formatIp(node.network + 2)} to ${formatIp(node.network + last)}, start first`,
      },
    ];
  }
  const findings: Finding[] = [];
  const count = end - start + 1;
  if (count < MIN_DYNAMIC_ADDRESSES) {
    findings.push({
      severity: "error",
      path: described ? field : "network.nodeCidr",
      message: `${origin} is ${range.start} to ${range.end}, only ${count} address${count === 1 ? "" : "es"}; dnsmasq needs at least ${MIN_DYNAMIC_ADDRESSES}: use a /27 or wider nodeCidr, or set ${field} to { start, end } clear of the hosts`,
    });
  }
  const inside = (n: number) => n >= start && n <= end;
  const apiNumber = d.network.apiAddress ? hostNumber(node, parseIp(d.network.apiAddress)!) : DEFAULT_API_HOST_NUMBER;
  if (inside(apiNumber)) {
    findings.push({
      severity: "error",
      path: "network.apiAddress",
      message: `the API VIP ${formatIp(node.network + apiNumber)} lies inside dnsmasq's dynamic range ${range.start} to ${range.end} (${origin}), where dnsmasq may lease it to another machine; pick a VIP outside it`,
    });
  }
  const byPool = new Map<string, { first: string; address: string; more: number }>();
  for (const slot of layoutHosts(d)) {
    if (!inside(slot.hostNumber)) continue;
    const entry = byPool.get(slot.pool);
    if (entry) entry.more += 1;
    else byPool.set(slot.pool, { first: slot.name, address: formatIp(node.network + slot.hostNumber), more: 0 });
  }
  for (const [pool, entry] of byPool) {
    const more = entry.more > 0 ? ` (and ${entry.more} more host${entry.more === 1 ? "" : "s"})` : "";
    findings.push({
      severity: "error",
      path: `pools.${pool}.addressOffset`,
      message: `host ${entry.first} (${entry.address})${more} lies inside dnsmasq's dynamic range ${range.start} to ${range.end} (${origin}), where dnsmasq may lease its address to another machine; the range is fixed when the network is created, so move the pool's addressOffset (or lower its count) to keep its hosts below ${range.start}`,
    });
  }
  return findings;
}
