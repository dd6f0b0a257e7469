/** Apply order from manifest.json: the order in which plain terraform/tofu applies the stacks. */
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { applyOrder, parseManifest, type Manifest } from "../src/export/manifest";
import { CLUSTERS, planOf, REPO_ROOT, synthesize, type Synthesized } from "./output-support";

jest.setTimeout(60_000);

function manifest(dependencies: Record<string, string[]>): Manifest {
  return parseManifest(
    JSON.stringify({
      version: "0.21.0",
      stacks: Object.fromEntries(
        Object.entries(dependencies).map(([id, deps]) => [
          id,
          { name: id, constructPath: id, dependencies: deps, synthesizedStackPath: `stacks/${id}/cdk.tf.json`, workingDirectory: `stacks/${id}` },
        ]),
      ),
    }),
  );
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, ["--import", "tsx", "scripts/apply-order.ts", ...args], { cwd: REPO_ROOT, encoding: "utf8" });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("applyOrder", () => {
  test("puts every stack after the stacks it depends on, whatever the manifest's key order", () => {
    expect(applyOrder(manifest({ pki: ["compute", "network"], compute: ["network"], network: [] }))).toEqual(["network", "compute", "pki"]);
  });

  test("orders independent stacks by id, so every machine prints the same order", () => {
    expect(applyOrder(manifest({ z: [], b: ["z"], a: ["z"], c: ["a", "b"] }))).toEqual(["z", "a", "b", "c"]);
  });

  test("refuses a cycle and an unknown dependency, naming the stacks", () => {
    expect(() => applyOrder(manifest({ a: ["b"], b: ["a"], c: [] }))).toThrow(/a, b depend on each other in a cycle/);
    expect(() => applyOrder(manifest({ a: ["gone"] }))).toThrow(/stack "a" depends on "gone"/);
  });
});

describe("scripts/apply-order.ts", () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize(planOf(CLUSTERS[0]));
  });
  afterAll(() => rmSync(synthesized.outdir, { recursive: true, force: true }));

  test("prints the synthesized stacks in dependency order, and in reverse with --reverse", () => {
    const stacks = synthesized.stacks;
    const printed = cli([synthesized.outdir]);
    expect(printed.status).toBe(0);
    const order = printed.stdout.trim().split("\n");
    expect([...order].sort()).toEqual(stacks.map((s) => s.id).sort());
    for (const stack of stacks) {
      for (const dependency of stack.dependsOn) expect(order.indexOf(dependency)).toBeLessThan(order.indexOf(stack.id));
    }
    expect(cli(["--reverse", synthesized.outdir]).stdout.trim().split("\n")).toEqual([...order].reverse());
  });

  test("explains a missing or broken manifest instead of printing a partial order", () => {
    const missing = cli([path.join(synthesized.outdir, "nowhere")]);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toBe("");
    expect(missing.stderr).toMatch(/apply-order: .*manifest\.json/);
    writeFileSync(path.join(synthesized.outdir, "manifest.json"), JSON.stringify({ version: "0.21.0" }));
    expect(cli([synthesized.outdir]).stderr).toMatch(/no "stacks" object/);
  });
});
