/**
 * The libvirt network's host side (src/cluster/libvirt-network.ts): the per-cluster bridge name, dnsmasq's
 * dynamic range kept clear of the hosts and the VIP, and how an existing network is kept (the committed record)
 * while a new one gets both. Checked on the synthesized network stack, with the stylesheet run by xsltproc on
 * the XML provider 0.8.3 generates, and on the loader's messages.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { makeWorkingCopy, runApp } from "../bench/workcopy";
import { readCommittedNetwork } from "../src/cluster/committed-network";
import { parseIp } from "../src/cluster/ipv4";
import { bridgeNameFor, BRIDGE_NAME, plannedDynamicRange, type CommittedNetwork } from "../src/cluster/libvirt-network";
import { DescriptionError, loadCluster, parseDescription } from "../src/cluster/load";
import { planCluster } from "../src/cluster/plan";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { writeClusterNixFiles } from "../src/nix/emit";
import { changed, exampleObject, problemsOf, REPO_ROOT } from "./helpers/descriptions";
import { resourcesOf, synthLibvirt, type Json } from "./helpers/libvirt-synth";

const LEGACY_KEYS = ["addresses", "autostart", "dhcp", "dns", "domain", "mode", "name"];

function networkOf(plan: ClusterPlan): Json {
  const networks = resourcesOf(synthLibvirt(plan).network, "libvirt_network");
  expect(networks).toHaveLength(1);
  const { "//": _metadata, ...config } = networks[0][1];
  return config;
}

function planWith(object: unknown, committed: CommittedNetwork, file = "clusters/lab.yaml"): { plan: ClusterPlan; warnings: string[] } {
  const { description, warnings } = parseDescription(stringify(object), file, () => committed);
  return { plan: planCluster(description, file, committed), warnings: warnings.map((w) => `${w.path}: ${w.message}`) };
}

/** A new cluster: the laptop example under another name, with no committed files. */
const lab = () => changed("clusters/laptop.yaml", (d) => (d.name = "lab"));

/**
 * The network XML provider 0.8.3 defines for a NAT network before the stylesheet (libvirtxml's marshalling of
 * resource_libvirt_network.go's networkDef): one <range> from the address after the gateway to the one before
 * the broadcast.
 */
function providerNetworkXml(name: string, bridge: string): string {
  return `<network>
  <name>${name}</name>
  <forward mode="nat"></forward>
  <bridge name="${bridge}" stp="on"></bridge>
  <domain name="k8s-laptop.internal" localOnly="yes"></domain>
  <dns enable="yes"></dns>
  <ip address="10.242.0.1" family="ipv4" prefix="24">
    <dhcp>
      <range start="10.242.0.2" end="10.242.0.254"></range>
    </dhcp>
  </ip>
</network>
`;
}

function xsltproc(stylesheet: string, xml: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "xslt-test-"));
  try {
    writeFileSync(path.join(dir, "style.xsl"), stylesheet);
    writeFileSync(path.join(dir, "network.xml"), xml);
    const result = spawnSync("xsltproc", [path.join(dir, "style.xsl"), path.join(dir, "network.xml")], { encoding: "utf8" });
    if (result.error) throw new Error(`xsltproc is needed (Debian package xsltproc, installed by .ci/run): ${result.error.message}`);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    return result.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("bridge name", () => {
  it.each([
    ["local", "k8s-local"],
    ["laptop", "k8s-laptop"],
    ["abcdefghijk", "k8s-abcdefghijk"],
  ])("cluster %s gets bridge %s", (cluster, bridge) => {
    expect(bridgeNameFor(cluster)).toBe(bridge);
  });

  it("shortens a long cluster name to 15 characters with a hash, in a form no short name can take", () => {
    const bridge = bridgeNameFor("local-stacked");
    expect(bridge).toMatch(/^k8s-loca_[0-9a-f]{6}$/);
    expect(bridge).toBe(bridgeNameFor("local-stacked"));
    expect(bridgeNameFor("local-stacked-2")).not.toBe(bridge);
  });

  it("is a valid interface name of at most 15 characters for every name length from 1 to 63, and unique", () => {
    const names = Array.from({ length: 63 }, (_, i) => "c".repeat(i + 1));
    // 200 long names sharing their first characters: only the hash tells them apart.
    for (let i = 0; i < 200; i++) names.push(`cluster-${i}-of-the-lab`);
    const bridges = names.map(bridgeNameFor);
    for (const bridge of bridges) {
      expect(bridge.length).toBeLessThanOrEqual(15);
      expect(bridge).toMatch(BRIDGE_NAME);
    }
    expect(new Set(bridges).size).toBe(names.length);
  });
});

describe("a new cluster's network", () => {
  const { plan, warnings } = planWith(lab(), { kind: "none" });
  const network = networkOf(plan);

  it("loads without warnings", () => {
    expect(warnings).toEqual([]);
  });

  it("sits on the per-cluster bridge", () => {
    expect(network.bridge).toBe("k8s-lab");
  });

  it("gives dnsmasq the top quarter of the subnet, which the stylesheet writes into the provider's XML", () => {
    expect(plannedDynamicRange("10.242.0.0/24")).toEqual({ start: "10.242.0.192", end: "10.242.0.254" });
    const out = xsltproc(network.xml.xslt as string, providerNetworkXml("lab", "k8s-lab"));
    expect([...out.matchAll(/<range [^>]*\/>/g)].map((m) => m[0])).toEqual(['<range start="10.242.0.192" end="10.242.0.254"/>']);
    // Everything else of the provider's XML is kept.
    expect(out).toContain('<bridge name="k8s-lab" stp="on"/>');
    expect(out).toContain('<ip address="10.242.0.1" family="ipv4" prefix="24">');
    expect(out).toContain('<forward mode="nat"/>');
  });

  it("keeps every planned host and the API VIP out of the dynamic range", () => {
    const [start, end] = [parseIp("10.242.0.192")!, parseIp("10.242.0.254")!];
    const reserved = [...plan.hosts.map((h) => h.address), plan.api.address];
    expect(reserved).toContain("10.242.0.2");
    for (const address of reserved) {
      const n = parseIp(address)!;
      expect(n < start || n > end).toBe(true);
    }
  });

  it("is recorded for the next synth, which then keeps it", () => {
    const work = mkdtempSync(path.join(tmpdir(), "network-record-"));
    try {
      mkdirSync(path.join(work, "clusters"));
      writeFileSync(path.join(work, "clusters", "lab.yaml"), stringify(lab()));
      const first = loadCluster("clusters/lab.yaml", work);
      expect(first.warnings).toEqual([]);
      writeClusterNixFiles(path.join(work, "nixos"), first.plan);
      expect(JSON.parse(readFileSync(path.join(work, "nixos/clusters/lab/libvirt-network.json"), "utf8"))).toEqual({
        "//": "generated by cdktf synth from clusters/lab.yaml; do not edit",
        bridge: "k8s-lab",
        dynamicRange: { start: "10.242.0.192", end: "10.242.0.254" },
      });
      const second = loadCluster("clusters/lab.yaml", work);
      expect(second.warnings).toEqual([]);
      expect(networkOf(second.plan)).toEqual(networkOf(first.plan));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

describe("an existing cluster's network is kept", () => {
  it.each(["clusters/local.yaml", "clusters/local-stacked.yaml"])("%s: the committed record keeps libvirt's bridge and range, so nothing forces a new network", (file) => {
    const loaded = loadCluster(file, REPO_ROOT);
    expect(loaded.warnings).toEqual([]);
    const network = networkOf(loaded.plan);
    // Exactly the attributes the network was created with: no bridge, no xml (either would replace it).
    expect(Object.keys(network).sort()).toEqual(LEGACY_KEYS);
    expect(network.dhcp).toEqual({ enabled: true });
  });

  it("a cluster whose committed files predate the record keeps libvirt's defaults too, with a warning naming the way to move", () => {
    const { plan, warnings } = planWith(exampleObject("clusters/local.yaml"), { kind: "unrecorded", indexFile: "nixos/clusters/local/default.nix" }, "clusters/local.yaml");
    expect(Object.keys(networkOf(plan)).sort()).toEqual(LEGACY_KEYS);
    expect(warnings).toEqual([
      "libvirt.network: nixos/clusters/local/default.nix predates per-cluster bridges and DHCP ranges, so this cluster's network keeps libvirt's defaults (bridge libvirt-assigned, dynamicRange whole-subnet; the API VIP stays inside dnsmasq's range) instead of being replaced with every VM; the synth records this in libvirt-network.json next to it (commit it). To move, see docs/targets.md#moving-an-existing-network-to-a-per-cluster-bridge-and-range",
    ]);
    expect(plan.libvirtNetwork?.record).toEqual({ bridge: "libvirt-assigned", dynamicRange: "whole-subnet" });
  });

  it("reads which kind of cluster it is from the repository's committed files", () => {
    expect(readCommittedNetwork(REPO_ROOT, "local")).toEqual({
      kind: "recorded",
      recordFile: "nixos/clusters/local/libvirt-network.json",
      record: { bridge: "libvirt-assigned", dynamicRange: "whole-subnet" },
    });
    expect(readCommittedNetwork(REPO_ROOT, "laptop")).toMatchObject({ kind: "recorded", record: { bridge: "k8s-laptop" } });
    expect(readCommittedNetwork(REPO_ROOT, "no-such-cluster")).toEqual({ kind: "none" });
  });

  it("refuses a damaged record, naming the file and how to restore it, instead of guessing", () => {
    const work = mkdtempSync(path.join(tmpdir(), "network-record-"));
    try {
      cpSync(path.join(REPO_ROOT, "clusters", "local.yaml"), path.join(work, "clusters", "local.yaml"), { recursive: true });
      mkdirSync(path.join(work, "nixos/clusters/local"), { recursive: true });
      writeFileSync(path.join(work, "nixos/clusters/local/libvirt-network.json"), '{"bridge": "virbr0 "}\n');
      expect(() => loadCluster("clusters/local.yaml", work)).toThrow(DescriptionError);
      expect(() => loadCluster("clusters/local.yaml", work)).toThrow(
        "clusters/local.yaml: the cluster description has 1 problem; nothing was synthesized:\n  - libvirt.network: nixos/clusters/local/libvirt-network.json (written by synth: the bridge and DHCP range the cluster's network was created with) is not a valid record; restore it with git checkout -- nixos/clusters/local/libvirt-network.json",
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("opting in moves the network, with a warning that every domain is replaced", () => {
    const recorded: CommittedNetwork = { kind: "recorded", recordFile: "nixos/clusters/local/libvirt-network.json", record: { bridge: "libvirt-assigned", dynamicRange: "whole-subnet" } };
    const optIn = changed("clusters/local.yaml", (d) => (d.libvirt.network = { bridge: "k8s-local", dynamicRange: { start: "10.240.0.192", end: "10.240.0.254" } }));
    const { plan, warnings } = planWith(optIn, recorded, "clusters/local.yaml");
    const network = networkOf(plan);
    expect(network.bridge).toBe("k8s-local");
    expect(network.xml.xslt).toContain('<range start="10.240.0.192" end="10.240.0.254"/>');
    const replaces = "terraform replaces the libvirt network and then every domain of the cluster: all 10 VMs stop at once (their disks stay); see docs/targets.md#moving-an-existing-network-to-a-per-cluster-bridge-and-range";
    expect(warnings).toEqual([
      `libvirt.network.bridge: "k8s-local" differs from the network's current bridge (libvirt-assigned): ${replaces}`,
      `libvirt.network.dynamicRange: 10.240.0.192 to 10.240.0.254 differs from the network's current range (whole-subnet): ${replaces}`,
    ]);
    expect(plan.libvirtNetwork?.record).toEqual({ bridge: "k8s-local", dynamicRange: { start: "10.240.0.192", end: "10.240.0.254" } });
  });

  it("explicit legacy values in the description keep a network whatever the committed files say", () => {
    const pinned = changed("clusters/local.yaml", (d) => (d.libvirt.network = { bridge: "libvirt-assigned", dynamicRange: "whole-subnet" }));
    const { plan, warnings } = planWith(pinned, { kind: "none" }, "clusters/local.yaml");
    expect(warnings).toEqual([]);
    expect(Object.keys(networkOf(plan)).sort()).toEqual(LEGACY_KEYS);
  });
});

describe("validation of the bridge and the range", () => {
  const problems = (change: (d: Record<string, any>) => void) => problemsOf(changed("clusters/laptop.yaml", change));

  it("refuses a bridge name longer than 15 characters", () => {
    expect(problems((d) => (d.libvirt.network = { bridge: "k8s-laptop-cluster" }))).toContain(
      'libvirt.network.bridge: must be a Linux interface name of at most 15 characters (letters, digits, "-", "_", "."), e.g. "k8s-lab", or "libvirt-assigned" (got "k8s-laptop-cluster")',
    );
  });

  it("refuses a range that holds a planned host, naming the pool, the host and the fix", () => {
    expect(problems((d) => (d.libvirt.network = { dynamicRange: { start: "10.242.0.40", end: "10.242.0.60" } }))).toBe(
      "clusters/test.yaml: the cluster description has 1 problem; nothing was synthesized:\n  - pools.worker.addressOffset: host worker-1 (10.242.0.50) lies inside dnsmasq's dynamic range 10.242.0.40 to 10.242.0.60 (libvirt.network.dynamicRange), where dnsmasq may lease its address to another machine; the range is fixed when the network is created, so move the pool's addressOffset (or lower its count) to keep its hosts below 10.242.0.40",
    );
  });

  it("refuses a range that holds the API VIP", () => {
    expect(problems((d) => (d.libvirt.network = { dynamicRange: { start: "10.242.0.2", end: "10.242.0.10" } }))).toContain(
      "network.apiAddress: the API VIP 10.242.0.2 lies inside dnsmasq's dynamic range 10.242.0.2 to 10.242.0.10 (libvirt.network.dynamicRange), where dnsmasq may lease it to another machine; pick a VIP outside it",
    );
  });

  it("refuses a pool that grows into the default range, which a pool change must never move", () => {
    expect(problems((d) => (d.pools.worker.count = 150))).toContain(
      "pools.worker.addressOffset: host worker-143 (10.242.0.192) (and 7 more hosts) lies inside dnsmasq's dynamic range 10.242.0.192 to 10.242.0.254 (libvirt.network.dynamicRange (default: the top quarter of network.nodeCidr 10.242.0.0/24))",
    );
  });

  it("refuses a range with too few addresses, and a subnet too small for the default one", () => {
    expect(problems((d) => (d.libvirt.network = { dynamicRange: { start: "10.242.0.200", end: "10.242.0.202" } }))).toContain(
      "libvirt.network.dynamicRange: libvirt.network.dynamicRange is 10.242.0.200 to 10.242.0.202, only 3 addresses; dnsmasq needs at least 4: use a /27 or wider nodeCidr, or set libvirt.network.dynamicRange to { start, end } clear of the hosts",
    );
    const small = problems((d) => {
      d.network.nodeCidr = "10.242.0.0/28";
      d.network.apiAddress = "10.242.0.2";
      d.pools.controlPlane.addressOffset = 3;
      d.pools.worker.addressOffset = 6;
    });
    expect(small).toContain(
      "network.nodeCidr: libvirt.network.dynamicRange (default: the top quarter of network.nodeCidr 10.242.0.0/28) is 10.242.0.12 to 10.242.0.14, only 3 addresses; dnsmasq needs at least 4",
    );
  });

  it("refuses a range outside the subnet's usable addresses, or backwards", () => {
    for (const range of [
      { start: "10.242.0.250", end: "10.242.0.255" },
      { start: "10.242.0.1", end: "10.242.0.9" },
      { start: "10.242.0.230", end: "10.242.0.220" },
      { start: "10.243.0.10", end: "10.243.0.20" },
    ]) {
      expect(problems((d) => (d.libvirt.network = { dynamicRange: range }))).toContain(
        `libvirt.network.dynamicRange: ${range.start} to ${range.end} is not a range of usable addresses of network.nodeCidr 10.242.0.0/24: start and end must lie from 10.242.0.2 to 10.242.0.254, start first`,
      );
    }
  });

  it("refuses a malformed range, saying both accepted forms", () => {
    expect(problems((d) => (d.libvirt.network = { dynamicRange: "10.242.0.200-10.242.0.250" }))).toContain(
      'libvirt.network.dynamicRange: must be { start: <address>, end: <address> } inside network.nodeCidr, or "whole-subnet"',
    );
  });
});

describe("main.ts on a checkout whose local cluster files predate the record (an upgraded existing cluster)", () => {
  jest.setTimeout(120_000);
  const copy = mkdtempSync(path.join(tmpdir(), "network-upgrade-"));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it("keeps the network, warns once on stderr, writes the record, and is quiet on the next synth", async () => {
    makeWorkingCopy(copy);
    rmSync(path.join(copy, "nixos/clusters/local/libvirt-network.json"));
    const first = await runApp(copy, { cluster: "clusters/local.yaml" });
    expect(first.status).toBe(0);
    expect(first.stderr).toContain(
      "warning: clusters/local.yaml: libvirt.network: nixos/clusters/local/default.nix predates per-cluster bridges and DHCP ranges, so this cluster's network keeps libvirt's defaults",
    );
    const network = JSON.parse(readFileSync(path.join(copy, "cdktf.out/stacks/network/cdk.tf.json"), "utf8")) as Json;
    const [, config] = resourcesOf(network, "libvirt_network")[0];
    expect(config).not.toHaveProperty("bridge");
    expect(config).not.toHaveProperty("xml");
    // The record written is the committed one, byte for byte.
    expect(readFileSync(path.join(copy, "nixos/clusters/local/libvirt-network.json"), "utf8")).toBe(
      readFileSync(path.join(REPO_ROOT, "nixos/clusters/local/libvirt-network.json"), "utf8"),
    );
    const second = await runApp(copy, { cluster: "clusters/local.yaml" });
    expect(second.status).toBe(0);
    expect(second.stderr).not.toContain("libvirt.network");
  });
});
