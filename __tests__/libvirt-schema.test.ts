/**
 * Every libvirt block the app synthesizes must be valid for the provider it pins: checked against the provider
 * schema kept in the repository (the `terraform providers schema -json` output of dmacvicar/libvirt 0.8.3),
 * so a wrong attribute or nesting fails here rather than at `terraform plan` on a libvirt host.
 */
import { loadCluster } from "../src/cluster/load";
import { REPO_ROOT } from "./helpers/descriptions";
import { checkLibvirtConformance, libvirtSchema, synthLibvirt, type Json } from "./helpers/libvirt-synth";

const schema = libvirtSchema();

describe.each([
  ["clusters/local.yaml", 10, 3],
  ["clusters/local-stacked.yaml", 5, 3],
])("%s conforms to the dmacvicar/libvirt 0.8.3 schema", (file, hosts, members) => {
  const { network, compute } = synthLibvirt(loadCluster(file, REPO_ROOT).plan);

  it("network stack: the provider config and the network", () => {
    const report = checkLibvirtConformance(network, schema);
    expect(report.problems).toEqual([]);
    expect(report.checked).toHaveLength(2);
    expect(report.checked).toContain("provider.libvirt[0]");
    expect(report.checked.filter((a) => a.startsWith("libvirt_network."))).toHaveLength(1);
  });

  // Volumes: the base image, one root disk per host, one etcd data volume per member.
  it(`compute stack: the provider config, the pool, ${hosts + 1 + members} volumes and ${hosts} domains`, () => {
    const report = checkLibvirtConformance(compute, schema);
    expect(report.problems).toEqual([]);
    const count = (type: string): number => report.checked.filter((a) => a.startsWith(`${type}.`)).length;
    expect([count("libvirt_pool"), count("libvirt_volume"), count("libvirt_domain")]).toEqual([1, hosts + 1 + members, hosts]);
    expect(report.checked).toContain("provider.libvirt[0]");
  });

  it("would catch one wrong attribute slipped into a synthesized domain", () => {
    const broken = structuredClone(compute) as Json;
    const [name, domain] = Object.entries(broken.resource.libvirt_domain as Record<string, Json>)[0];
    domain.network_interface[0].ip_address = domain.network_interface[0].addresses[0];
    expect(checkLibvirtConformance(broken, schema).problems).toEqual([`libvirt_domain.${name}.network_interface[0].ip_address: no such attribute or block in the schema`]);
  });
});

describe("the conformance check itself", () => {
  /** A stack holding only the given libvirt resources / data sources. */
  const stackWith = (resource: Json, data: Json = {}): Json => ({ provider: { libvirt: [{ uri: "qemu:///system" }] }, resource, data });
  const problemsOf = (stack: Json): string[] => checkLibvirtConformance(stack, schema).problems;

  const validDomain = {
    name: "vm",
    memory: 1024,
    vcpu: "${var.vcpu}",
    cpu: { mode: "host-passthrough" },
    disk: [{ volume_id: "${libvirt_volume.disk.id}" }],
    network_interface: [{ network_id: "abc", addresses: ["10.0.0.5"], wait_for_lease: true }],
    console: [{ type: "pty", target_port: "0" }],
    timeouts: { create: "5m" },
    lifecycle: { ignore_changes: ["disk"] },
    "//": { metadata: { path: "x" } },
  };

  it("accepts hand-written valid blocks (including expressions and meta-arguments)", () => {
    const stack = stackWith(
      {
        libvirt_domain: { vm: validDomain },
        libvirt_network: { net: { name: "n", dns: { hosts: [{ hostname: "a", ip: "10.0.0.5" }] }, dhcp: { enabled: true } } },
        libvirt_volume: { disk: { name: "d.qcow2", size: 1073741824, lifecycle: { ignore_changes: ["source"] } } },
      },
      { terraform_remote_state: { other: { backend: "local" } }, libvirt_node_info: { host: {} } },
    );
    expect(problemsOf(stack)).toEqual([]);
  });

  it.each<[string, Json, Json, string]>([
    ["an unknown attribute", { libvirt_domain: { vm: { ...validDomain, graphic: { type: "none" } } } }, {}, "libvirt_domain.vm.graphic: no such attribute or block"],
    ["an unknown attribute in a nested block", { libvirt_network: { net: { name: "n", dns: { hosts: [{ hostname: "a", address: "10.0.0.5" }] } } } }, {}, "libvirt_network.net.dns.hosts[0].address: no such attribute or block"],
    ["a `single` block written as a list", { libvirt_domain: { vm: { ...validDomain, timeouts: [{ create: "5m" }] } } }, {}, "libvirt_domain.vm.timeouts: a single block must be one object"],
    ["a list block written as one object", { libvirt_domain: { vm: { ...validDomain, disk: { volume_id: "x" } } } }, {}, "libvirt_domain.vm.disk: a list block must be an array of objects"],
    ["a max_items 1 block written as a list", { libvirt_domain: { vm: { ...validDomain, cpu: [{ mode: "host-passthrough" }] } } }, {}, "libvirt_domain.vm.cpu: a list block with max_items 1 is one object"],
    ["a set block written as one object", { libvirt_network: { net: { name: "n", dns: { hosts: { hostname: "a", ip: "10.0.0.5" } } } } }, {}, "libvirt_network.net.dns.hosts: a set block must be an array of objects"],
    ["an attribute written as a block", { libvirt_domain: { vm: { ...validDomain, name: { value: "vm" } } } }, {}, "libvirt_domain.vm.name: expected a string"],
    ["a wrong attribute type", { libvirt_domain: { vm: { ...validDomain, memory: "1 GiB" } } }, {}, "libvirt_domain.vm.memory: expected a number"],
    ["a wrong list element type", { libvirt_domain: { vm: { ...validDomain, network_interface: [{ addresses: [5] }] } } }, {}, "libvirt_domain.vm.network_interface[0].addresses[0]: expected a string"],
    ["a missing required attribute", { libvirt_pool: { pool: { name: "p" } } }, {}, "libvirt_pool.pool.type: required attribute is missing"],
    ["a missing required attribute in a nested block", { libvirt_domain: { vm: { ...validDomain, console: [{ type: "pty" }] } } }, {}, "libvirt_domain.vm.console[0].target_port: required attribute is missing"],
    ["a deprecated attribute", { libvirt_pool: { pool: { name: "p", type: "dir", path: "/srv/pool" } } }, {}, "libvirt_pool.pool.path: deprecated attribute is set"],
    ["a computed-only attribute", {}, { libvirt_node_info: { host: { cpu_model: "EPYC" } } }, "data.libvirt_node_info.host.cpu_model: computed-only attribute is set"],
    ["an unknown resource type", { libvirt_vm: { vm: { name: "vm" } } }, {}, "libvirt_vm.vm: the provider has no resource type"],
    ["ignore_changes on an unknown attribute", { libvirt_volume: { disk: { name: "d", lifecycle: { ignore_changes: ["image"] } } } }, {}, 'libvirt_volume.disk.lifecycle.ignore_changes: "image" is not an attribute'],
  ])("rejects %s", (_what, resource, data, problem) => {
    const problems = problemsOf(stackWith(resource, data));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
  });

  it("rejects a provider config with an unknown or missing argument", () => {
    expect(problemsOf({ provider: { libvirt: [{ url: "qemu:///system" }] } })).toEqual([
      "provider.libvirt[0].url: no such attribute or block in the schema",
      "provider.libvirt[0].uri: required attribute is missing",
    ]);
  });
});
