/**
 * The topology summary for reviewers: a Markdown page with the cluster's hosts, its stacks and a Mermaid
 * diagram of the hosts, the API endpoint and the etcd members. Pure: plan and synthesized stacks in, text out.
 */
import * as path from "node:path";
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from "../cluster/plan";
import type { ClusterPlan, HostPlan } from "../cluster/plan-types";
import type { PoolName } from "../cluster/schema";
import type { SynthesizedStack } from "../export/manifest";

/** File name inside the cdktf output directory. */
export const TOPOLOGY_FILE = "topology.md";
/** Pools with more hosts than this are drawn as one node (the host table still lists every host). */
export const MAX_HOSTS_DRAWN_PER_POOL = 12;

const POOL_TITLES: Record<PoolName, string> = {
  loadBalancer: "load balancers",
  etcd: "etcd",
  controlPlane: "control plane",
  worker: "workers",
};
const POOLS: readonly PoolName[] = ["loadBalancer", "etcd", "controlPlane", "worker"];

export function formatMiB(mib: number): string {
  if (mib < 1024) return `${mib} MiB`;
  const gib = mib / 1024;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
}

function row(cells: readonly (string | number)[]): string {
  return `| ${cells.map((c) => String(c).replace(/\|/g, "\\|")).join(" | ")} |`;
}

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string[] {
  return [row(header), row(header.map(() => "---")), ...rows.map(row)];
}

function code(text: string): string {
  return `\`${text}\``;
}

function hostsOf(plan: ClusterPlan, pool: PoolName): HostPlan[] {
  return plan.hosts.filter((h) => h.pool === pool);
}

/** How the API endpoint is served, in words. */
export function apiHolders(plan: ClusterPlan): string {
  if (plan.target === "gcp") return "GCP pass-through load balancers (internal for nodes, external for operators)";
  const holders = plan.hosts.filter((h) => h.runsLoadBalancer);
  if (holders.length > 0) return `VIP held by keepalived on ${holders.map((h) => h.name).join(", ")} (haproxy to the control plane)`;
  return `VIP held by keepalived on the control-plane hosts ${hostsOf(plan, "controlPlane").map((h) => h.name).join(", ")}`;
}

function backendLine(plan: ClusterPlan): string {
  const b = plan.backend;
  if (b.type === "gcs") {
    return `GCS bucket ${code(b.bucket)}, one object per stack (locking${b.kmsEncryptionKey ? ", Cloud KMS encryption" : ""}); state holds private keys`;
  }
  return "local files, git-ignored; state holds private keys";
}

/** Where a synthesized stack keeps its state, read from its backend block. */
export function stateLocation(stack: SynthesizedStack): string {
  const backend = (stack.json.terraform as { backend?: Record<string, Record<string, unknown>> } | undefined)?.backend ?? {};
  const [type, config] = Object.entries(backend)[0] ?? ["local", {}];
  if (type === "local") {
    // Relative to the stack's working directory, cdktf.out/<workingDirectory>; shown from the repository root.
    const file = typeof config.path === "string" ? config.path : "terraform.tfstate";
    return code(file.startsWith("/") ? file : path.posix.normalize(`cdktf.out/${stack.workingDirectory}/${file}`));
  }
  if (type === "gcs") return code(`gs://${String(config.bucket)}/${String(config.prefix)}/default.tfstate`);
  return `${type} backend`;
}

function summary(plan: ClusterPlan): string[] {
  const placement =
    plan.target === "gcp" && plan.gcp
      ? `gcp, project ${code(plan.gcp.project)}, region ${plan.gcp.region} (zones ${plan.gcp.zones.join(", ")})`
      : `libvirt ${code(plan.libvirt?.uri ?? "")}`;
  const external = plan.api.externalAddressAtApply ? "; operators use the external address assigned at apply" : "";
  return table(
    ["cluster", code(plan.cluster)],
    [
      ["target", placement],
      ["topology", `${plan.topology} (${plan.etcdMembers.length} etcd member${plan.etcdMembers.length === 1 ? "" : "s"})`],
      ["Kubernetes", plan.kubernetesVersion],
      ["API endpoint", `${code(plan.api.nodeUrl)}: ${apiHolders(plan)}${external}`],
      ["node network", `${plan.nodeCidr}, gateway ${plan.gateway}, domain ${code(plan.hostDomain)}`],
      ["pods / services", `${plan.podCidr} (/${plan.nodePodCidrPrefix} per node) / ${plan.serviceCidr} (DNS ${plan.dnsServiceIp})`],
      ...libvirtLines(plan),
      ["state", backendLine(plan)],
    ],
  );
}

/** libvirt: the host bridge to trust in the host firewall, dnsmasq's range, and what the VMs take from the host. */
function libvirtLines(plan: ClusterPlan): Array<[string, string]> {
  const network = plan.libvirtNetwork;
  if (plan.target !== "libvirt" || !network) return [];
  const bridge = network.bridge ? code(network.bridge) : "chosen by libvirt (virbrN; `virsh net-info` shows it)";
  const range = network.dynamicRange ? `${network.dynamicRange.start} to ${network.dynamicRange.end}` : "the whole subnet (libvirt's default)";
  const sum = (f: (h: ClusterPlan["hosts"][number]) => number) => plan.hosts.reduce((n, h) => n + f(h), 0);
  return [
    ["host bridge", `${bridge}, dnsmasq's dynamic range ${range}`],
    ["host resources", `${sum((h) => h.vcpu)} vCPU, ${formatMiB(sum((h) => h.memoryMiB))} memory, ${sum((h) => h.diskGiB)} GiB disk (virtual) for ${plan.hosts.length} VMs`],
  ];
}

function hostTable(plan: ClusterPlan): string[] {
  if (plan.target === "gcp") {
    const disk = plan.gcp?.bootDiskType ?? "";
    return table(
      ["host", "roles", "address", "machine type", "zone", "disk", "target"],
      plan.hosts.map((h) => [h.name, h.roles.join(", "), h.address, h.machineType ?? "", h.zone ?? "", `${h.diskGiB} GiB ${disk}`.trim(), plan.target]),
    );
  }
  return table(
    ["host", "roles", "address", "vCPU", "memory", "disk", "target"],
    plan.hosts.map((h) => [h.name, h.roles.join(", "), h.address, h.vcpu, formatMiB(h.memoryMiB), `${h.diskGiB} GiB`, plan.target]),
  );
}

function countByType(block: unknown): Array<[string, number]> {
  if (typeof block !== "object" || block === null) return [];
  return Object.entries(block as Record<string, unknown>)
    .map(([type, named]): [string, number] => [type, typeof named === "object" && named !== null ? Object.keys(named).length : 0])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function stackTable(stacks: readonly SynthesizedStack[]): string[] {
  return table(
    ["stack", "depends on", "state", "resources", "data sources", "outputs"],
    stacks.map((s) => {
      const resources = countByType(s.json.resource);
      const data = countByType(s.json.data);
      const outputs = typeof s.json.output === "object" && s.json.output !== null ? Object.keys(s.json.output).length : 0;
      const list = (counts: Array<[string, number]>) => (counts.length === 0 ? "none" : counts.map(([t, n]) => `${t} ×${n}`).join(", "));
      return [s.id, s.dependsOn.length === 0 ? "none" : s.dependsOn.join(", "), stateLocation(s), list(resources), list(data), outputs];
    }),
  );
}

const nodeId = (host: string): string => `h_${host.replace(/[^A-Za-z0-9]/g, "_")}`;
const poolId = (pool: PoolName): string => `pool_${pool}`;

/** The Mermaid flowchart (without the fence). */
export function mermaidDiagram(plan: ClusterPlan): string[] {
  const lines = ["flowchart TB", '  operators(["operators: kubectl"])'];
  const drawn = new Set<string>();
  const members = new Set(plan.etcdMembers.map((m) => m.name));
  const stacked = plan.topology === "stacked";

  if (plan.target === "gcp") {
    lines.push(`  api{{"internal API load balancer<br/>${plan.api.address}:${plan.api.port}"}}`);
    lines.push(`  api_external{{"external API load balancer<br/>address assigned at apply, port ${plan.api.port}"}}`);
  } else {
    lines.push(`  api{{"API VIP<br/>${plan.api.address}:${plan.api.port}"}}`);
  }

  for (const pool of POOLS) {
    const hosts = hostsOf(plan, pool);
    if (hosts.length === 0) continue;
    const title = pool === "controlPlane" && stacked ? "control plane + etcd (stacked)" : POOL_TITLES[pool];
    lines.push(`  subgraph ${poolId(pool)}["${title}"]`);
    if (hosts.length > MAX_HOSTS_DRAWN_PER_POOL) {
      const first = hosts[0];
      const last = hosts[hosts.length - 1];
      lines.push(`    ${poolId(pool)}_hosts["${first.name} … ${last.name}<br/>${hosts.length} hosts, ${first.address} … ${last.address}"]`);
    } else {
      for (const h of hosts) {
        lines.push(`    ${nodeId(h.name)}["${h.name}<br/>${h.address}"]`);
        drawn.add(h.name);
      }
    }
    lines.push("  end");
  }

  const has = (pool: PoolName) => hostsOf(plan, pool).length > 0;
  if (plan.target === "gcp") {
    lines.push("  operators --> api_external");
    lines.push(`  api_external -->|${plan.api.port}| ${poolId("controlPlane")}`);
    lines.push(`  api -->|${plan.api.port}| ${poolId("controlPlane")}`);
  } else if (has("loadBalancer")) {
    lines.push("  operators --> api");
    lines.push(`  api -.-|keepalived VIP| ${poolId("loadBalancer")}`);
    lines.push(`  ${poolId("loadBalancer")} -->|haproxy ${plan.api.port}| ${poolId("controlPlane")}`);
  } else {
    lines.push("  operators --> api");
    lines.push(`  api -.-|keepalived VIP| ${poolId("controlPlane")}`);
  }
  if (has("etcd")) lines.push(`  ${poolId("controlPlane")} -->|etcd clients ${ETCD_CLIENT_PORT}| ${poolId("etcd")}`);
  if (has("worker")) lines.push(`  ${poolId("worker")} -->|kubelet ${plan.api.port}| api`);

  const drawnMembers = plan.etcdMembers.filter((m) => drawn.has(m.name));
  if (drawnMembers.length === members.size) {
    for (let i = 0; i < drawnMembers.length; i++) {
      for (let j = i + 1; j < drawnMembers.length; j++) {
        lines.push(`  ${nodeId(drawnMembers[i].name)} <-->|etcd peers ${ETCD_PEER_PORT}| ${nodeId(drawnMembers[j].name)}`);
      }
    }
  }
  return lines;
}

/** The whole page. `stacks` in apply order, as read from the output directory. */
export function topologyMarkdown(plan: ClusterPlan, stacks: readonly SynthesizedStack[]): string {
  const lines = [
    `# Cluster \`${plan.cluster}\`: topology`,
    "",
    `Generated by \`cdktf synth\` from \`${plan.sourceFile}\`. Review this page, then the stacks' JSON.`,
    "",
    ...summary(plan),
    "",
    `## Hosts (${plan.hosts.length})`,
    "",
    ...hostTable(plan),
    "",
    "## Stacks, in apply order",
    "",
    ...stackTable(stacks),
    "",
    "## Diagram",
    "",
    "```mermaid",
    ...mermaidDiagram(plan),
    "```",
    "",
  ];
  return lines.join("\n");
}
