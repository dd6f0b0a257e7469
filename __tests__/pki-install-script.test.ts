/**
 * The delivery's remote-exec scripts (src/pki/install-script.ts), run for real with /bin/sh in a scratch
 * directory: files land with their modes, the staging directory is removed, and exactly the units whose
 * files changed are restarted (a stand-in `systemctl` on PATH records what it is asked).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import { bundleFor, type BundleFile } from "../src/pki/bundle";
import { installScript, prepareScript, stagedName, type ScriptOptions } from "../src/pki/install-script";
import { PKI_DIR } from "../src/pki/paths";
import { REPO_ROOT } from "./helpers/descriptions";

const plan = loadCluster("clusters/local.yaml", REPO_ROOT).plan;

/** The worker bundle, owned by whoever runs the test (chown to 0/162/156 would need root). */
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const workerBundle: BundleFile[] = bundleFor(plan, "worker-1").map((f) => ({ ...f, uid, gid }));

const SYSTEMCTL = `#!/bin/sh
# stand-in: "show -p LoadState --value <unit>" and "try-restart <unit>"
case "$1" in
  show) for u in $LOADED_UNITS; do [ "$u" = "$5" ] && { echo loaded; exit 0; }; done; echo not-found ;;
  try-restart) echo "$2" >> "$RESTART_LOG" ;;
  *) exit 1 ;;
esac
`;

let root: string;
let options: ScriptOptions;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "pki-install-"));
  mkdirSync(path.join(root, "bin"));
  writeFileSync(path.join(root, "bin", "systemctl"), SYSTEMCTL);
  chmodSync(path.join(root, "bin", "systemctl"), 0o755);
  options = { sshUser: "root", stagingDir: path.join(root, "run", "staging"), destDir: path.join(root, "host") };
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function run(lines: readonly string[], loaded: readonly string[]): { status: number | null; restarted: string[]; stderr: string } {
  const script = path.join(root, "script.sh");
  writeFileSync(script, lines.join("\n") + "\n");
  const log = path.join(root, "restarts.log");
  rmSync(log, { force: true });
  const result = spawnSync("/bin/sh", [script], {
    env: { PATH: `${path.join(root, "bin")}:${process.env.PATH}`, LOADED_UNITS: loaded.join(" "), RESTART_LOG: log },
    encoding: "utf8",
  });
  const restarted = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
  return { status: result.status, restarted, stderr: result.stderr };
}

/** Runs both steps of a delivery, as the provisioners do: prepare, copy the files, install. */
function deliver(contents: (f: BundleFile) => string, loaded: readonly string[]) {
  const prepared = run(prepareScript(options), loaded);
  expect(prepared.status).toBe(0);
  for (const f of workerBundle) writeFileSync(path.join(options.stagingDir!, stagedName(f)), contents(f));
  return run(installScript(workerBundle, options), loaded);
}

const installed = (f: BundleFile) => path.join(options.destDir!, f.path);
const ALL_UNITS = ["kubelet.service", "kube-proxy.service", "flannel.service"];

describe("install script", () => {
  it("installs every file with its mode, removes the staging directory, and restarts the units reading them", () => {
    const result = deliver((f) => `v1 ${f.fileId}\n`, ALL_UNITS);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    for (const f of workerBundle) {
      expect(readFileSync(installed(f), "utf8")).toBe(`v1 ${f.fileId}\n`);
      expect((statSync(installed(f)).mode & 0o777).toString(8)).toBe(f.mode.slice(1));
    }
    expect((statSync(path.join(options.destDir!, PKI_DIR)).mode & 0o777).toString(8)).toBe("755");
    expect(existsSync(options.stagingDir!)).toBe(false);
    expect(result.restarted).toEqual(ALL_UNITS);
  });

  it("restarts only the unit whose file changed, and nothing when nothing changed", () => {
    deliver((f) => `v1 ${f.fileId}\n`, ALL_UNITS);
    const renewed = deliver((f) => (f.path.endsWith("/kubelet.crt") ? "v2\n" : `v1 ${f.fileId}\n`), ALL_UNITS);
    expect(renewed.status).toBe(0);
    expect(renewed.restarted).toEqual(["kubelet.service"]);
    const again = deliver((f) => (f.path.endsWith("/kubelet.crt") ? "v2\n" : `v1 ${f.fileId}\n`), ALL_UNITS);
    expect(again.restarted).toEqual([]);
  });

  it("restarts every reader of the CA certificate when it changes", () => {
    deliver((f) => `v1 ${f.fileId}\n`, ALL_UNITS);
    const rotated = deliver((f) => (f.path.endsWith("/ca.crt") ? "new CA\n" : `v1 ${f.fileId}\n`), ALL_UNITS);
    expect(rotated.restarted).toEqual(ALL_UNITS);
  });

  it("restarts nothing on a first delivery, before the units are installed", () => {
    const result = deliver((f) => `v1 ${f.fileId}\n`, []);
    expect(result.status).toBe(0);
    expect(result.restarted).toEqual([]);
  });

  it("fails, and leaves no staged secrets behind, when a staged file is missing", () => {
    run(prepareScript(options), ALL_UNITS);
    const result = run(installScript(workerBundle, options), ALL_UNITS);
    expect(result.status).not.toBe(0);
    expect(result.restarted).toEqual([]);
    expect(existsSync(options.stagingDir!)).toBe(false);
  });

  it("runs every command through sudo -n for a login user other than root", () => {
    const lines = [...prepareScript({ sshUser: "ops" }), ...installScript(workerBundle, { sshUser: "ops" })].filter((l) => !l.trimStart().startsWith("#"));
    for (const verb of ["install ", "cmp ", "mv ", "rm ", "systemctl "]) {
      const uses = lines.filter((l) => new RegExp(`(^|\\s|\\$\\()(sudo -n )?${verb}`).test(l));
      expect(uses.length).toBeGreaterThan(0);
      for (const l of uses) expect(l).toMatch(new RegExp(`sudo -n ${verb}`));
    }
    expect([...prepareScript(options), ...installScript(workerBundle, options)].join("\n")).not.toContain("sudo");
  });

  it("has no empty line (terraform's remote-exec rejects empty inline commands)", () => {
    for (const l of [...prepareScript({ sshUser: "root" }), ...installScript(bundleFor(plan, "cp-1"), { sshUser: "root" })]) expect(l.trim()).not.toBe("");
  });
});
