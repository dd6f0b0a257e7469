/**
 * The libvirt target as terraform will see it: the synthesized network and compute stacks of the example
 * clusters, checked attribute by attribute against what the descriptions say.
 */
import { readFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import { changed, planFromObject, REPO_ROOT } from "./helpers/descriptions";
import { allStrings, named, ref, resourceAddresses, resourcesOf, synthLibvirt, type Json } from "./helpers/libvirt-synth";

const GIB = 1024 ** 3;

interface ExpectedHost {
  readonly name: string;
  readonly address: string;
  readonly mac: string;
  readonly vcpu: number;
  readonly memory: number;
  readonly diskGiB: number;
}

interface ExpectedCluster {
  readonly file: string;
  readonly cluster: string;
  readonly cidr: string;
  readonly domain: string;
  readonly vip: string;
  readonly poolPath: string;
  /** The base volume's source as terraform reads it from cdktf.out/stacks/compute (three levels below the root). */
  readonly imageSource: string;
  readonly hosts: readonly ExpectedHost[];
  /**
   * The host bridge and dnsmasq's dynamic range; absent for the two clusters whose networks predate them
   * (recorded in nixos/clusters/<cluster>/libvirt-network.json): the attributes stay as they were.
   */
  readonly bridge?: string;
  readonly dynamicRange?: { readonly start: string; readonly end: string };
}

const host = (name: string, address: string, mac: string, vcpu: number, memory: number, diskGiB: number): ExpectedHost => ({ name, address, mac, vcpu, memory, diskGiB });

/** Read off the example descriptions and their comments by hand: what an operator expects to get. */
const EXAMPLES: readonly ExpectedCluster[] = [
  {
    file: "clusters/local.yaml",
    imageSource: "../../../nixos/result-libvirt/nixos.qcow2",
    cluster: "local",
    cidr: "10.240.0.0/24",
    domain: "k8s.internal",
    vip: "10.240.0.2",
    poolPath: "/var/lib/libvirt/pools/k8s-local",
    hosts: [
      host("lb-1", "10.240.0.5", "52:54:00:f0:00:05", 1, 1024, 10),
      host("lb-2", "10.240.0.6", "52:54:00:f0:00:06", 1, 1024, 10),
      host("etcd-1", "10.240.0.10", "52:54:00:f0:00:0a", 2, 2048, 20),
      host("etcd-2", "10.240.0.11", "52:54:00:f0:00:0b", 2, 2048, 20),
      host("etcd-3", "10.240.0.12", "52:54:00:f0:00:0c", 2, 2048, 20),
      host("cp-1", "10.240.0.20", "52:54:00:f0:00:14", 2, 4096, 20),
      host("cp-2", "10.240.0.21", "52:54:00:f0:00:15", 2, 4096, 20),
      host("cp-3", "10.240.0.22", "52:54:00:f0:00:16", 2, 4096, 20),
      host("worker-1", "10.240.0.50", "52:54:00:f0:00:32", 2, 4096, 40),
      host("worker-2", "10.240.0.51", "52:54:00:f0:00:33", 2, 4096, 40),
    ],
  },
  {
    file: "clusters/local-stacked.yaml",
    imageSource: "../../../nixos/result-local-stacked/nixos.qcow2",
    cluster: "local-stacked",
    cidr: "10.241.0.0/24",
    domain: "k8s-stacked.internal",
    vip: "10.241.0.2",
    poolPath: "/var/lib/libvirt/pools/k8s-local-stacked",
    hosts: [
      host("cp-1", "10.241.0.20", "52:54:00:f1:00:14", 2, 4096, 30),
      host("cp-2", "10.241.0.21", "52:54:00:f1:00:15", 2, 4096, 30),
      host("cp-3", "10.241.0.22", "52:54:00:f1:00:16", 2, 4096, 30),
      host("worker-1", "10.241.0.50", "52:54:00:f1:00:32", 2, 4096, 40),
      host("worker-2", "10.241.0.51", "52:54:00:f1:00:33", 2, 4096, 40),
    ],
  },
  {
    file: "clusters/laptop.yaml",
    imageSource: "../../../nixos/result-laptop/nixos.qcow2",
    cluster: "laptop",
    cidr: "10.242.0.0/24",
    domain: "k8s-laptop.internal",
    vip: "10.242.0.2",
    poolPath: "/var/lib/libvirt/pools/k8s-laptop",
    hosts: [
      host("cp-1", "10.242.0.20", "52:54:00:f2:00:14", 2, 2048, 20),
      host("cp-2", "10.242.0.21", "52:54:00:f2:00:15", 2, 2048, 20),
      host("cp-3", "10.242.0.22", "52:54:00:f2:00:16", 2, 2048, 20),
      host("worker-1", "10.242.0.50", "52:54:00:f2:00:32", 2, 2048, 20),
    ],
    bridge: "k8s-laptop",
    dynamicRange: { start: "10.242.0.192", end: "10.242.0.254" },
  },
];


const REMOTE_STATE_OUTPUT = /^\$\{data\.terraform_remote_state\.([^.]+)\.outputs\.([^}]+)\}$/;

describe.each(EXAMPLES)("libvirt target, $file", (expected) => {
  const { network, compute } = synthLibvirt(loadCluster(expected.file, REPO_ROOT).plan);

  describe("provider", () => {
    it.each(["network", "compute"])("the %s stack has one libvirt connection, to qemu:///system", (id) => {
      const stack = id === "network" ? network : compute;
      expect(stack.provider.libvirt).toEqual([{ uri: "qemu:///system" }]);
    });

    it.each(["network", "compute"])("the %s stack requires dmacvicar/libvirt exactly 0.8.3 (never the 0.9 rewrite)", (id) => {
      const stack = id === "network" ? network : compute;
      const requirement = stack.terraform.required_providers.libvirt as Json;
      expect(Object.keys(requirement).sort()).toEqual(["source", "version"]);
      expect(requirement.version).toBe("0.8.3");
      // Terraform reads "dmacvicar/libvirt" as "registry.terraform.io/dmacvicar/libvirt": either spelling names it.
      expect(["dmacvicar/libvirt", "registry.terraform.io/dmacvicar/libvirt"]).toContain(requirement.source);
    });
  });

  describe("network stack", () => {
    const networks = resourcesOf(network, "libvirt_network");

    it("has exactly one libvirt network, a NAT network named after the cluster on the node subnet", () => {
      expect(networks).toHaveLength(1);
      const [, config] = networks[0];
      expect(config).toMatchObject({
        name: expected.cluster,
        mode: "nat",
        addresses: [expected.cidr],
        domain: expected.domain,
        autostart: true,
        dhcp: { enabled: true },
      });
    });

    it(expected.bridge ? `puts the network on host bridge ${expected.bridge}` : "leaves the bridge name to libvirt, as when the network was created", () => {
      const [, config] = networks[0];
      if (expected.bridge) expect(config.bridge).toBe(expected.bridge);
      else expect(config).not.toHaveProperty("bridge");
    });

    it(
      expected.dynamicRange
        ? `narrows dnsmasq's dynamic range to ${expected.dynamicRange.start}-${expected.dynamicRange.end} through the network's XSLT`
        : "keeps libvirt's own DHCP range (no XSLT), as when the network was created",
      () => {
        const [, config] = networks[0];
        if (!expected.dynamicRange) {
          expect(config).not.toHaveProperty("xml");
          return;
        }
        expect(config.xml.xslt).toContain(`<range start="${expected.dynamicRange.start}" end="${expected.dynamicRange.end}"/>`);
      },
    );

    it("serves the hosts' domain locally, with a record for every host (short and FQDN) and the API VIP", () => {
      const dns = networks[0][1].dns as Json;
      expect(dns.enabled).toBe(true);
      expect(dns.local_only).toBe(true);
      const wanted = [...expected.hosts.map((h) => [h.name, h.address] as const), ["api", expected.vip] as const].flatMap(([name, ip]) => [
        { hostname: name, ip },
        { hostname: `${name}.${expected.domain}`, ip },
      ]);
      expect([...(dns.hosts as Json[])].sort(byHostname)).toEqual(wanted.sort(byHostname));
    });

    it("outputs the network's id, name and host bridge under fixed names, for `terraform output`", () => {
      const [networkId] = networks[0];
      expect(network.output.network_id.value).toBe(ref("libvirt_network", networkId, "id"));
      expect(network.output.network_name.value).toBe(expected.cluster);
      expect(network.output.bridge.value).toBe(ref("libvirt_network", networkId, "bridge"));
      for (const name of ["network_id", "network_name", "bridge"]) expect(network.output[name].description).toMatch(/libvirt network/);
    });

    it("has no resources but the network", () => {
      expect(Object.keys(network.resource)).toEqual(["libvirt_network"]);
    });
  });

  describe("compute stack", () => {
    it("has the cluster's own dir pool at the description's pool path (never the 'default' pool)", () => {
      const pools = resourcesOf(compute, "libvirt_pool");
      expect(pools).toHaveLength(1);
      expect(pools[0][1]).toMatchObject({ name: expected.cluster, type: "dir", target: { path: expected.poolPath } });
    });

    it("uploads the NixOS image once, as a qcow2 base volume in that pool, from a path relative to the stack", () => {
      const [poolId] = resourcesOf(compute, "libvirt_pool")[0];
      const base = named(compute, "libvirt_volume", `${expected.cluster}-base.qcow2`).config;
      expect(base).toMatchObject({ pool: ref("libvirt_pool", poolId, "name"), source: expected.imageSource, format: "qcow2" });
      expect(base).not.toHaveProperty("size");
      expect(base).not.toHaveProperty("base_volume_id");
    });

    it("never replaces the base volume (and so every disk and VM) when the image path changes", () => {
      const base = named(compute, "libvirt_volume", `${expected.cluster}-base.qcow2`).config;
      expect(base.lifecycle.ignore_changes).toContain("source");
    });

    it(`has ${expected.hosts.length} disks: a qcow2 overlay per host on the base volume, sized per role`, () => {
      const [poolId] = resourcesOf(compute, "libvirt_pool")[0];
      const baseId = named(compute, "libvirt_volume", `${expected.cluster}-base.qcow2`).id;
      expect(resourcesOf(compute, "libvirt_volume")).toHaveLength(expected.hosts.length + 1);
      for (const h of expected.hosts) {
        const disk = named(compute, "libvirt_volume", `${expected.cluster}-${h.name}.qcow2`);
        expect(disk.config).toMatchObject({
          pool: ref("libvirt_pool", poolId, "name"),
          base_volume_id: ref("libvirt_volume", baseId, "id"),
          format: "qcow2",
          size: h.diskGiB * GIB,
        });
        expect(disk.config).not.toHaveProperty("source");
        expect(disk.config["//"].metadata.path).toBe(`compute/compute/disk-${h.name}`);
      }
    });

    it(`has ${expected.hosts.length} domains, one per planned host, named <cluster>-<host>`, () => {
      const names = resourcesOf(compute, "libvirt_domain").map(([, c]) => c.name as string);
      expect(names.sort()).toEqual(expected.hosts.map((h) => `${expected.cluster}-${h.name}`).sort());
    });

    it.each(expected.hosts.map((h) => [h.name, h] as const))("domain of %s: size, disk, NIC with the planned MAC and address, console, autostart", (_name, h) => {
      const domain = named(compute, "libvirt_domain", `${expected.cluster}-${h.name}`);
      const diskId = named(compute, "libvirt_volume", `${expected.cluster}-${h.name}.qcow2`).id;
      expect(domain.config["//"].metadata.path).toBe(`compute/compute/domain-${h.name}`);
      expect(domain.config).toMatchObject({ type: "kvm", vcpu: h.vcpu, memory: h.memory, autostart: true, qemu_agent: false });
      expect(domain.config.disk).toEqual([{ volume_id: ref("libvirt_volume", diskId, "id") }]);
      expect(domain.config.network_interface).toHaveLength(1);
      expect(domain.config.network_interface[0]).toMatchObject({ mac: h.mac, hostname: h.name, addresses: [h.address], wait_for_lease: true });
      expect(domain.config.console).toEqual([{ type: "pty", target_port: "0", target_type: "serial" }]);
      expect(domain.config.cpu).toEqual({ mode: "host-passthrough" });
      expect(domain.config).not.toHaveProperty("running");
    });

    it("makes every domain headless: no graphics block, and an XSLT that drops the display 0.8.3 always adds", () => {
      for (const [, config] of resourcesOf(compute, "libvirt_domain")) {
        expect(config).not.toHaveProperty("graphics");
        expect(config).not.toHaveProperty("video");
        const xslt = config.xml.xslt as string;
        expect(xslt).toMatch(/^<\?xml version="1\.0"/);
        expect(xslt).toContain('<xsl:template match="/domain/devices/graphics"/>');
        // The identity template keeps everything else of the provider's XML.
        expect(xslt).toContain('<xsl:template match="@*|node()">');
      }
    });

    it("attaches every domain to the network stack's libvirt network by id, through remote state", () => {
      const [networkId] = resourcesOf(network, "libvirt_network")[0];
      for (const [, config] of resourcesOf(compute, "libvirt_domain")) {
        const match = REMOTE_STATE_OUTPUT.exec(config.network_interface[0].network_id as string);
        expect(match).not.toBeNull();
        const remote = compute.data.terraform_remote_state[match![1]] as Json;
        expect(remote.config.path).toBe(`../../../state/${expected.cluster}/network.tfstate`);
        expect(network.output[match![2]].value).toBe(ref("libvirt_network", networkId, "id"));
      }
    });

    it("replaces every domain when the network is replaced (0.8.3 would only record the new network_id in state)", () => {
      const attachments = resourcesOf(compute, "terraform_data");
      expect(attachments).toHaveLength(1);
      const [attachmentId, attachment] = attachments[0];
      const domains = resourcesOf(compute, "libvirt_domain");
      const networkIds = [...new Set(domains.map(([, config]) => config.network_interface[0].network_id as string))];
      expect(networkIds).toHaveLength(1);
      expect(attachment.input).toEqual({ network_id: networkIds[0] });
      for (const [, config] of domains) {
        // Terraform JSON takes plain resource addresses here; an interpolation ("${...}") fails at `terraform init`.
        expect(config.lifecycle).toEqual({ replace_triggered_by: [`terraform_data.${attachmentId}`] });
      }
      // Disks (the hosts' data), the base volume and the pool stay.
      for (const type of ["libvirt_volume", "libvirt_pool"]) {
        for (const [, config] of resourcesOf(compute, type)) expect(config.lifecycle?.replace_triggered_by).toBeUndefined();
      }
    });

    it("outputs every host's planned address as the address deploy-rs connects to", () => {
      const hosts = compute.output.hosts.value as Json;
      for (const h of expected.hosts) expect(hosts[h.name]).toMatchObject({ address: h.address, ssh_address: h.address });
    });
  });

  it("holds no path of this machine: the image path is relative; the only absolute path is the pool on the libvirt host", () => {
    const strings = [...allStrings(network), ...allStrings(compute)];
    for (const local of [REPO_ROOT, tmpdir(), homedir()]) expect(strings.filter((s) => s.includes(local))).toEqual([]);
    expect(strings.filter((s) => s.startsWith("/"))).toEqual([expected.poolPath]);
  });
});

describe("libvirt target, description settings", () => {
  it("uses the description's remote URI for the one connection of each stack", () => {
    const plan = planFromObject(changed("clusters/local.yaml", (d) => (d.libvirt.uri = "qemu+ssh://ops@virt-1.example.net/system?keyfile=id_ed25519")));
    const { network, compute } = synthLibvirt(plan);
    for (const stack of [network, compute]) expect(stack.provider.libvirt).toEqual([{ uri: "qemu+ssh://ops@virt-1.example.net/system?keyfile=id_ed25519" }]);
  });

  it("emulates with domain type qemu, keeping QEMU's default CPU model", () => {
    const plan = planFromObject(changed("clusters/local.yaml", (d) => (d.libvirt.domainType = "qemu")));
    const { compute } = synthLibvirt(plan);
    for (const [, config] of resourcesOf(compute, "libvirt_domain")) {
      expect(config.type).toBe("qemu");
      expect(config).not.toHaveProperty("cpu");
    }
  });

  it.each([
    ["images/nixos.qcow2", "../../../images/nixos.qcow2"],
    ["./nixos/../images/k8s.qcow2", "../../../images/k8s.qcow2"],
    ["/srv/images/nixos.qcow2", "/srv/images/nixos.qcow2"],
    ["https://images.example.net/nixos.qcow2", "https://images.example.net/nixos.qcow2"],
  ])("reads baseImage %s as %s from the compute stack's directory", (baseImage, source) => {
    const plan = planFromObject(changed("clusters/local.yaml", (d) => (d.libvirt.baseImage = baseImage)));
    const { compute } = synthLibvirt(plan);
    expect(named(compute, "libvirt_volume", "local-base.qcow2").config.source).toBe(source);
  });

  it("changes nothing but the ignored base-image source when the image path changes", () => {
    const before = synthLibvirt(loadCluster("clusters/local.yaml", REPO_ROOT).plan).compute;
    const after = synthLibvirt(planFromObject(changed("clusters/local.yaml", (d) => (d.libvirt.baseImage = "images/other.qcow2")), "clusters/local.yaml")).compute;
    const strip = (stack: Json): Json => {
      const copy = structuredClone(stack) as Json;
      delete named(copy, "libvirt_volume", "local-base.qcow2").config.source;
      return copy.resource as Json;
    };
    expect(strip(after)).toEqual(strip(before));
  });
});

describe("docs/day-2.md: libvirt re-imaging addresses", () => {
  const doc = readFileSync(path.join(REPO_ROOT, "docs", "day-2.md"), "utf8");
  const documented = [...doc.matchAll(/libvirt_(?:volume|domain)\.compute_[A-Za-z0-9_-]+/g)].map((m) => m[0]);
  const synthesized = EXAMPLES.map((e) => ({ expected: e, addresses: resourceAddresses(synthLibvirt(loadCluster(e.file, REPO_ROOT).plan).compute) }));

  it("names only resource addresses that the example clusters really synthesize", () => {
    expect(documented.length).toBeGreaterThan(0);
    const all = synthesized.flatMap((s) => s.addresses);
    expect(documented.filter((a) => !all.includes(a))).toEqual([]);
  });

  it.each(synthesized.map((s) => [s.expected.file, s] as const))("lists the disk and domain address of every host of %s", (_file, { expected, addresses }) => {
    for (const h of expected.hosts) {
      const own = addresses.filter((a) => a.includes(`_disk-${h.name}_`) || a.includes(`_domain-${h.name}_`));
      expect(own).toHaveLength(2);
      for (const address of own) expect(documented).toContain(address);
    }
  });
});

function byHostname(a: Json, b: Json): number {
  return String(a.hostname).localeCompare(String(b.hostname));
}
