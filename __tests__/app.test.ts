import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App } from "cdktf";
import { loadCluster } from "../src/cluster/load";
import { outdirProblem } from "../src/stack-dir";
import { buildClusterStacks } from "../stacks/app";
import { REPO_ROOT } from "./helpers/descriptions";

type Json = Record<string, any>;

/** Synthesizes one example cluster in-process into a temporary folder; returns the manifest and stacks. */
function synthCluster(file: string): { manifest: Json; stacks: Record<string, Json> } {
  const outdir = mkdtempSync(path.join(tmpdir(), "app-test-"));
  try {
    // As main.ts synthesizes: cdktf's validations would run `terraform version` (which a test machine may lack).
    const app = new App({ outdir, stackTraces: false, skipValidation: true });
    buildClusterStacks(app, loadCluster(file, REPO_ROOT).plan);
    app.synth();
    const manifest = JSON.parse(readFileSync(path.join(outdir, "manifest.json"), "utf8")) as Json;
    const stacks = Object.fromEntries(
      Object.keys(manifest.stacks).map((id) => [id, JSON.parse(readFileSync(path.join(outdir, "stacks", id, "cdk.tf.json"), "utf8")) as Json]),
    );
    return { manifest, stacks };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe("app wiring", () => {
  const local = synthCluster("clusters/local.yaml");
  const stacked = synthCluster("clusters/local-stacked.yaml");

  it("synthesizes exactly the stacks network, compute and pki", () => {
    expect(Object.keys(local.manifest.stacks).sort()).toEqual(["compute", "network", "pki"]);
  });

  it("makes compute depend only on network, and pki on compute", () => {
    expect(local.manifest.stacks.network.dependencies).toEqual([]);
    expect(local.manifest.stacks.compute.dependencies).toEqual(["network"]);
    expect(local.manifest.stacks.pki.dependencies).toContain("compute");
  });

  it("outputs the API endpoints from the network stack", () => {
    expect(local.stacks.network.output.api_url.value).toBe("https://10.240.0.2:6443");
    expect(local.stacks.network.output.api_node_url.value).toBe("https://10.240.0.2:6443");
  });

  it("outputs every planned host with its address and roles from the compute stack", () => {
    const hosts = local.stacks.compute.output.hosts.value as Json;
    expect(Object.keys(hosts).sort()).toEqual(["cp-1", "cp-2", "cp-3", "etcd-1", "etcd-2", "etcd-3", "lb-1", "lb-2", "worker-1", "worker-2"]);
    expect(hosts["cp-1"]).toMatchObject({ address: "10.240.0.20", roles: ["control-plane"] });
  });

  it("points every repository file a stack uses at that file, from the stack's folder cdktf.out/stacks/<id>", () => {
    const fromStack = (id: string, p: string): string => path.relative(REPO_ROOT, path.resolve(REPO_ROOT, "cdktf.out", "stacks", id, p));
    for (const id of ["network", "compute", "pki"]) expect(fromStack(id, local.stacks[id].terraform.backend.local.path)).toBe(`state/local/${id}.tfstate`);
    const files = Object.values(local.stacks.pki.resource.local_sensitive_file as Record<string, Json>).map((f) => fromStack("pki", f.filename as string));
    expect(files).toEqual(["secrets/local/admin.kubeconfig", "secrets/local/break-glass.kubeconfig"]);
    const knownHosts = Object.values(local.stacks.compute.resource.local_sensitive_file as Record<string, Json>).map((f) => fromStack("compute", f.filename as string));
    expect(knownHosts).toEqual(["secrets/local/known_hosts"]);
    const [base] = Object.values(local.stacks.compute.resource.libvirt_volume as Record<string, Json>).filter((v) => v.source);
    expect(fromStack("compute", base.source)).toBe("nixos/result-libvirt/nixos.qcow2");
  });

  it("keeps each cluster's state apart, at a relative path", () => {
    for (const id of ["network", "compute", "pki"]) {
      expect(local.stacks[id].terraform.backend).toEqual({ local: { path: `../../../state/local/${id}.tfstate` } });
      expect(stacked.stacks[id].terraform.backend).toEqual({ local: { path: `../../../state/local-stacked/${id}.tfstate` } });
    }
  });
});

describe("main.ts", () => {
  const run = (env: Record<string, string>) => {
    const outdir = mkdtempSync(path.join(tmpdir(), "main-test-"));
    const nixosDir = mkdtempSync(path.join(tmpdir(), "main-test-nixos-"));
    const result = spawnSync(process.execPath, ["--import", "tsx", "main.ts"], {
      cwd: REPO_ROOT,
      env: { ...process.env, CHECKPOINT_DISABLE: "1", CDKTF_OUTDIR: path.join(outdir, "out"), NIXOS_OUT_DIR: nixosDir, ...env },
      encoding: "utf8",
    });
    return { result, out: path.join(outdir, "out"), cleanup: () => [outdir, nixosDir].forEach((d) => rmSync(d, { recursive: true, force: true })) };
  };

  it("exits non-zero on a bad description, naming the field, and writes nothing", () => {
    const fixture = path.join(__dirname, "fixtures", "bad-etcd.yaml");
    const { result, out, cleanup } = run({ CLUSTER_CONFIG: path.relative(REPO_ROOT, fixture) });
    try {
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/__tests__\/fixtures\/bad-etcd\.yaml: the cluster description has 1 problem; nothing was synthesized/);
      expect(result.stderr).toMatch(/pools\.etcd\.count \(line 26\): got 0 etcd members/);
      expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(out)).toBe(false);
    } finally {
      cleanup();
    }
  });

  it("selects the description from the cdktf context key `cluster`", () => {
    const { result, out, cleanup } = run({ CDKTF_CONTEXT_JSON: JSON.stringify({ cluster: "clusters/local-stacked.yaml" }) });
    try {
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      const network = JSON.parse(readFileSync(path.join(out, "stacks", "network", "cdk.tf.json"), "utf8")) as Json;
      expect(network.terraform.backend.local.path).toBe("../../../state/local-stacked/network.tfstate");
    } finally {
      cleanup();
    }
  });
});

describe("main.ts output directory", () => {
  const runMain = (outdir: string, env: Record<string, string> = {}) => {
    const nixosDir = mkdtempSync(path.join(tmpdir(), "main-outdir-nixos-"));
    try {
      return spawnSync(process.execPath, ["--import", "tsx", "main.ts"], {
        cwd: REPO_ROOT,
        env: { ...process.env, CHECKPOINT_DISABLE: "1", CDKTF_OUTDIR: outdir, NIXOS_OUT_DIR: nixosDir, ...env },
        encoding: "utf8",
      });
    } finally {
      rmSync(nixosDir, { recursive: true, force: true });
    }
  };

  it("refuses a folder of the repository other than cdktf.out, naming the fix, and writes nothing", () => {
    const relative = `out-test-${process.pid}`;
    const outdir = path.join(REPO_ROOT, relative);
    try {
      const result = runMain(outdir);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(`output directory "${relative}" is inside the repository but is not cdktf.out; nothing was synthesized.`);
      expect(result.stderr).toContain('Fix: keep "output": "cdktf.out" in cdktf.json');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(outdir)).toBe(false);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it("refuses the repository root itself, before loading the description", () => {
    const result = runMain(REPO_ROOT, { CLUSTER_CONFIG: "clusters/does-not-exist.yaml" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('output directory "." is inside the repository but is not cdktf.out');
  });

  it.each<[string, string, "allowed" | "refused"]>([
    ["cdktf.out at the repository root", path.join(REPO_ROOT, "cdktf.out"), "allowed"],
    ["cdktf.out written with a trailing slash", `${path.join(REPO_ROOT, "cdktf.out")}${path.sep}`, "allowed"],
    ["a temporary folder outside the repository", path.join(tmpdir(), "synth-out"), "allowed"],
    ["a sibling folder whose name starts like the repository", `${REPO_ROOT}-copy${path.sep}cdktf.out`, "allowed"],
    ["a folder of the repository", path.join(REPO_ROOT, "build"), "refused"],
    ["a folder inside cdktf.out", path.join(REPO_ROOT, "cdktf.out", "stacks", "network"), "refused"],
  ])("%s: %s", (_what, outdir, verdict) => {
    expect(outdirProblem(REPO_ROOT, outdir) === undefined ? "allowed" : "refused").toBe(verdict);
  });

  it("removes terraform's cached backend of another cluster when `cdktf synth` runs for this one", () => {
    const work = mkdtempSync(path.join(tmpdir(), "main-backend-cache-"));
    const outdir = path.join(work, "out");
    try {
      expect(runMain(outdir, { CLUSTER_CONFIG: "clusters/local.yaml" }).status).toBe(0);
      const cache = path.join(outdir, "stacks", "network", ".terraform", "terraform.tfstate");
      mkdirSync(path.dirname(cache), { recursive: true });
      const backend = { type: "local", config: { path: "../../../state/local/network.tfstate", workspace_dir: null }, hash: 1 };
      writeFileSync(cache, JSON.stringify({ version: 3, terraform_version: "1.11.4", backend }));
      const other = runMain(outdir, { CLUSTER_CONFIG: "clusters/local-stacked.yaml" });
      expect(other.status).toBe(0);
      expect(existsSync(cache)).toBe(false);
      expect(other.stdout).toContain(`${cache}: removed terraform's cached backend (local ../../../state/local/network.tfstate, not cluster "local-stacked"'s)`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
