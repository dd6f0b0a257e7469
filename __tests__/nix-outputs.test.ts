/**
 * `npm run outputs` (scripts/save-outputs.ts): reads the compute stack's `hosts` output (terraform is a stand-in
 * here), checks it against the description, and saves it where the flake reads it; the flake then deploys to
 * the saved addresses.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import { outputsFileContent } from "../src/nix/outputs-file";
import { nixString } from "../src/nix/writer";
import { localStatePath } from "../stacks/cluster-stack";
import { saveOutputs } from "../scripts/save-outputs";
import { evalJson, nixPathLiteral, REPO } from "./nix/eval";

const plan = loadCluster("clusters/gcp.yaml", REPO).plan;
const hostsOutput = (names = plan.hosts.map((h) => h.name)) =>
  Object.fromEntries(names.map((name, i) => [name, { ssh_address: `203.0.113.${i + 20}`, address: plan.hosts.find((h) => h.name === name)?.address ?? "?", roles: ["x"], external_address: null }]));

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "nix-outputs-"));
  mkdirSync(path.join(root, "clusters"));
  cpSync(path.join(REPO, "clusters/gcp.yaml"), path.join(root, "clusters/gcp.yaml"));
  cpSync(path.join(REPO, "nixos/clusters/gcp"), path.join(root, "nixos/clusters/gcp"), { recursive: true });
  rmSync(path.join(root, "nixos/clusters/gcp/outputs.json"), { force: true });
  const stack = path.join(root, "cdktf.out/stacks/compute");
  mkdirSync(path.join(stack, ".terraform"), { recursive: true });
  writeFileSync(path.join(stack, ".terraform", "terraform.tfstate"), JSON.stringify({ backend: { type: "local" } }));
  writeFileSync(path.join(stack, "cdk.tf.json"), JSON.stringify({ terraform: { backend: { local: { path: localStatePath("gcp", "compute") } } } }));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function run(output: unknown, calls: string[][] = []) {
  return saveOutputs({
    root,
    description: "clusters/gcp.yaml",
    terraform: (stackDir, args) => {
      calls.push([path.relative(root, stackDir), ...args]);
      return JSON.stringify(output);
    },
    git: (args) => {
      calls.push(["git", ...args]);
    },
    log: () => undefined,
  });
}

it("saves the compute stack's hosts output for the flake and adds it to git", () => {
  const calls: string[][] = [];
  const saved = run(hostsOutput(), calls);
  expect(saved).toBe("nixos/clusters/gcp/outputs.json");
  expect(calls).toEqual([
    ["cdktf.out/stacks/compute", "output", "-json", "hosts"],
    ["git", "add", "--intent-to-add", "--", "nixos/clusters/gcp/outputs.json"],
  ]);
  const content = readFileSync(path.join(root, saved), "utf8");
  expect(JSON.parse(content)).toEqual(hostsOutput());
  expect(content.endsWith("\n")).toBe(true);

  const hostnames = evalJson<Record<string, string>>(
    `let f = import ${nixPathLiteral(path.join(REPO, "__tests__/nix/flake-stand-in.nix"))} { clustersDir = ${nixString(path.join(root, "nixos/clusters"))}; }; in builtins.mapAttrs (n: node: node.hostname) f.deployNodes`,
  );
  plan.hosts.forEach((h, i) => expect(hostnames[`gcp-${h.name}`]).toBe(`203.0.113.${i + 20}`));
});

it("writes a stable file: same output, same bytes, whatever the key order at any depth", () => {
  const reverse = (o: object) => Object.fromEntries(Object.entries(o).reverse());
  const reversed = reverse(Object.fromEntries(Object.entries(hostsOutput()).map(([name, host]) => [name, reverse(host)])));
  const content = outputsFileContent(plan, reversed);
  expect(content).toBe(outputsFileContent(plan, hostsOutput()));
  // Hosts and their fields in code-unit order, two-space indentation.
  expect(content.startsWith('{\n  "cp-1": {\n    "address": "10.240.0.20",\n    "external_address": null,\n')).toBe(true);
});

it("refuses to read another cluster's state", () => {
  writeFileSync(
    path.join(root, "cdktf.out/stacks/compute/cdk.tf.json"),
    JSON.stringify({ terraform: { backend: { local: { path: localStatePath("local", "compute") } } } }),
  );
  expect(() => run(hostsOutput())).toThrow("another cluster's synthesis");
  expect(existsSync(path.join(root, "nixos/clusters/gcp/outputs.json"))).toBe(false);
});

it("refuses outputs that do not match the description, naming the hosts", () => {
  expect(() => run(hostsOutput(plan.hosts.slice(1).map((h) => h.name)))).toThrow(/not in the applied state: etcd-1/);
  expect(() => run(hostsOutput([...plan.hosts.map((h) => h.name), "worker-9"]))).toThrow(/not in clusters\/gcp\.yaml: worker-9/);
  expect(() => outputsFileContent(plan, { ...hostsOutput(), "cp-1": { address: "10.240.0.20" } })).toThrow(/cp-1 has no ssh_address/);
  expect(() => outputsFileContent(plan, null)).toThrow(/not an object/);
  expect(existsSync(path.join(root, "nixos/clusters/gcp/outputs.json"))).toBe(false);
});

it("initializes the stack directory first when terraform has not run there", () => {
  rmSync(path.join(root, "cdktf.out/stacks/compute/.terraform"), { recursive: true });
  const calls: string[][] = [];
  run(hostsOutput(), calls);
  expect(calls[0]).toEqual(["cdktf.out/stacks/compute", "init", "-input=false"]);
});

it("initializes again when synth removed another cluster's backend cache but kept .terraform/", () => {
  rmSync(path.join(root, "cdktf.out/stacks/compute/.terraform/terraform.tfstate"));
  const calls: string[][] = [];
  run(hostsOutput(), calls);
  expect(calls[0]).toEqual(["cdktf.out/stacks/compute", "init", "-input=false"]);
});
