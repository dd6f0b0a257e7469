/** The GCP network stack: VPC, Cloud NAT, the firewall table, the API addresses and the stack's outputs. */
import { loadCluster } from "../src/cluster/load";
import { parseCidr, overlaps } from "../src/cluster/ipv4";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { changed, planFromObject, REPO_ROOT } from "./helpers/descriptions";
import { named, refTo, resourcesOf, synthGcp, type Json } from "./helpers/gcp-synth";

const EXAMPLE = "clusters/gcp.yaml";
const STACKED = "__tests__/fixtures/gcp-stacked.yaml";
const HEALTH_CHECKERS = ["35.191.0.0/16", "130.211.0.0/22", "209.85.152.0/22", "209.85.204.0/22"];

const plans: Record<string, ClusterPlan> = {
  [EXAMPLE]: loadCluster(EXAMPLE, REPO_ROOT).plan,
  [STACKED]: loadCluster(STACKED, REPO_ROOT).plan,
};

interface Rule {
  readonly name: string;
  readonly protocol: string;
  readonly ports: string[];
  readonly sourceRanges: string[];
  readonly sourceTags: string[];
  readonly targetTags: string[];
  readonly config: Json;
}

function firewallRules(network: Json): Rule[] {
  return resourcesOf(network, "google_compute_firewall").map(([, c]) => {
    if (c.allow?.length !== 1) throw new Error(`firewall rule ${c.name} has ${c.allow?.length ?? 0} allow blocks, expected 1`);
    return {
      name: c.name,
      protocol: c.allow[0].protocol,
      ports: c.allow[0].ports ?? [],
      sourceRanges: c.source_ranges ?? [],
      sourceTags: c.source_tags ?? [],
      targetTags: c.target_tags ?? [],
      config: c,
    };
  });
}

const sorted = (xs: readonly string[]) => [...xs].sort();

describe.each([EXAMPLE, STACKED])("GCP network stack of %s", (file) => {
  const plan = plans[file];
  const gcp = plan.gcp!;
  const c = plan.cluster;
  const { network } = synthGcp(plan);
  const rules = firewallRules(network);
  const rule = (key: string) => {
    const found = rules.find((r) => r.name === `${c}-${key}`);
    if (!found) throw new Error(`no firewall rule ${c}-${key}`);
    return found;
  };

  it("configures one google provider with the description's project and region", () => {
    expect(network.provider.google).toHaveLength(1);
    expect(network.provider.google[0]).toMatchObject({ project: gcp.project, region: gcp.region });
  });

  it("creates a custom-mode VPC and one subnetwork with the node CIDR in the region", () => {
    const vpc = named(network, "google_compute_network", `${c}-net`).config;
    expect(vpc.auto_create_subnetworks).toBe(false);
    const subnets = resourcesOf(network, "google_compute_subnetwork");
    expect(subnets).toHaveLength(1);
    expect(subnets[0][1]).toMatchObject({
      ip_cidr_range: plan.nodeCidr,
      region: gcp.region,
      network: refTo(network, "google_compute_network", `${c}-net`, "id"),
    });
    expect(subnets[0][1].secondary_ip_range).toBeUndefined();
  });

  it("gives the subnetwork Cloud NAT through a Cloud Router in the same region", () => {
    const router = named(network, "google_compute_router", `${c}-router`).config;
    expect(router).toMatchObject({ region: gcp.region, network: refTo(network, "google_compute_network", `${c}-net`, "id") });
    const nat = named(network, "google_compute_router_nat", `${c}-nat`).config;
    expect(nat).toMatchObject({
      region: gcp.region,
      router: refTo(network, "google_compute_router", `${c}-router`, "name"),
      nat_ip_allocate_option: "AUTO_ONLY",
      source_subnetwork_ip_ranges_to_nat: "LIST_OF_SUBNETWORKS",
    });
    expect(nat.subnetwork).toEqual([
      { name: refTo(network, "google_compute_subnetwork", `${c}-nodes`, "id"), source_ip_ranges_to_nat: ["ALL_IP_RANGES"] },
    ]);
  });

  it("has exactly the firewall table: ports, sources and target tags of every rule", () => {
    const t = { etcd: `${c}-etcd`, cp: `${c}-control-plane`, worker: `${c}-worker`, node: `${c}-node` };
    const hosts = sorted([t.etcd, t.cp, t.worker]);
    const table = rules.map((r) => ({
      name: r.name,
      protocol: r.protocol,
      ports: r.ports,
      sourceRanges: sorted(r.sourceRanges),
      sourceTags: sorted(r.sourceTags),
      targetTags: sorted(r.targetTags),
    }));
    const expected = [
      { name: `${c}-ssh-from-admin`, protocol: "tcp", ports: ["22"], sourceRanges: sorted(gcp.adminSourceRanges), sourceTags: [], targetTags: hosts },
      { name: `${c}-api-from-admin`, protocol: "tcp", ports: ["6443"], sourceRanges: sorted(gcp.adminSourceRanges), sourceTags: [], targetTags: [t.cp] },
      { name: `${c}-api-health-checks`, protocol: "tcp", ports: ["6443"], sourceRanges: sorted(HEALTH_CHECKERS), sourceTags: [], targetTags: [t.cp] },
      { name: `${c}-api-from-nodes`, protocol: "tcp", ports: ["6443"], sourceRanges: [], sourceTags: [t.node], targetTags: [t.cp] },
      { name: `${c}-etcd-peer`, protocol: "tcp", ports: ["2380"], sourceRanges: [], sourceTags: [t.etcd], targetTags: [t.etcd] },
      { name: `${c}-etcd-client`, protocol: "tcp", ports: ["2379"], sourceRanges: [], sourceTags: sorted([t.cp, t.etcd]), targetTags: [t.etcd] },
      { name: `${c}-kubelet-from-control-plane`, protocol: "tcp", ports: ["10250"], sourceRanges: [], sourceTags: [t.cp], targetTags: [t.node] },
      { name: `${c}-flannel-vxlan`, protocol: "udp", ports: ["8472"], sourceRanges: [], sourceTags: [t.node], targetTags: [t.node] },
      { name: `${c}-icmp-internal`, protocol: "icmp", ports: [], sourceRanges: [], sourceTags: hosts, targetTags: hosts },
    ];
    expect(sorted(table.map((r) => r.name))).toEqual(sorted(expected.map((r) => r.name)));
    for (const want of expected) expect(table.find((r) => r.name === want.name)).toEqual(want);
  });

  it("makes every rule an ingress allow rule with explicit sources and targets, nothing facing 0.0.0.0/0", () => {
    for (const r of rules) {
      expect(r.config.direction).toBe("INGRESS");
      expect(r.config.deny).toBeUndefined();
      // Compute Engine reads "no sources" as 0.0.0.0/0 and "no targets" as every instance of the network.
      expect(r.sourceRanges.length + r.sourceTags.length).toBeGreaterThan(0);
      expect(r.targetTags.length).toBeGreaterThan(0);
      expect(r.config.target_service_accounts).toBeUndefined();
      for (const range of r.sourceRanges) expect(parseCidr(range)!.prefix).toBeGreaterThan(0);
    }
  });

  it("opens nothing but SSH and the API port to the admin ranges", () => {
    const admin = gcp.adminSourceRanges.map((r) => parseCidr(r)!);
    const facingAdmins = rules.filter((r) => r.sourceRanges.some((range) => admin.some((a) => overlaps(a, parseCidr(range)!))));
    expect(sorted(facingAdmins.map((r) => r.name))).toEqual([`${c}-api-from-admin`, `${c}-ssh-from-admin`]);
    for (const r of facingAdmins) {
      expect(r.protocol).toBe("tcp");
      expect(r.ports.every((p) => p === "22" || p === "6443")).toBe(true);
    }
  });

  it("lets Google's health checkers reach only the API port on control-plane hosts", () => {
    const fromCheckers = rules.filter((r) => r.sourceRanges.some((range) => HEALTH_CHECKERS.includes(range)));
    expect(fromCheckers.map((r) => r.name)).toEqual([`${c}-api-health-checks`]);
    expect(rule("api-health-checks")).toMatchObject({ protocol: "tcp", ports: ["6443"], targetTags: [`${c}-control-plane`] });
  });

  it("keeps etcd's ports closed to workers and to anything outside the cluster", () => {
    const etcdPorts = rules.filter((r) => r.ports.some((p) => p === "2379" || p === "2380"));
    for (const r of etcdPorts) {
      expect(r.sourceRanges).toEqual([]);
      expect(r.sourceTags).not.toContain(`${c}-worker`);
      expect(r.sourceTags).not.toContain(`${c}-node`);
      expect(r.targetTags).toEqual([`${c}-etcd`]);
    }
  });

  it("reserves a regional external API address and the planned internal one on the subnetwork", () => {
    const external = named(network, "google_compute_address", `${c}-api-external`).config;
    expect(external).toMatchObject({ address_type: "EXTERNAL", region: gcp.region });
    expect(external.address).toBeUndefined();
    const internal = named(network, "google_compute_address", `${c}-api-internal`).config;
    expect(internal).toMatchObject({
      address_type: "INTERNAL",
      region: gcp.region,
      address: plan.api.address,
      subnetwork: refTo(network, "google_compute_subnetwork", `${c}-nodes`, "id"),
    });
  });

  it("outputs the network and subnetwork self-links, both API addresses and the operators' API URL", () => {
    const out = network.output;
    expect(out.network_self_link.value).toBe(refTo(network, "google_compute_network", `${c}-net`, "self_link"));
    expect(out.subnetwork_self_link.value).toBe(refTo(network, "google_compute_subnetwork", `${c}-nodes`, "self_link"));
    const external = refTo(network, "google_compute_address", `${c}-api-external`, "address");
    expect(out.api_external_address.value).toBe(external);
    expect(out.api_internal_address.value).toBe(refTo(network, "google_compute_address", `${c}-api-internal`, "address"));
    expect(out.api_url.value).toBe(`https://${external}:6443`);
    expect(out.api_node_url.value).toBe(`https://${plan.api.address}:6443`);
  });
});

describe("GCP network stack: description changes", () => {
  it("opens SSH and the API to exactly the admin ranges the description lists", () => {
    const plan = planFromObject(changed(EXAMPLE, (d) => (d.gcp.adminSourceRanges = ["192.0.2.0/28", "198.51.100.7/32"])));
    const rules = firewallRules(synthGcp(plan).network);
    for (const name of ["gcp-ssh-from-admin", "gcp-api-from-admin"]) {
      expect(sorted(rules.find((r) => r.name === name)!.sourceRanges)).toEqual(["192.0.2.0/28", "198.51.100.7/32"]);
    }
    expect(rules.flatMap((r) => r.sourceRanges)).not.toContain("203.0.113.0/24");
  });

  it("prefixes every name with the cluster name, so two clusters can share a project", () => {
    const plan = planFromObject(changed(EXAMPLE, (d) => (d.name = "blue")));
    const { network } = synthGcp(plan);
    const names = Object.values(network.resource as Record<string, Record<string, Json>>).flatMap((byId) => Object.values(byId).map((r) => r.name as string));
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) expect(name.startsWith("blue-")).toBe(true);
    const tags = firewallRules(network).flatMap((r) => [...r.sourceTags, ...r.targetTags]);
    for (const tag of tags) expect(tag.startsWith("blue-")).toBe(true);
  });

  it("refuses a cluster name Compute Engine cannot use, naming the value", () => {
    // The description check reports this first (cluster-description.test.ts); the constructs guard their own input.
    const valid = planFromObject(changed(EXAMPLE, () => undefined));
    const plan = { ...valid, cluster: "1st-cluster" };
    expect(() => synthGcp(plan)).toThrow(/"1st-cluster-/);
  });
});
