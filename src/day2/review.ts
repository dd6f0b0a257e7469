/**
 * The change review: compares the described plan with the committed machine record (src/day2/record.ts) and
 * decides, before anything is written, what this synth does to running hosts.
 *
 * - A change that replaces or stops machines is applied only while at most one etcd member (none of a cluster of
 *   fewer than 3), not every control-plane host and not every load balancer would be unavailable at once;
 *   otherwise the synth is refused.
 * - ALLOW_DISRUPTION=<host,...> names the hosts that may be replaced or stopped in this synth: exactly those get
 *   the change (also beyond that limit: a deliberate rebuild); the other etcd members, control-plane hosts and
 *   load balancers keep their recorded machines, and their change is reported as pending. This is how a change rolls one host at a time.
 * - A change that cannot be done safely (an etcd member's zone, a shrinking data disk) is refused.
 * - Every other described value is applied, or reported as pending (bootstrap-only images, libvirt data volumes).
 *
 * The result is the effective plan that the stacks and the Nix files are built from, the new record, and the
 * preview that the synth summary prints.
 */
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { macForAddress, protectedGuard } from "../cluster/plan";
import type { OutputFile } from "../postsynth/files";
import type { ClusterPlan, HostPlan, MachineGuard } from "../cluster/plan-types";
import { attributeEffect, attributesOf, descriptionField, type Effect, type MachineAttribute } from "./attributes";
import { clusterAttributes, describedImage, machineRecord, MACHINE_RECORD_FILE, type MachineRecord, type MachineRecordHost } from "./record";

/** The override's environment variable. */
export const ALLOW_DISRUPTION = "ALLOW_DISRUPTION";

export interface FieldChange {
  /** A machine attribute, or a cluster-wide field (record.clusterWide). */
  readonly attribute: MachineAttribute | string;
  /** The description field that causes it. */
  readonly field: string;
  readonly before: string;
  readonly after: string;
  readonly effect: Effect;
  readonly why: string;
}

export type HostChangeKind = "added" | "removed" | "replaced" | "stopped" | "changed";

export interface HostChange {
  readonly host: string;
  readonly roles: readonly string[];
  /** Unset: nothing is applied to the machine (only pending changes). */
  readonly kind?: HostChangeKind;
  /** Applied by this synth. */
  readonly applied: readonly FieldChange[];
  /** Described but not applied (held by the review, or bootstrap-only), with the reason. */
  readonly pending: readonly (FieldChange & { readonly heldBecause: string })[];
}

export interface ReviewedChange {
  /** The plan the stacks and Nix files are built from: the description, with held changes at their recorded values. */
  readonly plan: ClusterPlan;
  /** The record to write (nixos/clusters/<cluster>/machines.json). */
  readonly record: MachineRecord;
  /** Per host with something to report, in plan order (removed hosts last). */
  readonly hosts: readonly HostChange[];
  /** What the comparison was made with: the committed record, or why there was none. */
  readonly baseline: "record" | "new-cluster" | "first-record";
  /** Hosts named in ALLOW_DISRUPTION. */
  readonly allowed: readonly string[] | undefined;
  /** The committed generated files this synth adds, changes or removes (set by src/day2/step.ts). */
  readonly generatedFiles?: readonly GeneratedFileChange[];
  /** The generated Nix files' content, computed once for the comparison and written by the Nix step. */
  readonly nixFiles?: readonly OutputFile[];
}

export interface GeneratedFileChange {
  /** Repository-relative, "/"-separated. */
  readonly path: string;
  readonly change: "added" | "changed" | "removed";
}

export class ChangeRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChangeRefused";
  }
}

export interface ReviewInput {
  readonly plan: ClusterPlan;
  /** The committed record; undefined when there is none. */
  readonly record: MachineRecord | undefined;
  /** Hosts with a committed host file (nixos/clusters/<cluster>/hosts/*.nix): used when there is no record yet. */
  readonly existingHosts: readonly string[];
  /** The value of ALLOW_DISRUPTION, if set. */
  readonly allowDisruption: string | undefined;
}

/** Host names with a committed host file of `cluster`. */
export function committedHosts(nixosDir: string, clusterDirectory: string): string[] {
  const dir = path.join(nixosDir, ...clusterDirectory.split("/"), "hosts");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".nix"))
    .map((f) => f.slice(0, -4))
    .sort();
}

const show = (value: string | number | null): string => (value === null ? "none" : String(value));

/** What must happen before a removed host of these roles may go (docs/day-2.md). */
function removalStep(roles: readonly string[]): string {
  if (roles.includes("etcd")) return "once it has left the etcd membership";
  if (roles.includes("control-plane")) return "once its node is drained";
  return "once the remaining load balancers are deployed (they hold the API address)";
}

/** Hosts the cluster cannot lose all at once: etcd members, API servers, and the load balancers in front of them. */
function isCritical(roles: readonly string[]): boolean {
  return roles.includes("etcd") || roles.includes("control-plane") || roles.includes("load-balancer");
}

/**
 * The record to compare with when none is committed. A cluster whose host files exist was synthesized before
 * machine records (and data disks) existed: its hosts are taken as described, except that its etcd members have
 * no data disk yet (their data is on the root disk until scripts/etcd-move-data.sh moves it).
 */
function baselineRecord(plan: ClusterPlan, existingHosts: readonly string[]): MachineRecord {
  const existing = new Set(existingHosts);
  const full = machineRecord(plan);
  const hosts: Record<string, MachineRecordHost> = {};
  for (const [name, host] of Object.entries(full.hosts)) {
    if (existing.has(name)) hosts[name] = { ...host, etcdDataGiB: null };
  }
  return { ...full, hosts };
}

function parseAllowed(value: string | undefined, plan: ClusterPlan, record: MachineRecord): string[] | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const names = value.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const known = new Set([...plan.hosts.map((h) => h.name), ...Object.keys(record.hosts)]);
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new ChangeRefused(
      `${plan.sourceFile}: ${ALLOW_DISRUPTION} names ${unknown.map((n) => `"${n}"`).join(", ")}, which ${unknown.length === 1 ? "is not a host" : "are not hosts"} of cluster ${plan.cluster} ` +
        `(hosts: ${[...known].sort().join(", ")}); nothing was written. Name hosts separated by commas, e.g. ${ALLOW_DISRUPTION}=${[...known].sort()[0]}`,
    );
  }
  return [...new Set(names)].sort();
}

interface Diff {
  readonly host: HostPlan;
  readonly before: MachineRecordHost;
  readonly changes: FieldChange[];
}

function diffHost(plan: ClusterPlan, host: HostPlan, before: MachineRecordHost, after: MachineRecordHost): FieldChange[] {
  const changes: FieldChange[] = [];
  for (const attribute of attributesOf(plan.target)) {
    const was = before[attribute];
    const now = after[attribute];
    if (was === now) continue;
    const { effect, why } = attributeEffect(plan.target, attribute, was, now, host.runsEtcd);
    changes.push({ attribute, field: descriptionField(attribute, plan.target, host.pool), before: show(was), after: show(now), effect, why });
  }
  return changes;
}

/** Cluster-wide attributes (record.clusterWide): a change replaces every machine, and cannot be held per host. */
const CLUSTER_WIDE_WHY: Readonly<Record<string, string>> = {
  "network.nodeCidr": "forces a new network (libvirt network / GCP subnetwork), and every machine is replaced with it",
  "network.domain": "forces a new libvirt network, and every domain is replaced with it (libvirt_domain network-attachment)",
  "libvirt.domainType": "libvirt_domain.type forces a new domain for every host",
  "libvirt.poolPath": "forces a new storage pool, and so new volumes (root disks and etcd data) and domains for every host",
  "libvirt.network.bridge": "forces a new libvirt network, and every domain is replaced with it (libvirt_domain network-attachment)",
  "libvirt.network.dynamicRange": "forces a new libvirt network (its dnsmasq range), and every domain is replaced with it",
  "gcp.project": "every resource is created again in the other project",
  "gcp.region": "forces a new subnetwork, and every instance and disk is replaced with it",
};

function clusterWideChanges(plan: ClusterPlan, record: MachineRecord): FieldChange[] {
  const now = clusterAttributes(plan);
  return Object.entries(record.clusterWide)
    .filter(([field, before]) => field in now && now[field] !== before)
    .map(([field, before]) => ({ attribute: field, field, before, after: now[field], effect: "replace" as const, why: CLUSTER_WIDE_WHY[field] ?? "replaces every machine" }));
}

const DISRUPTIVE: readonly Effect[] = ["replace", "stop"];

/** How many etcd members may be unavailable at once: one of 3 or more; none of 1 or 2 (no quorum without it). */
export function etcdDisruptionBudget(members: number): number {
  return members >= 3 ? 1 : 0;
}

function formatChange(c: FieldChange): string {
  return `${c.field} ${c.before} -> ${c.after} (${c.why})`;
}

function oneAtATime(plan: ClusterPlan, hosts: readonly string[]): string {
  const [first, ...rest] = hosts;
  return (
    `Apply it one host at a time, checking that the cluster is healthy in between (scripts/check-cluster.sh):\n` +
    `    ${ALLOW_DISRUPTION}=${first} npm run synth     # with CLUSTER_CONFIG=${plan.sourceFile}; the other hosts keep their machines, their change stays pending\n` +
    `    npx cdktf deploy --skip-synth compute pki, deploy the host, wait until healthy${rest.length > 0 ? `; then ${rest.map((h) => `${ALLOW_DISRUPTION}=${h}`).join(", then ")}` : ""}\n` +
    `  To rebuild them together on purpose (they are all unavailable meanwhile): ${ALLOW_DISRUPTION}=${hosts.join(",")}\n` +
    `  See docs/day-2.md#resize-or-re-image-one-host.`
  );
}

export function reviewChange(input: ReviewInput): ReviewedChange {
  const { plan } = input;
  const baseline: ReviewedChange["baseline"] = input.record ? "record" : input.existingHosts.length > 0 ? "first-record" : "new-cluster";
  const record = input.record ?? baselineRecord(plan, input.existingHosts);
  const allowed = parseAllowed(input.allowDisruption, plan, record);
  const allowedSet = new Set(allowed ?? []);
  const described = machineRecord(plan);
  const network = clusterWideChanges(plan, record);

  const diffs: Diff[] = [];
  for (const host of plan.hosts) {
    const before = record.hosts[host.name];
    if (!before) continue;
    diffs.push({ host, before, changes: [...network, ...diffHost(plan, host, before, described.hosts[host.name])] });
  }
  const removed = Object.entries(record.hosts)
    .filter(([name]) => !plan.hosts.some((h) => h.name === name))
    .map(([name, host]) => ({ name, host }));

  // Refused outright: what no override makes safe.
  const impossible = diffs.flatMap((d) => d.changes.filter((c) => c.effect === "refused").map((c) => ({ host: d.host.name, change: c })));
  if (impossible.length > 0) {
    // One explanation per reason, after the hosts it concerns.
    const reasons = [...new Set(impossible.map((i) => i.change.why))];
    const text = reasons.flatMap((why) => [
      ...impossible.filter((i) => i.change.why === why).map((i) => `  - ${i.host}: ${i.change.field} ${i.change.before} -> ${i.change.after}`),
      `    ${why}`,
    ]);
    throw new ChangeRefused(`${plan.sourceFile}: this change cannot be applied safely; nothing was written:\n${text.join("\n")}`);
  }

  // The GCP boot image reaches a host only when the host is named (it is then re-imaged: replaced).
  const imageApplies = (d: Diff): boolean => plan.target === "gcp" && allowedSet.has(d.host.name);
  // A member from before data disks gets its disk only when named: its data must be moved right after
  // (scripts/etcd-move-data.sh), one member at a time; until then its host file keeps etcd on the root disk.
  const awaitsMove = (d: Diff, c: FieldChange): boolean => c.attribute === "etcdDataGiB" && d.before.etcdDataGiB === null && !allowedSet.has(d.host.name);
  // libvirt cannot resize a data volume: naming the host records the size the operator gave it by hand.
  const resizedByHand = (d: Diff, c: FieldChange): boolean =>
    plan.target === "libvirt" && c.attribute === "etcdDataGiB" && d.before.etcdDataGiB !== null && allowedSet.has(d.host.name);
  const effectOf = (d: Diff, c: FieldChange): Effect =>
    c.attribute === "image" && imageApplies(d) ? "replace" : awaitsMove(d, c) ? "pending" : resizedByHand(d, c) ? "in-place" : c.effect;

  // Which critical hosts would this synth disrupt, and by which changes?
  const disruptive = (d: Diff) => d.changes.filter((c) => DISRUPTIVE.includes(effectOf(d, c)));
  const held = new Set<string>();
  if (allowed) {
    for (const d of diffs) {
      if (!allowedSet.has(d.host.name) && isCritical(d.host.roles) && disruptive(d).length > 0) held.add(d.host.name);
    }
    const networkWide = network.length > 0 && held.size > 0;
    const removedUnnamed = removed.filter((r) => isCritical(r.host.roles) && !allowedSet.has(r.name));
    const unholdable = [
      ...(networkWide ? [`${network.map((c) => c.field).join(" and ")}: ${network[0].why}; it cannot be limited to some hosts`] : []),
      ...removedUnnamed.map((r) => `${r.name} is removed from the description; name it too, ${removalStep(r.host.roles)}`),
    ];
    if (unholdable.length > 0) {
      // The held hosts belong in the suggestion only when the change cannot be held at all (a network-wide one);
      // otherwise naming them would disrupt them together, which is what holding them prevents.
      const suggested = [...new Set([...allowed, ...(networkWide ? held : []), ...removedUnnamed.map((r) => r.name)])].sort();
      throw new ChangeRefused(
        `${plan.sourceFile}: ${ALLOW_DISRUPTION}=${allowed.join(",")} does not cover this change; nothing was written:\n${unholdable.map((l) => `  - ${l}`).join("\n")}\n` +
          `  Name every host it disrupts: ${ALLOW_DISRUPTION}=${suggested.join(",")}`,
      );
    }
  } else {
    const members = Object.values(record.hosts).filter((h) => h.roles.includes("etcd")).length;
    const controlPlane = Object.values(record.hosts).filter((h) => h.roles.includes("control-plane")).length;
    const loadBalancers = Object.values(record.hosts).filter((h) => h.roles.includes("load-balancer")).length;
    const down = [
      ...diffs.filter((d) => isCritical(d.host.roles) && disruptive(d).length > 0).map((d) => ({ name: d.host.name, roles: d.host.roles, lines: disruptive(d).map(formatChange) })),
      ...removed.filter((r) => isCritical(r.host.roles)).map((r) => ({ name: r.name, roles: r.host.roles, lines: ["removed from the description (its machine is destroyed)"] })),
    ];
    const etcdDown = down.filter((h) => h.roles.includes("etcd"));
    const cpDown = down.filter((h) => h.roles.includes("control-plane"));
    const lbDown = down.filter((h) => h.roles.includes("load-balancer"));
    const budget = etcdDisruptionBudget(members);
    const problems: string[] = [];
    if (etcdDown.length > budget) {
      problems.push(`${etcdDown.length} of ${members} etcd members would be unavailable at once (at most ${budget} may be${budget === 0 ? `: with ${members} member${members === 1 ? "" : "s"} etcd has no quorum without it` : ", or etcd loses its quorum"})`);
    }
    if (controlPlane > 0 && cpDown.length === controlPlane) {
      problems.push(`every control-plane host (${controlPlane}) would be unavailable at once: the API would be down`);
    }
    if (loadBalancers > 0 && lbDown.length === loadBalancers) {
      problems.push(`every load balancer (${loadBalancers}) would be unavailable at once: the API address would answer nothing`);
    }
    if (problems.length > 0) {
      const hosts = [...new Set([...etcdDown, ...cpDown, ...lbDown].map((h) => h.name))];
      const lines = [...etcdDown, ...cpDown, ...lbDown].filter((h, i, all) => all.findIndex((o) => o.name === h.name) === i).flatMap((h) => h.lines.map((l) => `  - ${h.name}: ${l}`));
      throw new ChangeRefused(`${plan.sourceFile}: this change is refused; nothing was written: ${problems.join("; ")}:\n${lines.join("\n")}\n  ${oneAtATime(plan, hosts)}`);
    }
  }

  // The effective plan: held hosts keep their recorded machine; guards lifted where this synth allows disruption.
  const images: Record<string, string | null> = {};
  const hosts: HostPlan[] = [];
  const changes: HostChange[] = [];
  for (const host of plan.hosts) {
    const d = diffs.find((x) => x.host.name === host.name);
    if (!d) {
      hosts.push(host);
      images[host.name] = described.hosts[host.name].image;
      changes.push({ host: host.name, roles: host.roles, kind: "added", applied: [], pending: [] });
      continue;
    }
    const isHeld = held.has(host.name);
    const applied: FieldChange[] = [];
    const pending: (FieldChange & { heldBecause: string })[] = [];
    let effective: HostPlan = host;
    for (const c of d.changes) {
      const effect = effectOf(d, c);
      const holdThis = effect === "pending" || (isHeld && DISRUPTIVE.includes(effect));
      if (holdThis) {
        const heldBecause = awaitsMove(d, c)
          ? `its data is still on the root disk: name it in ${ALLOW_DISRUPTION} when moving its data (${c.why})`
          : effect === "pending"
            ? c.why
            : `held: it would ${effect === "stop" ? "stop" : "replace"} this host; name it in ${ALLOW_DISRUPTION} to apply it`;
        pending.push({ ...c, heldBecause });
        effective = restore(effective, c.attribute, d.before);
      } else {
        applied.push({ ...c, effect, ...(resizedByHand(d, c) ? { why: "recorded as resized by hand (Terraform ignores the size of an existing data volume)" } : {}) });
      }
    }
    images[host.name] = pending.some((c) => c.attribute === "image") ? d.before.image : described.hosts[host.name].image;
    const replaces = applied.some((c) => c.effect === "replace");
    const stops = applied.some((c) => c.effect === "stop");
    // A named host may be replaced or stopped in this synth even without a described change: a deliberate
    // re-image (terraform apply -replace) or repair.
    const named = allowedSet.has(host.name);
    const guard: MachineGuard = {
      preventDestroy: protectedGuard(host.roles).preventDestroy && !replaces && !named,
      allowStopping: protectedGuard(host.roles).allowStopping || stops || named,
      // A named GCP host converges to the described image too (also when the record already holds it: a
      // `cdktf deploy` that synthesizes again must still re-image it).
      applyImage: applied.some((c) => c.attribute === "image") || (named && plan.target === "gcp"),
    };
    hosts.push({ ...effective, guard });
    const kind: HostChangeKind | undefined = replaces ? "replaced" : stops ? "stopped" : applied.length > 0 ? "changed" : undefined;
    if (kind || pending.length > 0) changes.push({ host: host.name, roles: host.roles, ...(kind ? { kind } : {}), applied, pending });
  }
  for (const r of removed) changes.push({ host: r.name, roles: r.host.roles, kind: "removed", applied: [], pending: [] });

  const effectivePlan: ClusterPlan = { ...plan, hosts };
  return { plan: effectivePlan, record: machineRecord(effectivePlan, images), hosts: changes, baseline, allowed };
}

/** A host with one attribute back at its recorded value. */
function restore(host: HostPlan, attribute: FieldChange["attribute"], before: MachineRecordHost): HostPlan {
  switch (attribute) {
    case "vcpu":
    case "memoryMiB":
    case "diskGiB":
      return { ...host, [attribute]: before[attribute] };
    case "fqdn":
      return { ...host, fqdn: before.fqdn };
    case "zone":
      return before.zone === null ? host : { ...host, zone: before.zone };
    case "machineType":
      return before.machineType === null ? host : { ...host, machineType: before.machineType };
    case "bootDiskType":
      return before.bootDiskType === null ? host : { ...host, bootDiskType: before.bootDiskType as HostPlan["bootDiskType"] };
    case "etcdDataGiB": {
      if (before.etcdDataGiB !== null) return { ...host, etcdDataGiB: before.etcdDataGiB };
      const { etcdDataGiB: _dropped, ...rest } = host;
      return rest;
    }
    case "address":
      // Held with its MAC (derived from it), so the DHCP reservation stays as it is.
      return { ...host, address: before.address, mac: macForAddress(before.address) };
    default:
      // The image stays ignored (ignore_changes); cluster-wide fields cannot be held (refused above).
      return host;
  }
}

export { MACHINE_RECORD_FILE, describedImage };
