/**
 * The post-synth step that keeps key material on the operator's machine private: the output folder (where
 * `cdktf diff` leaves plan files holding the state) 0700 without stale plans, local state folders 0700 and state
 * files 0600 (created so, before terraform would create them with the umask's mode), secrets/ folders 0700. Real
 * files in a temporary repository root; one run of the bare terraform binary shows it keeps a state file's mode.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { SynthesizedStack } from "../src/export/manifest";
import { protectLocalState, protectOutdir, protectSecrets } from "../src/postsynth/private-files";
import { haveCommand } from "./helpers/netns";

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8).padStart(4, "0");

function stack(id: string, json: Record<string, unknown>): SynthesizedStack {
  return { id, dependsOn: [], workingDirectory: `stacks/${id}`, json };
}
const localBackend = (cluster: string, id: string) => ({ terraform: { backend: { local: { path: `../../../state/${cluster}/${id}.tfstate` } } } });

describe("private files after synthesis", () => {
  let root: string;
  let outdir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "private-files-"));
    outdir = path.join(root, "cdktf.out");
    for (const id of ["network", "compute", "pki"]) mkdirSync(path.join(outdir, "stacks", id), { recursive: true, mode: 0o755 });
    chmodSync(outdir, 0o755);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("makes the output folder 0700 and removes plan files an earlier `cdktf diff` left", () => {
    const plan = path.join(outdir, "stacks", "pki", "plan");
    writeFileSync(plan, "zip with tfstate", { mode: 0o644 });
    const removed = protectOutdir(outdir, [stack("pki", {}), stack("network", {})]);
    expect(removed).toEqual([plan]);
    expect(existsSync(plan)).toBe(false);
    expect(mode(outdir)).toBe("0700");
  });

  it("creates each local state file empty and 0600 in 0700 folders, and tightens existing state files and backups", () => {
    // A cluster created before: a 0755 folder with 0644 state and backup.
    const dir = path.join(root, "state", "local");
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(path.join(root, "state"), 0o755);
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, "network.tfstate"), '{"version":4}', { mode: 0o644 });
    writeFileSync(path.join(dir, "network.tfstate.backup"), '{"version":4}', { mode: 0o644 });
    const files = protectLocalState(root, outdir, ["network", "compute", "pki"].map((id) => stack(id, localBackend("local", id))));
    expect(files.map((f) => path.relative(root, f))).toEqual(["state/local/network.tfstate", "state/local/compute.tfstate", "state/local/pki.tfstate"]);
    expect([mode(path.join(root, "state")), mode(dir)]).toEqual(["0700", "0700"]);
    for (const f of [...files, path.join(dir, "network.tfstate.backup")]) expect([path.basename(f), mode(f)]).toEqual([path.basename(f), "0600"]);
    expect(readFileSync(path.join(dir, "network.tfstate"), "utf8")).toBe('{"version":4}');
    expect(readFileSync(path.join(dir, "pki.tfstate"), "utf8")).toBe("");
    for (const f of files) expect([path.basename(f), mode(`${f}.backup`)]).toEqual([path.basename(f), "0600"]);
  });

  it("leaves other backends and state outside state/ alone", () => {
    const gcs = stack("pki", { terraform: { backend: { gcs: { bucket: "b", prefix: "p/local/pki" } } } });
    const elsewhere = stack("compute", { terraform: { backend: { local: { path: "../../../../outside.tfstate" } } } });
    expect(protectLocalState(root, outdir, [gcs, elsewhere])).toEqual([]);
    expect(existsSync(path.join(root, "state"))).toBe(false);
    expect(existsSync(path.join(root, "..", "outside.tfstate"))).toBe(false);
  });

  it("makes secrets/ and secrets/<cluster>/ 0700 when they exist", () => {
    mkdirSync(path.join(root, "secrets", "local"), { recursive: true, mode: 0o755 });
    chmodSync(path.join(root, "secrets"), 0o755);
    protectSecrets(root, "local");
    expect([mode(path.join(root, "secrets")), mode(path.join(root, "secrets", "local"))]).toEqual(["0700", "0700"]);
    protectSecrets(root, "gcp");
    expect(existsSync(path.join(root, "secrets", "gcp"))).toBe(false);
  });

  const terraform = haveCommand("terraform") ? it : it.skip;
  terraform("is what terraform needs: empty 0600 state and backup files are accepted, written, and keep their mode under umask 022", () => {
    const [file] = protectLocalState(root, outdir, [stack("pki", localBackend("local", "pki"))]);
    const dir = path.join(outdir, "stacks", "pki");
    writeFileSync(
      path.join(dir, "cdk.tf.json"),
      JSON.stringify({ ...localBackend("local", "pki"), resource: { terraform_data: { key: { input: "stand-in for a key" } } } }),
    );
    const env = { ...process.env, TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" };
    const run = (args: string[]) => spawnSync("sh", ["-c", 'umask 022 && exec terraform "$@"', "sh", ...args], { cwd: dir, env, encoding: "utf8", timeout: 60_000 });
    const init = run(["init", "-input=false", "-no-color"]);
    expect([init.status, init.stderr]).toEqual([0, expect.any(String)]);
    const apply = run(["apply", "-auto-approve", "-input=false", "-no-color"]);
    expect([apply.status, apply.stdout]).toEqual([0, expect.stringContaining("1 added")]);
    // A second apply writes the backup (the previous state) too.
    const again = run(["apply", "-auto-approve", "-input=false", "-no-color", "-replace=terraform_data.key"]);
    expect([again.status, again.stdout]).toEqual([0, expect.stringContaining("1 added, 0 changed, 1 destroyed")]);
    expect(readFileSync(file, "utf8")).toContain("stand-in for a key");
    expect(readFileSync(`${file}.backup`, "utf8")).toContain("stand-in for a key");
    expect([mode(file), mode(`${file}.backup`)]).toEqual(["0600", "0600"]);
    expect(mode(path.dirname(file))).toBe("0700");
  });

  it("npm run diff removes the plan files cdktf diff writes, keeps its exit status, and runs it under umask 077", () => {
    mkdirSync(path.join(root, "scripts"));
    copyFileSync(path.join(__dirname, "..", "scripts", "cdktf-diff.sh"), path.join(root, "scripts", "cdktf-diff.sh"));
    mkdirSync(path.join(root, "bin"));
    // A stand-in npx: what cdktf diff does to the stack folders (a plan per stack), then a failing exit status.
    writeFileSync(
      path.join(root, "bin", "npx"),
      '#!/bin/sh\numask > umask.seen\necho "$@" > args.seen\nfor s in cdktf.out/stacks/*; do echo zip > "$s/plan"; done\nexit 3\n',
      { mode: 0o755 },
    );
    const r = spawnSync("sh", [path.join(root, "scripts", "cdktf-diff.sh"), "pki", "--no-color"], {
      cwd: tmpdir(),
      env: { ...process.env, PATH: `${path.join(root, "bin")}:${process.env.PATH ?? ""}` },
      encoding: "utf8",
    });
    expect(r.status).toBe(3);
    expect(readFileSync(path.join(root, "args.seen"), "utf8")).toBe("cdktf diff pki --no-color\n");
    expect(readFileSync(path.join(root, "umask.seen"), "utf8").trim()).toBe("0077");
    for (const id of ["network", "compute", "pki"]) expect(existsSync(path.join(outdir, "stacks", id, "plan"))).toBe(false);
  });
});
