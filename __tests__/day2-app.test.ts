/**
 * The change review as the user meets it: the real app (node main.ts) in a working copy of the repository.
 * A refused edit exits 1 with the message on stderr and changes no file under cdktf.out/ or nixos/; an accepted
 * one prints the synth summary (cluster, stacks in apply order, host changes, generated files to commit).
 */
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeWorkingCopy, readTree, runApp } from "../bench/workcopy";

jest.setTimeout(180_000);

const temp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "day2-app-")));
const copy = path.join(temp, "repo");

function edit(file: string, from: string, to: string): void {
  const full = path.join(copy, file);
  const text = readFileSync(full, "utf8");
  if (!text.includes(from)) throw new Error(`${file} does not contain ${from}`);
  writeFileSync(full, text.replace(from, to));
}

function trees(): { out: Map<string, Buffer>; nixos: Map<string, Buffer> } {
  return { out: readTree(path.join(copy, "cdktf.out")), nixos: readTree(path.join(copy, "nixos")) };
}

beforeAll(async () => {
  makeWorkingCopy(copy);
  // A synthesized state to compare with, as in a checkout that has synthesized before.
  const first = await runApp(copy, { cluster: "clusters/local.yaml" });
  if (first.status !== 0) throw new Error(first.stderr);
});
afterAll(() => rmSync(temp, { recursive: true, force: true }));

it("an unchanged description: the summary names the cluster, the stacks in apply order, no host changes, nothing to commit", async () => {
  const run = await runApp(copy, { cluster: "clusters/local.yaml" });
  expect(run.status).toBe(0);
  expect(run.stdout.split("\n")).toEqual([
    "cluster local from clusters/local.yaml (target libvirt, topology external-etcd, 10 hosts)",
    "stacks in apply order: network, compute, pki (cdktf deploy network compute pki)",
    "host changes since nixos/clusters/local/machines.json:",
    "  none",
    "generated files: nixos/clusters/local is up to date",
    "",
  ]);
});

it("an edit that would replace all three etcd members is refused, naming the field, and writes nothing", async () => {
  edit("clusters/local.yaml", "etcd:         { count: 3, vcpu: 2, memoryMiB: 2048", "etcd:         { count: 3, vcpu: 2, memoryMiB: 3072");
  const before = trees();
  const run = await runApp(copy, { cluster: "clusters/local.yaml" });
  expect(run.status).toBe(1);
  expect(run.stdout).toBe("");
  expect(run.stderr).toContain("clusters/local.yaml: this change is refused; nothing was written: 3 of 3 etcd members would be unavailable at once");
  expect(run.stderr).toContain("etcd-2: pools.etcd.memoryMiB 2048 -> 3072 (libvirt_domain.memory forces a new domain)");
  expect(run.stderr).toContain("ALLOW_DISRUPTION=etcd-1 npm run synth");
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  const after = trees();
  expect([...after.out.keys()]).toEqual([...before.out.keys()]);
  for (const [file, content] of before.out) expect({ file, same: after.out.get(file)?.equals(content) }).toEqual({ file, same: true });
  expect([...after.nixos.keys()]).toEqual([...before.nixos.keys()]);
  for (const [file, content] of before.nixos) expect({ file, same: after.nixos.get(file)?.equals(content) }).toEqual({ file, same: true });
});

it("the same edit for one named member: it is replaced, the others are pending, and the files to commit are listed", async () => {
  const run = await runApp(copy, { cluster: "clusters/local.yaml", env: { ALLOW_DISRUPTION: "etcd-1" } });
  expect(run.status).toBe(0);
  const lines = run.stdout.split("\n");
  expect(lines).toContain("host changes since nixos/clusters/local/machines.json, ALLOW_DISRUPTION=etcd-1:");
  expect(lines).toContain("  replaced  etcd-1       pools.etcd.memoryMiB: 2048 -> 3072 (libvirt_domain.memory forces a new domain)");
  expect(lines).toContain(
    "  pending   etcd-2       pools.etcd.memoryMiB: 2048 -> 3072: held: it would replace this host; name it in ALLOW_DISRUPTION to apply it",
  );
  expect(lines).toContain("generated files to commit (git add nixos/clusters/local):");
  expect(lines).toContain("  changed   nixos/clusters/local/machines.json");
  const compute = JSON.parse(readFileSync(path.join(copy, "cdktf.out/stacks/compute/cdk.tf.json"), "utf8"));
  const memory = Object.fromEntries(Object.values(compute.resource.libvirt_domain as Record<string, { name: string; memory: number }>).map((d) => [d.name, d.memory]));
  expect([memory["local-etcd-1"], memory["local-etcd-2"], memory["local-etcd-3"]]).toEqual([3072, 2048, 2048]);
});

it("a worker added: the summary lists the host and its new host file", async () => {
  edit("clusters/local.yaml", "worker:       { count: 2", "worker:       { count: 3");
  const run = await runApp(copy, { cluster: "clusters/local.yaml", env: { ALLOW_DISRUPTION: "etcd-2" } });
  expect(run.status).toBe(0);
  expect(run.stdout).toContain("  added     worker-3");
  expect(run.stdout).toContain("  added     nixos/clusters/local/hosts/worker-3.nix");
  expect(run.stdout).toContain("  replaced  etcd-2");
});
