/**
 * The numbers docs/targets.md gives operators before they start: the host resources each libvirt example needs
 * (recomputed from the descriptions' hosts) and the GCP quotas clusters/gcp.yaml needs (recounted from its
 * synthesized network and compute stacks). A description or stack change that moves a number fails here until
 * the docs say the new one.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import { REPO_ROOT } from "./helpers/descriptions";
import { resourcesOf, synthGcp, type Json } from "./helpers/gcp-synth";

const TARGETS = readFileSync(path.join(REPO_ROOT, "docs", "targets.md"), "utf8");

/** The rows (cells, trimmed) of the first table under the heading `### <heading>`. */
function tableUnder(heading: string): string[][] {
  const start = TARGETS.indexOf(`\n### ${heading}\n`);
  expect(start).toBeGreaterThan(-1);
  const section = TARGETS.slice(start + 1).split(/\n#{2,3} /)[0];
  const lines = section.split("\n").filter((l) => l.startsWith("|"));
  return lines.slice(2).map((l) => l.split("|").slice(1, -1).map((c) => c.trim()));
}

describe("docs/targets.md: host resources per example", () => {
  const rows = tableUnder("Host resources per example");
  const files = ["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/laptop.yaml"];

  it("has one row per libvirt example", () => {
    expect(rows.map((r) => r[0])).toEqual(files.map((f) => `\`${f}\``));
  });

  it.each(files)("%s: hosts, vCPU, memory and disk are the sums over its planned hosts", (file) => {
    const hosts = loadCluster(file, REPO_ROOT).plan.hosts;
    const memoryMiB = hosts.reduce((n, h) => n + h.memoryMiB, 0);
    const row = rows.find((r) => r[0] === `\`${file}\``)!;
    expect(row.slice(1)).toEqual([
      String(hosts.length),
      String(hosts.reduce((n, h) => n + h.vcpu, 0)),
      `${memoryMiB / 1024} GiB (${memoryMiB} MiB)`,
      `${hosts.reduce((n, h) => n + h.diskGiB, 0)} GiB`,
    ]);
  });

  it("the laptop example is highly available and leaves a 12 GiB laptop at least 2 GiB of its own", () => {
    const plan = loadCluster("clusters/laptop.yaml", REPO_ROOT).plan;
    expect(plan.etcdMembers).toHaveLength(3);
    expect(plan.hosts.filter((h) => h.runsControlPlane)).toHaveLength(3);
    expect(plan.hosts.filter((h) => h.roles.includes("worker")).length).toBeGreaterThanOrEqual(1);
    expect(plan.hosts.reduce((n, h) => n + h.memoryMiB, 0)).toBeLessThanOrEqual(10 * 1024);
  });
});

describe("docs/targets.md: GCP preflight quotas for clusters/gcp.yaml", () => {
  const { network, compute } = synthGcp(loadCluster("clusters/gcp.yaml", REPO_ROOT).plan);
  const rows = tableUnder("Preflight: quotas");
  const documented = new Map(rows.map((r) => [r[0].replace(/`/g, ""), Number(r[2])]));

  const instances = resourcesOf(compute, "google_compute_instance").map(([, c]) => c);
  const addresses = resourcesOf(network, "google_compute_address").map(([, c]) => c);
  const forwardingRules = resourcesOf(compute, "google_compute_forwarding_rule").map(([, c]) => c);
  const withPublicAddress = instances.filter((i) => (i.network_interface as Json[]).some((n) => (n.access_config ?? []).length > 0));
  const bootDisks = (types: string[]) =>
    instances.filter((i) => types.includes(i.boot_disk.initialize_params.type as string)).reduce((n, i) => n + (i.boot_disk.initialize_params.size as number), 0);

  /** vCPUs a machine type lists; only E2 and N1 types count against CPUS (others have their own metric). */
  function cpusQuotaVcpus(machineType: string): number {
    if (/^e2-(micro|small|medium)$/.test(machineType)) return 2;
    const match = /^(e2|n1)-(standard|highmem|highcpu)-(\d+)$/.exec(machineType);
    if (!match) throw new Error(`machine type ${machineType}: not an E2/N1 type this test knows; extend it and the docs' CPU row`);
    return Number(match[3]);
  }

  const counted: Record<string, number> = {
    IN_USE_ADDRESSES: withPublicAddress.length + addresses.filter((a) => a.address_type === "EXTERNAL").length,
    STATIC_ADDRESSES: addresses.filter((a) => a.address_type === "EXTERNAL").length,
    INTERNAL_ADDRESSES: addresses.filter((a) => a.address_type === "INTERNAL").length,
    CPUS: instances.reduce((n, i) => n + cpusQuotaVcpus(i.machine_type as string), 0),
    SSD_TOTAL_GB: bootDisks(["pd-balanced", "pd-ssd"]),
    DISKS_TOTAL_GB: bootDisks(["pd-standard"]),
    INSTANCES: instances.length,
    INSTANCE_GROUPS: resourcesOf(compute, "google_compute_instance_group").length,
    EXTERNAL_NETWORK_LB_FORWARDING_RULES: forwardingRules.filter((f) => f.load_balancing_scheme === "EXTERNAL").length,
    "internal passthrough forwarding rules": forwardingRules.filter((f) => f.load_balancing_scheme === "INTERNAL").length,
    "regional backend services": resourcesOf(compute, "google_compute_region_backend_service").length,
    "regional health checks": resourcesOf(compute, "google_compute_region_health_check").length,
    FIREWALLS: resourcesOf(network, "google_compute_firewall").length,
    NETWORKS: resourcesOf(network, "google_compute_network").length,
    SUBNETWORKS: resourcesOf(network, "google_compute_subnetwork").length,
    ROUTERS: resourcesOf(network, "google_compute_router").length,
    IMAGES: resourcesOf(compute, "google_compute_image").length,
  };

  it("documents every counted quota, and nothing else", () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(counted).sort());
  });

  it.each(Object.keys(counted))("%s: the documented need is what the synthesized stacks create", (metric) => {
    expect({ metric, needs: documented.get(metric) }).toEqual({ metric, needs: counted[metric] });
  });

  it("counts the 10 regional external addresses the issue found (9 public instances + the API)", () => {
    expect(counted.IN_USE_ADDRESSES).toBe(10);
    // Nothing else in the stacks takes an external address: Cloud NAT allocates only for hosts without one.
    expect(resourcesOf(compute, "google_compute_address")).toEqual([]);
  });

  it("creates no disk besides the boot disks that the disk rows count", () => {
    expect(resourcesOf(compute, "google_compute_disk")).toEqual([]);
    for (const i of instances) expect(i).not.toHaveProperty("attached_disk");
  });
});
