/**
 * nixos/flake.nix evaluated with stand-in inputs (nixpkgs.lib.nixosSystem and deploy-rs' lib record their
 * arguments): one NixOS configuration and one deploy-rs node per generated host, the right address, SSH user
 * and profile; GCP addresses from the saved outputs; a GCP cluster that was never deployed has no deploy nodes, so the
 * whole flake (every deploy node, strictly) evaluates on a fresh clone;
 * the Kubernetes version check.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { evalError, evalJson, nixPathLiteral, REPO } from "./nix/eval";
import { nixString } from "../src/nix/writer";

const STAND_IN = path.join(REPO, "__tests__/nix/flake-stand-in.nix");
const PLANS: ClusterPlan[] = ["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/gcp.yaml", "clusters/laptop.yaml"].map((f) => loadCluster(f, REPO).plan);
const NODE_NAMES = PLANS.flatMap((p) => p.hosts.map((h) => `${p.cluster}-${h.name}`)).sort();
/** The committed example GCP cluster was never deployed (no nixos/clusters/gcp/outputs.json): no deploy nodes. */
const DEPLOYABLE_NODE_NAMES = PLANS.filter((p) => p.target !== "gcp").flatMap((p) => p.hosts.map((h) => `${p.cluster}-${h.name}`)).sort();

interface Node {
  hostname: string;
  sshUser: string;
  magicRollback: boolean;
  profiles: string[];
  profileUser: string;
  activation: { activation: string; host: string; cluster: string };
}
interface Configuration {
  system: string;
  host: string;
  cluster: string;
  sshUser: string;
  modules: string[];
}

interface Options {
  /** Default: the committed nixos/flake.nix (with its clusters/). */
  clustersDir?: string;
  kubernetesVersion?: string;
}

/** The stand-in flake as a Nix expression. */
function standIn(options: Options): string {
  const args = [
    ...(options.clustersDir ? [`clustersDir = ${nixString(options.clustersDir)};`] : []),
    ...(options.kubernetesVersion ? [`kubernetesVersion = ${nixString(options.kubernetesVersion)};`] : []),
  ].join(" ");
  return `(import ${nixPathLiteral(STAND_IN)} { ${args} })`;
}
/** Evaluates `select` (a Nix function) applied to the stand-in flake's results. */
function flake<T>(select: string, options: Options = {}): T {
  return evalJson<T>(`(${select}) ${standIn(options)}`);
}
function flakeError(select: string, options: Options = {}): string {
  return evalError(`(${select}) ${standIn(options)}`);
}

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), "nix-flake-"));
  cpSync(path.join(REPO, "nixos/clusters"), path.join(work, "clusters"), { recursive: true });
  rmSync(path.join(work, "clusters/gcp/outputs.json"), { force: true });
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

const gcp = PLANS.find((p) => p.target === "gcp")!;
function saveGcpOutputs(hosts: string[]) {
  const outputs = Object.fromEntries(hosts.map((name, i) => [name, { address: "unused", ssh_address: `198.51.100.${i + 10}`, roles: [] }]));
  writeFileSync(path.join(work, "clusters/gcp/outputs.json"), JSON.stringify(outputs));
}

it("has one NixOS configuration per generated host and one deploy-rs node per host of a deployable cluster, named <cluster>-<host>", () => {
  expect(flake<string[]>("f: f.deployNodeNames")).toEqual(DEPLOYABLE_NODE_NAMES);
  expect(Object.keys(flake<Record<string, unknown>>("f: f.configurations", { clustersDir: path.join(work, "clusters") })).sort()).toEqual(NODE_NAMES);
});

it.each(PLANS.filter((p) => p.target === "libvirt"))("deploys $cluster's hosts at their planned addresses as root with magic rollback", (plan) => {
  // Only this cluster's nodes are evaluated (as deploy-rs does for its targets): GCP's need saved outputs.
  const names = plan.hosts.map((h) => `${nixString(`${plan.cluster}-${h.name}`)} = null;`).join(" ");
  const nodes = flake<Record<string, Node>>(`f: builtins.intersectAttrs { ${names} } f.deployNodes`, { clustersDir: path.join(work, "clusters") });
  for (const host of plan.hosts) {
    expect(nodes[`${plan.cluster}-${host.name}`]).toEqual({
      hostname: host.address,
      sshUser: plan.ssh.user,
      magicRollback: true,
      profiles: ["system"],
      profileUser: "root",
      activation: { activation: "nixos", host: host.name, cluster: plan.cluster },
    });
  }
});

it("builds each host from the role modules, the target's hardware profile and its own host file", () => {
  const configurations = flake<Record<string, Configuration>>("f: f.configurations", { clustersDir: path.join(work, "clusters") });
  for (const plan of PLANS) {
    for (const host of plan.hosts) {
      const c = configurations[`${plan.cluster}-${host.name}`];
      expect(c.system).toBe("x86_64-linux");
      expect({ host: c.host, cluster: c.cluster, sshUser: c.sshUser }).toEqual({ host: host.name, cluster: plan.cluster, sshUser: plan.ssh.user });
      expect(c.modules.map((m) => path.relative(REPO, m))).toEqual([
        "nixos/modules",
        "nixos/modules/guards.nix",
        `nixos/modules/hardware/${plan.target}.nix`,
      ]);
    }
  }
});

it("deploys one cluster without needing another cluster's outputs", () => {
  const node = flake<Node>("f: f.deployNodes.local-cp-1", { clustersDir: path.join(work, "clusters") });
  expect(node.hostname).toBe(PLANS[0].hosts.find((h) => h.name === "cp-1")!.address);
});

it("evaluates every deploy node of a fresh clone, where the GCP cluster has no saved outputs and so no deploy nodes", () => {
  // Strict: every node's hostname, user and profile, as deploy-rs evaluates `deploy` for any target.
  const nodes = flake<Record<string, Node>>("f: f.deployNodes", { clustersDir: path.join(work, "clusters") });
  expect(Object.keys(nodes).sort()).toEqual(DEPLOYABLE_NODE_NAMES);
  expect(Object.keys(nodes).filter((n) => n.startsWith("gcp-"))).toEqual([]);
  // Its NixOS configurations still exist (nix flake check evaluates them; only deploying needs the addresses).
  expect(Object.keys(flake<Record<string, unknown>>("f: f.configurations", { clustersDir: path.join(work, "clusters") }))).toContain("gcp-cp-1");
});

it("connects to the SSH addresses saved from the compute stack on GCP", () => {
  saveGcpOutputs(gcp.hosts.map((h) => h.name));
  const nodes = flake<Record<string, Node>>("f: f.deployNodes", { clustersDir: path.join(work, "clusters") });
  gcp.hosts.forEach((host, i) => {
    expect(nodes[`gcp-${host.name}`].hostname).toBe(`198.51.100.${i + 10}`);
  });
});

it("names the host and the command when the saved outputs predate a new host", () => {
  saveGcpOutputs(gcp.hosts.filter((h) => h.name !== "worker-3").map((h) => h.name));
  const message = flakeError("f: f.deployNodes.gcp-worker-3.hostname", { clustersDir: path.join(work, "clusters") });
  expect(message).toContain("has no entry for worker-3");
  expect(message).toContain("npm run outputs -- clusters/gcp.yaml");
});

it("checks (deployChecks) every cluster whose deploy addresses are known, and has the NixOS VM tests", () => {
  expect(flake<string[]>("f: f.checks", { clustersDir: path.join(work, "clusters") })).toEqual([
    "laptop-deploy-activate",
    "laptop-deploy-schema",
    "local-deploy-activate",
    "local-deploy-schema",
    "local-stacked-deploy-activate",
    "local-stacked-deploy-schema",
    "vm-external",
    "vm-stacked",
  ]);
  saveGcpOutputs(gcp.hosts.map((h) => h.name));
  expect(flake<string[]>("f: f.checks", { clustersDir: path.join(work, "clusters") })).toContain("gcp-deploy-schema");
});

it("builds a base image per cluster, libvirt-image / gce-image for the default clusters, and exposes deploy-rs", () => {
  expect(flake<string[]>("f: f.packages")).toEqual(["deploy-rs", "gce-image", "gcp-image", "laptop-image", "libvirt-image", "local-image", "local-stacked-image"]);
});

it("refuses a Kubernetes version other than the pinned nixpkgs', saying what to change", () => {
  const message = flakeError("f: f.configurations.local-cp-1", { kubernetesVersion: "1.33.7" });
  expect(message).toContain("clusters/local.yaml asks for Kubernetes 1.34, but the nixpkgs pinned in nixos/flake.nix provides Kubernetes 1.33.7");
  expect(message).toContain('Set kubernetes.version to "1.33" in clusters/local.yaml');
  expect(flake<Configuration>("f: f.configurations.local-cp-1", { kubernetesVersion: "1.34.0" }).host).toBe("cp-1");
});

it("refuses a nixpkgs whose Kubernetes is 1.35 or later, naming the kubelet flag it removed", () => {
  // The description must match the package first; a 1.35 package is refused even then (a copy describing 1.35).
  const message = flakeError("f: f.configurations.local-cp-1", { kubernetesVersion: "1.35.0" });
  expect(message).toContain("Kubernetes 1.35 (clusters/local.yaml or the pinned nixpkgs) is not supported yet");
  expect(message).toContain("--pod-infra-container-image");
});

it("pins nixpkgs (a stable release) and deploy-rs by revision, as nixos/option-paths.json records", () => {
  const inputs = evalJson<Record<string, { url: string }>>(`(import ${nixPathLiteral(path.join(REPO, "nixos/flake.nix"))}).inputs`);
  expect(inputs.nixpkgs.url).toMatch(/^github:NixOS\/nixpkgs\/[0-9a-f]{40}$/);
  expect(inputs["deploy-rs"].url).toMatch(/^github:serokell\/deploy-rs\/[0-9a-f]{40}$/);
  const optionPaths = evalJson<{ nixpkgs: string }>(`builtins.fromJSON (builtins.readFile ${nixPathLiteral(path.join(REPO, "nixos/option-paths.json"))})`);
  expect(optionPaths.nixpkgs).toBe(inputs.nixpkgs.url);
});
