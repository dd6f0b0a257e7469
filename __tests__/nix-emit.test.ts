/**
 * The Nix post-synth step on disk: atomic replacement, removed hosts disappear, clusters never mix, the saved
 * outputs survive a synth, and `cdktf synth` (main.ts) writes files identical to the committed ones.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { writeClusterNixFiles } from "../src/nix/emit";
import { POST_SYNTH_STEPS } from "../src/postsynth";
import { nixPostSynthStep } from "../src/nix/emit";
import { evalJson, nixPathLiteral, REPO } from "./nix/eval";

let work: string;
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), "nix-emit-"));
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Every file under `dir`, relative path -> content. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[path.relative(dir, full).split(path.sep).join("/")] = readFileSync(full, "utf8");
    }
  };
  if (existsSync(dir)) walk(dir);
  return files;
}

/** A copy of an example description with some text replaced (e.g. a pool's count). */
function variantText(example: string, replace: [string, string][]): string {
  let text = readFileSync(path.join(REPO, example), "utf8");
  for (const [from, to] of replace) {
    if (!text.includes(from)) throw new Error(`${example} does not contain ${from}`);
    text = text.replace(from, to);
  }
  return text;
}

/** Plans a variant of an example, kept at the same path in a scratch repository root (descriptions must be inside one). */
function variant(example: string, replace: [string, string][]): ClusterPlan {
  mkdirSync(path.join(work, path.dirname(example)), { recursive: true });
  writeFileSync(path.join(work, example), variantText(example, replace));
  return loadCluster(example, work).plan;
}

const local = () => loadCluster("clusters/local.yaml", REPO).plan;
const stacked = () => loadCluster("clusters/local-stacked.yaml", REPO).plan;

it("is registered as a post-synth step", () => {
  expect(POST_SYNTH_STEPS).toContain(nixPostSynthStep);
});

it("writes one file per host and the index, under clusters/<cluster>", () => {
  const nixos = path.join(work, "nixos");
  writeClusterNixFiles(nixos, local());
  expect(Object.keys(snapshot(nixos)).sort()).toEqual(
    // libvirt-network.json: how the cluster's libvirt network was created, read back by the next synth.
    ["default.nix", "libvirt-network.json", ...local().hosts.map((h) => `hosts/${h.name}.nix`)].map((f) => `clusters/local/${f}`).sort(),
  );
});

it("removes the file of a host that left the plan", () => {
  const nixos = path.join(work, "nixos");
  writeClusterNixFiles(nixos, local());
  expect(existsSync(path.join(nixos, "clusters/local/hosts/worker-2.nix"))).toBe(true);
  const smaller = variant("clusters/local.yaml", [["worker:       { count: 2", "worker:       { count: 1"]]);
  writeClusterNixFiles(nixos, smaller);
  expect(existsSync(path.join(nixos, "clusters/local/hosts/worker-2.nix"))).toBe(false);
  expect(existsSync(path.join(nixos, "clusters/local/hosts/worker-1.nix"))).toBe(true);
  expect(evalJson<string[]>(`(import ${nixPathLiteral(path.join(nixos, "clusters/local/default.nix"))}).hosts`)).not.toContain("worker-2");
  // Nothing left behind by the swap.
  expect(readdirSync(path.join(nixos, "clusters")).sort()).toEqual(["local"]);
});

it("never mixes two clusters' files", () => {
  const nixos = path.join(work, "nixos");
  writeClusterNixFiles(nixos, local());
  writeClusterNixFiles(nixos, stacked());
  const before = snapshot(path.join(nixos, "clusters/local-stacked"));
  writeClusterNixFiles(nixos, variant("clusters/local.yaml", [["worker:       { count: 2", "worker:       { count: 3"]]));
  expect(snapshot(path.join(nixos, "clusters/local-stacked"))).toEqual(before);
  for (const cluster of ["local", "local-stacked"]) {
    const names = evalJson<string[]>(
      `let index = import ${nixPathLiteral(path.join(nixos, "clusters", cluster, "default.nix"))}; in map (h: (import index.hostFiles.\${h}).cluster.name) index.hosts`,
    );
    expect(new Set(names)).toEqual(new Set([cluster]));
  }
  expect(Object.keys(snapshot(path.join(nixos, "clusters/local/hosts")))).toContain("worker-3.nix");
});

it("keeps the saved apply-time outputs across a synth", () => {
  const nixos = path.join(work, "nixos");
  writeClusterNixFiles(nixos, local());
  const outputs = path.join(nixos, "clusters/local/outputs.json");
  writeFileSync(outputs, '{"lb-1": {"ssh_address": "192.0.2.1"}}\n');
  writeClusterNixFiles(nixos, local());
  expect(readFileSync(outputs, "utf8")).toBe('{"lb-1": {"ssh_address": "192.0.2.1"}}\n');
});

it("leaves the earlier files untouched when generating fails", () => {
  const nixos = path.join(work, "nixos");
  writeClusterNixFiles(nixos, local());
  const before = snapshot(nixos);
  const broken = { ...local(), nodePodCidrPrefix: 24.5 } as ClusterPlan;
  expect(() => writeClusterNixFiles(nixos, broken)).toThrow(/integer/);
  expect(snapshot(nixos)).toEqual(before);
});

describe("cdktf synth (main.ts)", () => {
  function synth(description: string, nixosDir: string, outDir: string) {
    return spawnSync(process.execPath, ["--import", "tsx", "main.ts"], {
      cwd: REPO,
      encoding: "utf8",
      env: { ...process.env, CLUSTER_CONFIG: description, NIXOS_OUT_DIR: nixosDir, CDKTF_OUTDIR: outDir, CHECKPOINT_DISABLE: "1" },
    });
  }

  it.each(["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/gcp.yaml", "clusters/laptop.yaml"])(
    "writes for %s exactly the committed files",
    (description) => {
      const cluster = loadCluster(description, REPO).plan.cluster;
      const nixos = path.join(work, "nixos");
      const result = synth(description, nixos, path.join(work, "cdktf.out"));
      expect(result.stderr).not.toMatch(/Error/);
      expect(result.status).toBe(0);
      const committed = snapshot(path.join(REPO, "nixos/clusters", cluster));
      delete committed["outputs.json"];
      expect(snapshot(path.join(nixos, "clusters", cluster))).toEqual(committed);
    },
    180_000,
  );

  it("fails on an invalid description and leaves the earlier files intact", () => {
    const nixos = path.join(work, "nixos");
    mkdirSync(nixos);
    cpSync(path.join(REPO, "nixos/clusters"), path.join(nixos, "clusters"), { recursive: true });
    const before = snapshot(nixos);
    // main.ts reads descriptions inside the repository only: the broken one goes to a scratch folder under the
    // git-ignored cdktf.out/.
    mkdirSync(path.join(REPO, "cdktf.out"), { recursive: true });
    const scratch = mkdtempSync(path.join(REPO, "cdktf.out", "nix-emit-"));
    try {
      const bad = path.join(scratch, "local.yaml");
      writeFileSync(bad, variantText("clusters/local.yaml", [["nodeCidr: 10.240.0.0/24", "nodeCidr: 10.240.0.1/24"]]));
      const result = synth(path.relative(REPO, bad), nixos, path.join(work, "cdktf.out"));
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/nodeCidr/);
      expect(snapshot(nixos)).toEqual(before);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 60_000);
});
