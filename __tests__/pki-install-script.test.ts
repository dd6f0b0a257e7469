/**
 * The delivery's remote-exec scripts (src/pki/install-script.ts), run for real with /bin/sh in a scratch
 * directory: files land with their modes, the staging directory is removed, exactly the units whose files
 * changed are restarted, and a restarted etcd or kube-apiserver must pass its health check before anything
 * else restarts. Stand-ins on PATH: `systemctl` records restarts, `curl` plays the health endpoints on
 * 127.0.0.1 (healthy after a set number of failed probes, or never), `sleep` keeps the waits short.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { bundleFor, type BundleFile } from "../src/pki/bundle";
import { HEALTH_LIBRARY, installScript, prepareScript, RESTART_RECORD, stagedName, type ScriptOptions } from "../src/pki/install-script";
import { PKI_DIR } from "../src/pki/paths";
import { REPO_ROOT } from "./helpers/descriptions";

const plan = loadCluster("clusters/local.yaml", REPO_ROOT).plan;
const stacked = loadCluster("clusters/local-stacked.yaml", REPO_ROOT).plan;

/** Bundles owned by whoever runs the test (chown to 0/162/156 would need root). */
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const ownBundle = (p: ClusterPlan, host: string): BundleFile[] => bundleFor(p, host).map((f) => ({ ...f, uid, gid }));
const workerBundle = ownBundle(plan, "worker-1");
/** A stacked control-plane host: etcd, the API server and the rest of the control plane restart on one host. */
const stackedBundle = ownBundle(stacked, "cp-1");

const SYSTEMCTL = `#!/bin/sh
# stand-in: "show -p LoadState|ActiveState --value <unit>" and "try-restart <unit>"
case "$1" in
  show)
    case "$3" in
      LoadState) list=$LOADED_UNITS; yes=loaded; no=not-found ;;
      ActiveState) list=$ACTIVE_UNITS; yes=active; no=inactive ;;
      *) exit 1 ;;
    esac
    for u in $list; do [ "$u" = "$5" ] && { echo "$yes"; exit 0; }; done; echo "$no" ;;
  try-restart) echo "restart $2" >> "$EVENT_LOG" ;;
  *) exit 1 ;;
esac
`;

/**
 * stand-in for etcd's /health and kube-apiserver's /readyz on 127.0.0.1. $HEALTH_DIR/<port> holds how many more
 * probes fail ("never": all). Every file named by --cacert/--cert/--key must exist, as with the real curl.
 */
const CURL = `#!/bin/sh
echo "curl $*" >> "$CURL_LOG"
url=
while [ $# -gt 0 ]; do
  case "$1" in
    --cacert|--cert|--key) [ -r "$2" ] || { echo "curl: cannot read $2" >&2; exit 77; }; shift 2 ;;
    --max-time) shift 2 ;;
    -*) shift ;;
    *) url=$1; shift ;;
  esac
done
echo "probe $url" >> "$EVENT_LOG"
port=\${url#https://127.0.0.1:}; port=\${port%%/*}
left=$(cat "$HEALTH_DIR/$port" 2>/dev/null || echo 0)
if [ "$left" = never ] || [ "$left" -gt 0 ]; then
  [ "$left" = never ] || echo $((left - 1)) > "$HEALTH_DIR/$port"
  case "$url" in
    */health) echo '{"health":"false","reason":"RAFT NO LEADER"}' ;;
    *) exit 22 ;;
  esac
  exit 0
fi
case "$url" in
  https://127.0.0.1:2379/health) echo '{"health":"true","reason":""}' ;;
  https://127.0.0.1:6443/readyz) printf ok ;;
  *) exit 7 ;;
esac
`;

/** The real sleep, for the stand-in that shortens every wait to a tenth of a second. */
const REAL_SLEEP = spawnSync("/bin/sh", ["-c", "command -v sleep"], { encoding: "utf8" }).stdout.trim();

function tool(name: string, text: string): void {
  writeFileSync(path.join(root, "bin", name), text);
  chmodSync(path.join(root, "bin", name), 0o755);
}

let root: string;
let options: ScriptOptions;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "pki-install-"));
  mkdirSync(path.join(root, "bin"));
  mkdirSync(path.join(root, "health"));
  tool("systemctl", SYSTEMCTL);
  tool("curl", CURL);
  tool("sleep", `#!/bin/sh\nexec ${REAL_SLEEP} 0.1\n`);
  options = { sshUser: "root", stagingDir: path.join(root, "run", "staging"), destDir: path.join(root, "host") };
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

interface Run {
  readonly status: number | null;
  readonly restarted: string[];
  /** Restarts ("restart <unit>") and health probes ("probe <url>"), in order. */
  readonly events: string[];
  /** Every curl command line. */
  readonly curls: string[];
  readonly stdout: string;
  readonly stderr: string;
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").filter(Boolean) : []);

/** Runs a script; `loaded` units are installed, `active` ones (default: the loaded ones) are running. */
function run(script: readonly string[], loaded: readonly string[], active: readonly string[] = loaded): Run {
  const file = path.join(root, "script.sh");
  writeFileSync(file, script.join("\n") + "\n");
  const eventLog = path.join(root, "events.log");
  const curlLog = path.join(root, "curl.log");
  rmSync(eventLog, { force: true });
  rmSync(curlLog, { force: true });
  const result = spawnSync("/bin/sh", [file], {
    env: {
      PATH: `${path.join(root, "bin")}:${process.env.PATH}`,
      LOADED_UNITS: loaded.join(" "),
      ACTIVE_UNITS: active.join(" "),
      EVENT_LOG: eventLog,
      CURL_LOG: curlLog,
      HEALTH_DIR: path.join(root, "health"),
    },
    encoding: "utf8",
  });
  const events = lines(eventLog);
  const restarted = events.filter((e) => e.startsWith("restart ")).map((e) => e.slice("restart ".length));
  return { status: result.status, restarted, events, curls: lines(curlLog), stdout: result.stdout, stderr: result.stderr };
}

/** Runs both steps of a delivery, as the provisioners do: prepare, copy the files, install. */
function deliver(contents: (f: BundleFile) => string, loaded: readonly string[], bundle: readonly BundleFile[] = workerBundle, active?: readonly string[]): Run {
  const prepared = run(prepareScript(options), loaded);
  expect(prepared.status).toBe(0);
  for (const f of bundle) writeFileSync(path.join(options.stagingDir!, stagedName(f)), contents(f));
  return run(installScript(bundle, options), loaded, active);
}

/** The health endpoint on `port` fails its next `count` probes (or every probe). */
const unhealthyFor = (port: number, count: number | "never") => writeFileSync(path.join(root, "health", String(port)), String(count));

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
    const lines = [...prepareScript({ sshUser: "ops" }), ...installScript(stackedBundle, { sshUser: "ops" })].filter((l) => !l.trimStart().startsWith("#"));
    for (const verb of ["install ", "cmp ", "mv ", "rm ", "systemctl ", "tee ", "sync ", "chmod ", "cat "]) {
      const uses = lines.filter((l) => new RegExp(`(^|\\s|\\$\\()(sudo -n )?${verb}`).test(l));
      expect([verb, uses.length > 0]).toEqual([verb, true]);
      for (const l of uses) expect(l).toMatch(new RegExp(`sudo -n ${verb}`));
    }
    // curl: health.sh prefixes it with K8S_HEALTH_SUDO (the etcd health-check client key is etcd's).
    expect(lines).toContain("K8S_HEALTH_SUDO='sudo -n '");
    const asRoot = [...prepareScript(options), ...installScript(stackedBundle, options)].filter((l) => !l.trimStart().startsWith("#"));
    expect(asRoot).toContain("K8S_HEALTH_SUDO=''");
    expect(asRoot.join("\n")).not.toContain("sudo -n");
  });

  it("probes nothing on a worker: none of its units is one that others wait for", () => {
    deliver((f) => `v1 ${f.fileId}\n`, ALL_UNITS);
    const renewed = deliver((f) => `v2 ${f.fileId}\n`, ALL_UNITS);
    expect(renewed.status).toBe(0);
    expect(renewed.restarted).toEqual(ALL_UNITS);
    expect(renewed.curls).toEqual([]);
  });

  it("has no empty line (terraform's remote-exec rejects empty inline commands)", () => {
    for (const l of [...prepareScript({ sshUser: "root" }), ...installScript(bundleFor(plan, "cp-1"), { sshUser: "root" })]) expect(l.trim()).not.toBe("");
  });
});

describe("install script: rolling restarts wait for health", () => {
  const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-addon-manager", "kubelet", "kube-proxy", "flannel"].map(
    (u) => `${u}.service`,
  );
  const ETCD_HEALTH = "https://127.0.0.1:2379/health";
  const READYZ = "https://127.0.0.1:6443/readyz";
  const renewEverything = () => {
    expect(deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle).status).toBe(0);
    return deliver((f) => `v2 ${f.fileId}\n`, CONTROL_PLANE, stackedBundle);
  };

  it("restarts the API server only once the restarted etcd member is healthy, and the rest only once the API server is ready", () => {
    expect(deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle).status).toBe(0);
    unhealthyFor(2379, 2);
    unhealthyFor(6443, 1);
    const result = deliver((f) => `v2 ${f.fileId}\n`, CONTROL_PLANE, stackedBundle);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.events).toEqual([
      "restart etcd.service",
      `probe ${ETCD_HEALTH}`,
      `probe ${ETCD_HEALTH}`,
      `probe ${ETCD_HEALTH}`,
      "restart kube-apiserver.service",
      `probe ${READYZ}`,
      `probe ${READYZ}`,
      ...CONTROL_PLANE.slice(2).map((u) => `restart ${u}`),
    ]);
  });

  it("probes etcd with the delivered health-check client certificate and the API server against the delivered cluster CA", () => {
    const result = renewEverything();
    expect(result.status).toBe(0);
    const at = (file: string) => path.join(options.destDir!, PKI_DIR, file);
    const etcdProbe = result.curls.find((c) => c.endsWith(ETCD_HEALTH))!;
    expect(etcdProbe).toContain(`--cacert ${at("etcd/ca.crt")} --cert ${at("etcd/healthcheck-client.crt")} --key ${at("etcd/healthcheck-client.key")}`);
    const readyz = result.curls.find((c) => c.endsWith(READYZ))!;
    expect(readyz).toContain(`--cacert ${at("ca.crt")}`);
    expect(readyz).not.toContain("--insecure");
  });

  it("fails the delivery with a clear message when the restarted etcd member never becomes healthy, restarting nothing after it", () => {
    expect(deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle).status).toBe(0);
    unhealthyFor(2379, "never");
    options = { ...options, healthTimeoutSeconds: 1 };
    const result = deliver((f) => `v2 ${f.fileId}\n`, CONTROL_PLANE, stackedBundle);
    expect(result.status).not.toBe(0);
    expect(result.restarted).toEqual(["etcd.service"]);
    expect(result.events.filter((e) => e.startsWith("probe")).length).toBeGreaterThan(1);
    expect(result.stderr).toContain(
      `etcd.service was restarted for new PKI files but did not pass its health check (k8s_healthy etcd-member: etcd-member: not healthy (/health answered: {"health":"false","reason":"RAFT NO LEADER"})) within 1 s`,
    );
    expect(result.stderr).toContain("journalctl -u etcd.service");
    expect(existsSync(options.stagingDir!)).toBe(false);
  });

  it("fails the delivery when the restarted API server never becomes ready, before restarting the other components", () => {
    expect(deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle).status).toBe(0);
    unhealthyFor(6443, "never");
    options = { ...options, healthTimeoutSeconds: 1 };
    const result = deliver((f) => `v2 ${f.fileId}\n`, CONTROL_PLANE, stackedBundle);
    expect(result.status).not.toBe(0);
    expect(result.restarted).toEqual(["etcd.service", "kube-apiserver.service"]);
    expect(result.stderr).toContain("kube-apiserver.service was restarted for new PKI files but did not pass its health check (k8s_healthy apiserver: apiserver: not ready (/readyz answered: nothing))");
  });

  it("waits for nothing on a first delivery, before the units are installed, nor for units that are not running", () => {
    const first = deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle);
    expect(first.status).toBe(0);
    expect(first.events).toEqual([]);
    unhealthyFor(2379, "never");
    unhealthyFor(6443, "never");
    const stopped = deliver((f) => `v2 ${f.fileId}\n`, CONTROL_PLANE, stackedBundle, ["kubelet.service"]);
    expect(stopped.status).toBe(0);
    expect(stopped.events).toEqual(["restart kubelet.service"]);
  });

  it("waits for health only after a restart: a renewal of other files probes nothing", () => {
    expect(deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle).status).toBe(0);
    const result = deliver((f) => (f.path.endsWith("/scheduler.crt") ? "v2\n" : `v1 ${f.fileId}\n`), CONTROL_PLANE, stackedBundle);
    expect(result.status).toBe(0);
    expect(result.events).toEqual(["restart kube-scheduler.service"]);
  });

  it("says on the delivery's output what it waits for", () => {
    const result = renewEverything();
    expect(result.stdout).toContain("waiting for etcd.service to pass its health check (k8s_healthy etcd-member, up to 120 s)");
    expect(result.stdout).toContain("etcd-member: healthy");
    expect(result.stdout).toContain("waiting for kube-apiserver.service to pass its health check (k8s_healthy apiserver, up to 120 s)");
    expect(result.stdout).toContain("apiserver: ready");
  });
});

/**
 * The host's record of owed restarts: a delivery that stops part-way (failed health gate, killed, host rebooted)
 * leaves installed files that `cmp` sees as unchanged on the next run; the record makes that run restart them.
 */
describe("install script: restarts owed across failed, killed and repeated runs", () => {
  const CONTROL_PLANE = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-addon-manager", "kubelet", "kube-proxy", "flannel"];
  const SERVICES = CONTROL_PLANE.map((u) => `${u}.service`);
  const record = () => path.join(options.destDir!, RESTART_RECORD);
  const owed = () => (existsSync(record()) ? readFileSync(record(), "utf8").trim().split("\n") : []);
  const REAL_MV = spawnSync("/bin/sh", ["-c", "command -v mv"], { encoding: "utf8" }).stdout.trim();

  it("completes the restarts a failed health gate left owed, then restarts nothing", () => {
    expect(deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle).status).toBe(0);
    expect(owed()).toEqual([]);
    unhealthyFor(6443, "never");
    options = { ...options, healthTimeoutSeconds: 1 };
    const failed = deliver((f) => `v2 ${f.fileId}\n`, SERVICES, stackedBundle);
    expect(failed.status).not.toBe(0);
    expect(failed.restarted).toEqual(["etcd.service", "kube-apiserver.service"]);
    // Every file is in place, so a re-run's cmp sees nothing new; the record still owes the rest.
    for (const f of stackedBundle) expect(readFileSync(installed(f), "utf8")).toBe(`v2 ${f.fileId}\n`);
    expect(owed()).toEqual(CONTROL_PLANE.slice(1));
    expect(failed.stderr).toContain(`the restart stays owed in ${record()}`);
    const recordDir = path.dirname(record());
    expect((statSync(recordDir).mode & 0o777).toString(8)).toBe("700");
    expect((statSync(record()).mode & 0o777).toString(8)).toBe("600");

    unhealthyFor(6443, 0);
    const retried = deliver((f) => `v2 ${f.fileId}\n`, SERVICES, stackedBundle);
    expect(retried.stderr).toBe("");
    expect(retried.status).toBe(0);
    // etcd passed its gate in the failed run: it is not restarted again.
    expect(retried.events).toEqual(["restart kube-apiserver.service", "probe https://127.0.0.1:6443/readyz", ...SERVICES.slice(2).map((u) => `restart ${u}`)]);
    expect(existsSync(record())).toBe(false);

    const again = deliver((f) => `v2 ${f.fileId}\n`, SERVICES, stackedBundle);
    expect(again.status).toBe(0);
    expect(again.events).toEqual([]);
  });

  it("keeps owing a restart that failed its health gate until it passes, also across a reboot", () => {
    expect(deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle).status).toBe(0);
    unhealthyFor(2379, "never");
    options = { ...options, healthTimeoutSeconds: 1 };
    expect(deliver((f) => `v2 ${f.fileId}\n`, SERVICES, stackedBundle).status).not.toBe(0);
    expect(owed()).toEqual(CONTROL_PLANE);
    // A reboot empties /run (the staging directory), not the record; the re-run still gates on etcd's health.
    rmSync(path.join(root, "run"), { recursive: true, force: true });
    const stillSick = deliver((f) => `v2 ${f.fileId}\n`, SERVICES, stackedBundle);
    expect(stillSick.status).not.toBe(0);
    expect(stillSick.restarted).toEqual(["etcd.service"]);
    expect(owed()).toEqual(CONTROL_PLANE);
    unhealthyFor(2379, 0);
    const healed = deliver((f) => `v2 ${f.fileId}\n`, SERVICES, stackedBundle);
    expect(healed.status).toBe(0);
    expect(healed.restarted).toEqual(SERVICES);
    expect(owed()).toEqual([]);
  });

  it("records the owed restarts before installing anything: a run killed between two installs is completed by the next", () => {
    deliver((f) => `v1 ${f.fileId}\n`, ALL_UNITS);
    // flannel.crt and kubelet.crt change; the run is killed (SIGKILL, no trap) as it renames kubelet.crt into place.
    const renewed = (f: BundleFile) => (/\/(flannel|kubelet)\.crt$/.test(f.path) ? `v2 ${f.fileId}\n` : `v1 ${f.fileId}\n`);
    const kubeletCrt = installed(workerBundle.find((f) => f.path.endsWith("/kubelet.crt"))!);
    const flannelCrt = installed(workerBundle.find((f) => f.path.endsWith("/flannel.crt"))!);
    tool("mv", `#!/bin/sh\nif [ "$3" = ${JSON.stringify(kubeletCrt)} ]; then kill -9 $PPID; exit 1; fi\nexec ${REAL_MV} "$@"\n`);
    const killed = deliver(renewed, ALL_UNITS);
    expect(killed.status).toBeNull();
    expect(readFileSync(flannelCrt, "utf8")).toBe("v2 flannelCert\n");
    expect(readFileSync(kubeletCrt, "utf8")).toBe("v1 kubeletCert\n");
    expect(killed.restarted).toEqual([]);
    expect(owed()).toEqual(["kubelet", "flannel"]);

    rmSync(path.join(root, "bin", "mv"));
    const completed = deliver(renewed, ALL_UNITS);
    expect(completed.status).toBe(0);
    // flannel.crt is already identical on disk; only the record says flannel still runs with the old one.
    expect(completed.restarted).toEqual(["kubelet.service", "flannel.service"]);
    expect(readFileSync(kubeletCrt, "utf8")).toBe("v2 kubeletCert\n");
    expect(owed()).toEqual([]);
    expect(deliver(renewed, ALL_UNITS).restarted).toEqual([]);
  });

  it("owes nothing when a staged file is missing: it stops before the record and before any install", () => {
    deliver((f) => `v1 ${f.fileId}\n`, ALL_UNITS);
    run(prepareScript(options), ALL_UNITS);
    for (const f of workerBundle.slice(1)) writeFileSync(path.join(options.stagingDir!, stagedName(f)), `v2 ${f.fileId}\n`);
    const result = run(installScript(workerBundle, options), ALL_UNITS);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`staged file ${options.stagingDir}/${stagedName(workerBundle[0])} is missing; nothing was installed`);
    expect(owed()).toEqual([]);
    for (const f of workerBundle) expect(readFileSync(installed(f), "utf8")).toBe(`v1 ${f.fileId}\n`);
  });

  it("embeds the project's health definition, scripts/lib/health.sh, with this host's files", () => {
    const script = installScript(stackedBundle, options);
    const library = readFileSync(HEALTH_LIBRARY, "utf8").split("\n").filter((l) => l.trim() !== "");
    const at = script.indexOf(library[0]);
    expect(at).toBeGreaterThan(0);
    expect(script.slice(at, at + library.length)).toEqual(library);
    expect(script).toContain(`K8S_ETCD_CA='${options.destDir}${PKI_DIR}/etcd/ca.crt'`);
    expect(script).toContain(`K8S_CA='${options.destDir}${PKI_DIR}/ca.crt'`);
    expect(script.join("\n")).toContain('await_healthy "$1" etcd-member');
    expect(script.join("\n")).toContain('await_healthy "$1" apiserver');
  });
});

describe("install script: a login user other than root", () => {
  it("records, installs, restarts and gates through sudo -n, and completes a failed run the same way", () => {
    // stand-in sudo: checks -n (never prompts) and runs the command; every privileged step goes through it.
    tool("sudo", `#!/bin/sh\n[ "$1" = -n ] || { echo "sudo without -n" >&2; exit 1; }\nshift\necho "sudo $1" >> "$EVENT_LOG.sudo"\nexec "$@"\n`);
    options = { ...options, sshUser: "ops", healthTimeoutSeconds: 1 };
    const SERVICES = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-addon-manager", "kubelet", "kube-proxy", "flannel"].map((u) => `${u}.service`);
    expect(deliver((f) => `v1 ${f.fileId}\n`, [], stackedBundle).status).toBe(0);
    unhealthyFor(6443, "never");
    const failed = deliver((f) => `v2 ${f.fileId}\n`, SERVICES, stackedBundle);
    expect(failed.status).not.toBe(0);
    expect(readFileSync(path.join(options.destDir!, RESTART_RECORD), "utf8")).toBe(SERVICES.slice(1).map((s) => s.replace(".service", "")).join("\n") + "\n");
    unhealthyFor(6443, 0);
    const completed = deliver((f) => `v2 ${f.fileId}\n`, SERVICES, stackedBundle);
    expect(completed.status).toBe(0);
    expect(completed.restarted).toEqual(SERVICES.slice(1));
    const sudoed = new Set(readFileSync(path.join(root, "events.log.sudo"), "utf8").trim().split("\n"));
    for (const verb of ["install", "cmp", "mv", "tee", "sync", "chmod", "cat", "rm", "systemctl", "curl"]) expect([verb, sudoed.has(`sudo ${verb}`)]).toEqual([verb, true]);
  });
});
