/**
 * The libvirt constructs on their own: the generated bindings and what they pin, the target's hand-over values,
 * and the checks the constructs make on their props.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Testing, TerraformOutput, TerraformStack, Token } from "cdktf";
import { LibvirtProvider } from "../.gen/providers/libvirt/provider";
import { imageSourceForStack, LibvirtClusterCompute, LibvirtClusterNetwork, libvirtProvider, libvirtTarget } from "../constructs/libvirt";
import { loadCluster } from "../src/cluster/load";
import { REPO_ROOT } from "./helpers/descriptions";
import { libvirtSchema, type Json } from "./helpers/libvirt-synth";

/** What terraform sees for a token of `stack`: its expression in the synthesized JSON. */
function resolved(stack: TerraformStack, token: string): unknown {
  new TerraformOutput(stack, "probe", { value: token });
  return (JSON.parse(Testing.synth(stack)) as Json).output.probe.value;
}

describe("generated libvirt bindings", () => {
  it("are up to date with providers/libvirt/0.8.3.schema.json", () => {
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, "scripts", "generate-libvirt-bindings.js"), "--check"], { encoding: "utf8" });
    expect({ status: run.status, stdout: run.stdout.trim() }).toEqual({ status: 0, stdout: ".gen/providers/libvirt is up to date" });
  });

  it("record the provider as dmacvicar/libvirt 0.8.3, so required_providers pins exactly that version", () => {
    const provider = new LibvirtProvider(new TerraformStack(Testing.app(), "s"), "libvirt", { uri: "qemu:///system" });
    expect(provider.terraformProviderSource).toBe("dmacvicar/libvirt");
    expect(provider.terraformGeneratorMetadata).toMatchObject({ providerName: "libvirt", providerVersion: "0.8.3", providerVersionConstraint: "0.8.3" });
  });

  it("come from a `terraform providers schema -json` document of dmacvicar/libvirt with all its types", () => {
    const schema = libvirtSchema();
    expect(Object.keys(schema.provider_schemas)).toEqual(["registry.terraform.io/dmacvicar/libvirt"]);
    const provider = schema.provider_schemas["registry.terraform.io/dmacvicar/libvirt"];
    expect(Object.keys(provider.resource_schemas).sort()).toEqual([
      "libvirt_cloudinit_disk",
      "libvirt_combustion",
      "libvirt_domain",
      "libvirt_ignition",
      "libvirt_network",
      "libvirt_pool",
      "libvirt_volume",
    ]);
    expect(Object.keys(provider.data_source_schemas)).toHaveLength(6);
    expect(JSON.parse(readFileSync(path.join(REPO_ROOT, "providers", "libvirt", "0.8.3.schema.json"), "utf8")).format_version).toBe("1.0");
  });
});

describe("libvirt target hand-over", () => {
  const plan = loadCluster("clusters/local.yaml", REPO_ROOT).plan;

  it("gives compute the network id and operators the VIP URL", () => {
    const stack = new TerraformStack(Testing.app(), "network");
    const outputs = libvirtTarget.createNetwork(stack, plan);
    expect(outputs.operatorApiUrl).toBe("https://10.240.0.2:6443");
    expect(outputs.apiAddresses).toEqual(["10.240.0.2"]);
    expect(Token.isUnresolved(outputs.networkId)).toBe(true);
    expect(resolved(stack, outputs.networkId)).toMatch(/^\$\{libvirt_network\.[A-Za-z0-9_-]+\.id\}$/);
  });

  it("gives every host its planned address for SSH and its domain's id as machine id", () => {
    const stack = new TerraformStack(Testing.app(), "compute");
    const compute = libvirtTarget.createCompute(stack, plan, { operatorApiUrl: "", apiAddresses: [], networkId: "net-id", outputs: {} }, { privateKeyOpenssh: (h) => `key of ${h}` });
    expect(Object.keys(compute.hosts)).toEqual(plan.hosts.map((h) => h.name));
    expect(compute.hosts["cp-2"].sshAddress).toBe("10.240.0.21");
    expect(resolved(stack, compute.hosts["cp-2"].machineId)).toMatch(/^\$\{libvirt_domain\.compute_domain-cp-2_[0-9A-F]{8}\.id\}$/);
  });

  it("refuses a plan without libvirt settings", () => {
    const gcp = loadCluster("clusters/gcp.yaml", REPO_ROOT).plan;
    expect(() => libvirtTarget.createNetwork(new TerraformStack(Testing.app(), "n"), gcp)).toThrow(/needs target "libvirt" and a libvirt section \(got target "gcp"\)/);
  });
});

describe("libvirt provider helper", () => {
  it("keeps one connection per stack", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    expect(libvirtProvider(stack, "qemu:///system")).toBe(libvirtProvider(stack, "qemu:///system"));
    const synthesized = JSON.parse(Testing.synth(stack)) as Json;
    expect(synthesized.provider.libvirt).toEqual([{ uri: "qemu:///system" }]);
  });

  it("refuses a second URI in the same stack", () => {
    const stack = new TerraformStack(Testing.app(), "s");
    libvirtProvider(stack, "qemu:///system");
    expect(() => libvirtProvider(stack, "qemu+ssh://ops@virt-1/system")).toThrow(/already connects to libvirt at "qemu:\/\/\/system"; got a second URI "qemu\+ssh:\/\/ops@virt-1\/system"/);
  });
});

describe("construct checks", () => {
  const host = { name: "cp-1", machineName: "t-cp-1", address: "10.9.0.20", mac: "52:54:00:09:00:14", vcpu: 2, memoryMiB: 2048, diskGiB: 20 };
  const computeProps = { cluster: "t", networkId: "n", poolPath: "/srv/pools/t", baseImageSource: "../../../nixos.qcow2", hosts: [host] };
  const newCompute = (props: Partial<typeof computeProps> & Json): LibvirtClusterCompute =>
    new LibvirtClusterCompute(new TerraformStack(Testing.app(), "s"), "compute", { ...computeProps, ...props });
  const networkProps = { name: "t", cidr: "10.9.0.0/24", domain: "t.internal", hosts: [{ name: "cp-1", address: "10.9.0.20" }], apiAddress: "10.9.0.2" };
  const newNetwork = (props: Json): LibvirtClusterNetwork => new LibvirtClusterNetwork(new TerraformStack(Testing.app(), "s"), "network", { ...networkProps, ...props });

  it("accepts valid props", () => {
    expect(() => newCompute({})).not.toThrow();
    expect(() => newNetwork({})).not.toThrow();
  });

  it.each<[string, Json, RegExp]>([
    ["a MAC used twice", { hosts: [host, { ...host, name: "cp-2", machineName: "t-cp-2", address: "10.9.0.21" }] }, /mac "52:54:00:09:00:14" is used by two hosts/],
    ["a host name used twice", { hosts: [host, { ...host, machineName: "t-x", mac: "52:54:00:09:00:15", address: "10.9.0.21" }] }, /name "cp-1" is used by two hosts/],
    ["a relative pool path", { poolPath: "pools/t" }, /poolPath "pools\/t" must be an absolute directory path/],
    ["a fractional disk size", { hosts: [{ ...host, diskGiB: 7.5 }] }, /diskGiB 7.5 must be a whole number/],
    ["an upper-case MAC", { hosts: [{ ...host, mac: "52:54:00:09:00:AB" }] }, /mac "52:54:00:09:00:AB" is not a lower-case MAC/],
    ["no hosts", { hosts: [] }, /hosts is empty/],
  ])("compute refuses %s", (_what, props, message) => {
    expect(() => newCompute(props)).toThrow(message);
  });

  it.each<[string, Json, RegExp]>([
    ["an address outside the subnet", { hosts: [{ name: "cp-1", address: "10.8.0.20" }] }, /address "10.8.0.20" of "cp-1" is not inside 10.9.0.0\/24/],
    ["the gateway address", { apiAddress: "10.9.0.1" }, /"api" has the gateway address 10.9.0.1/],
    ["a VIP that is a host's address", { apiAddress: "10.9.0.20" }, /"cp-1" and "api" both have address 10.9.0.20/],
    ["a host named like the API record", { hosts: [{ name: "api", address: "10.9.0.20" }] }, /DNS name "api" appears twice/],
    ["a CIDR with host bits", { cidr: "10.9.0.1/24" }, /cidr "10.9.0.1\/24" is not an IPv4 CIDR/],
    ["a bridge name over 15 characters", { bridge: "k8s-a-long-bridge" }, /bridge "k8s-a-long-bridge" is not a Linux interface name of at most 15 characters/],
    ["a dynamic range holding a host", { dynamicRange: { start: "10.9.0.10", end: "10.9.0.30" } }, /"cp-1" has an address inside dynamicRange 10.9.0.10 to 10.9.0.30/],
    ["a dynamic range holding the VIP", { dynamicRange: { start: "10.9.0.2", end: "10.9.0.9" } }, /"api" has an address inside dynamicRange 10.9.0.2 to 10.9.0.9/],
    ["a dynamic range at the gateway", { dynamicRange: { start: "10.9.0.1", end: "10.9.0.9" } }, /dynamicRange 10.9.0.1 to 10.9.0.9 is not a range inside 10.9.0.0\/24 above the gateway/],
    ["a dynamic range outside the subnet", { dynamicRange: { start: "10.9.1.1", end: "10.9.1.9" } }, /is not a range inside 10.9.0.0\/24/],
    ["a dynamic range up to the broadcast", { dynamicRange: { start: "10.9.0.200", end: "10.9.0.255" } }, /above the gateway and below the broadcast address/],
  ])("network refuses %s", (_what, props, message) => {
    expect(() => newNetwork(props)).toThrow(message);
  });

  it("refuses a base image that names a directory", () => {
    expect(() => imageSourceForStack("nixos/")).toThrow(/names a directory/);
    expect(() => imageSourceForStack("")).toThrow(/is empty/);
  });
});
