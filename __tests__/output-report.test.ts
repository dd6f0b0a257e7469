/**
 * The topology summary (cdktf.out/topology.md): a host table row per host, the stacks with their state, and a
 * Mermaid diagram in which every etcd member is linked to every other and the API endpoint is shown.
 */
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { parseDescription } from "../src/cluster/load";
import { planCluster } from "../src/cluster/plan";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { writeTopologySummary } from "../src/report/step";
import { MAX_HOSTS_DRAWN_PER_POOL, TOPOLOGY_FILE, topologyMarkdown } from "../src/report/topology";
import { generatedDescription } from "../bench/descriptions";
import { CLUSTERS, planOf, REPO_ROOT, synthesize, type Synthesized } from "./output-support";

jest.setTimeout(60_000);

interface Diagram {
  /** Node label's first line (host name, or "first … last" for a folded pool) -> node id. */
  readonly nodes: Map<string, string>;
  readonly labels: string[];
  /** "a b" for an edge between node ids a and b, with its arrow and label. */
  readonly edges: Array<{ from: string; to: string; arrow: string; label: string }>;
}

function mermaidOf(markdown: string): string {
  const match = /```mermaid\n([\s\S]*?)\n```/.exec(markdown);
  if (!match) throw new Error("no mermaid block");
  return match[1];
}

function parseDiagram(mermaid: string): Diagram {
  const nodes = new Map<string, string>();
  const labels: string[] = [];
  const edges: Diagram["edges"] = [];
  for (const line of mermaid.split("\n")) {
    const node = /^\s+(\w+)(?:\[|\{\{|\(\[)"([^"]*)"/.exec(line);
    if (node && !line.trim().startsWith("subgraph")) {
      nodes.set(node[2].split("<br/>")[0], node[1]);
      labels.push(node[2]);
    }
    const edge = /^\s+(\w+) (<-->|-->|-\.-)(?:\|([^|]*)\|)? (\w+)$/.exec(line);
    if (edge) edges.push({ from: edge[1], arrow: edge[2], label: edge[3] ?? "", to: edge[4] });
  }
  return { nodes, labels, edges };
}

function hostRows(markdown: string, plan: ClusterPlan): string[] {
  return plan.hosts.map((h) => markdown.split("\n").find((l) => l.startsWith(`| ${h.name} | ${h.roles.join(", ")} | ${h.address} |`)) ?? "");
}

describe.each(CLUSTERS)("%s", (cluster) => {
  const plan = planOf(cluster);
  let synthesized: Synthesized;
  let markdown: string;
  beforeAll(() => {
    synthesized = synthesize(plan);
    writeTopologySummary({ plan, outdir: synthesized.outdir });
    markdown = readFileSync(path.join(synthesized.outdir, TOPOLOGY_FILE), "utf8");
  });
  afterAll(() => rmSync(synthesized.outdir, { recursive: true, force: true }));

  test("the written file is the summary of the plan and the synthesized stacks", () => {
    expect(markdown).toBe(topologyMarkdown(plan, synthesized.stacks));
    expect(markdown).toContain(`# Cluster \`${plan.cluster}\``);
    expect(markdown).toContain(plan.sourceFile);
  });

  test("the host table has one row per host with its roles, address, size and target", () => {
    const rows = hostRows(markdown, plan);
    plan.hosts.forEach((h, i) => {
      const row = rows[i];
      expect({ host: h.name, found: row !== "" }).toEqual({ host: h.name, found: true });
      expect(row).toContain(`| ${h.diskGiB} GiB`);
      expect(row.endsWith(`| ${plan.target} |`)).toBe(true);
      if (plan.target === "gcp") {
        expect(row).toContain(`| ${h.machineType} | ${h.zone} |`);
      } else {
        expect(row).toContain(`| ${h.vcpu} | ${h.memoryMiB / 1024} GiB |`);
      }
    });
  });

  test("the stacks table lists every stack in apply order with where its state is kept", () => {
    const lines = markdown.split("\n").filter((l) => synthesized.stacks.some((s) => l.startsWith(`| ${s.id} |`)));
    expect(lines.map((l) => l.split(" | ")[0].slice(2))).toEqual(synthesized.stacks.map((s) => s.id));
    lines.forEach((line, i) => expect(line).toContain(`\`state/${plan.cluster}/${synthesized.stacks[i].id}.tfstate\``));
  });

  test("the diagram draws every host with its address and the API endpoint", () => {
    const diagram = parseDiagram(mermaidOf(markdown));
    expect(mermaidOf(markdown).startsWith("flowchart")).toBe(true);
    for (const h of plan.hosts) expect(diagram.labels).toContain(`${h.name}<br/>${h.address}`);
    expect(diagram.labels.some((l) => l.includes(`${plan.api.address}:${plan.api.port}`))).toBe(true);
    if (plan.target === "gcp") expect(diagram.labels.some((l) => l.startsWith("external API load balancer"))).toBe(true);
  });

  test("every etcd member is linked to every other member, and only members are", () => {
    const diagram = parseDiagram(mermaidOf(markdown));
    const peers = diagram.edges.filter((e) => e.arrow === "<-->");
    const linked = new Set(peers.map((e) => [e.from, e.to].sort().join(" ")));
    const members = plan.etcdMembers.map((m) => diagram.nodes.get(m.name)!);
    expect(members.length).toBeGreaterThan(0);
    for (let i = 0; i < members.length; i++) {
      for (let j = i + 1; j < members.length; j++) expect(linked.has([members[i], members[j]].sort().join(" "))).toBe(true);
    }
    expect(peers).toHaveLength((members.length * (members.length - 1)) / 2);
  });
});

describe("a 100-host cluster", () => {
  const [, yaml] = generatedDescription(REPO_ROOT, "libvirt", 100);
  const plan = planCluster(parseDescription(yaml, "clusters/bench-libvirt-100.yaml").description, "clusters/bench-libvirt-100.yaml");
  const markdown = topologyMarkdown(plan, []);

  test("folds a large pool into one node in the diagram but lists every host in the table", () => {
    const workers = plan.hosts.filter((h) => h.pool === "worker");
    expect(workers.length).toBeGreaterThan(MAX_HOSTS_DRAWN_PER_POOL);
    const diagram = parseDiagram(mermaidOf(markdown));
    expect(diagram.nodes.has(`${workers[0].name} … ${workers[workers.length - 1].name}`)).toBe(true);
    expect(diagram.nodes.has(workers[1].name)).toBe(false);
    expect(hostRows(markdown, plan).filter((r) => r !== "")).toHaveLength(plan.hosts.length);
    expect(markdown).toContain(`## Hosts (${plan.hosts.length})`);
  });
});

describe("libvirt host lines of the summary", () => {
  it("names the bridge to trust, dnsmasq's range and the VMs' total resources (new network)", () => {
    const markdown = topologyMarkdown(planOf("clusters/laptop.yaml"), []);
    expect(markdown).toContain("| host bridge | `k8s-laptop`, dnsmasq's dynamic range 10.242.0.192 to 10.242.0.254 |");
    expect(markdown).toContain("| host resources | 8 vCPU, 8 GiB memory, 80 GiB disk (virtual) for 4 VMs |");
  });

  it("says that libvirt chose the bridge of a network kept from before", () => {
    const markdown = topologyMarkdown(planOf("clusters/local.yaml"), []);
    expect(markdown).toContain("| host bridge | chosen by libvirt (virbrN; `virsh net-info` shows it), dnsmasq's dynamic range the whole subnet (libvirt's default) |");
    expect(markdown).toContain("| host resources | 18 vCPU, 28 GiB memory, 220 GiB disk (virtual) for 10 VMs |");
  });
});
