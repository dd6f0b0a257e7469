/**
 * scripts/deploy-cluster.sh against a real 3-member etcd (TLS, at the planned addresses 10.240.0.10-12 in network
 * namespaces) with stand-ins for deploy-rs (records its arguments; "activating" an etcd member restarts it),
 * ssh (runs the remote command in the host's namespace, so the project's health.sh really asks etcd) and
 * kubectl (node readiness). Control-plane hosts and load balancers answer /readyz with openssl s_server in their
 * own namespaces. Proves: role order, one host per deploy-rs run (workers in batches), every run with
 * --rollback-succeeded false, the bootstrap mode, and that a member killed mid-rollout stops the rollout there,
 * named, with a working resume command.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { copyClusterFiles, EtcdLab, etcdLabUnavailable, issue, makeCa } from "./helpers/etcd-lab";
import type { LabProcess } from "./helpers/netns";
import { REPO } from "./nix/eval";

const unavailable = etcdLabUnavailable() || (spawnSync("sh", ["-c", "command -v nix-instantiate"]).status === 0 ? "" : "nix-instantiate is not installed");
const describeLab = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`skipping the deploy rollout test against real etcd: ${unavailable}`);

const MEMBERS = [
  { name: "etcd-1", address: "10.240.0.10" },
  { name: "etcd-2", address: "10.240.0.11" },
  { name: "etcd-3", address: "10.240.0.12" },
];
// Hosts of clusters/local that answer /readyz (API servers; load balancers forward to them).
const READYZ_HOSTS = [
  { name: "cp-1", address: "10.240.0.20" },
  { name: "cp-2", address: "10.240.0.21" },
  { name: "cp-3", address: "10.240.0.22" },
  { name: "lb-1", address: "10.240.0.5" },
  { name: "lb-2", address: "10.240.0.6" },
];
const ROLE_ORDER = ["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "lb-1", "lb-2", "worker-1", "worker-2"];

const RECORD = 'printf "%s" "$(basename "$0")" >>"$CALLS"; printf "\\t%s" "$@" >>"$CALLS"; echo >>"$CALLS"';

const SHIMS: Readonly<Record<string, string>> = {
  nix: RECORD,
  // deploy-rs: activating an etcd member restarts its etcd (KILL_ON: it stays stopped); FAIL_ON fails activation.
  // KILL_DURING must be set (":" for nobody).
  deploy: `${RECORD}
hosts=()
for a in "$@"; do case $a in "./nixos#local-"*) hosts+=("\${a#./nixos#local-}") ;; esac; done
for h in "\${hosts[@]}"; do
  if [ "$h" = "\${FAIL_ON:-}" ]; then echo "stand-in deploy-rs: activation of $h failed, rolled back" >&2; exit 1; fi
done
for h in "\${hosts[@]}"; do case $h in etcd-*) "$MEMBER" stop "$h" ;; esac; done
# KILL_DURING=<host>:<member>: another member dies while <host> is deployed.
for h in "\${hosts[@]}"; do [ "$h" != "\${KILL_DURING%%:*}" ] || "$MEMBER" stop "\${KILL_DURING#*:}"; done
for h in "\${hosts[@]}"; do case $h in etcd-*) [ "$h" = "\${KILL_ON:-}" ] || "$MEMBER" start "$h" ;; esac; done`,
  // ssh [-o opt]... user@address command: the command runs in that address's namespace, stdin passed on.
  ssh: `${RECORD}
while [ $# -gt 0 ]; do case $1 in -o|-p|-i|-l|-F|-J) shift 2 ;; -*) shift ;; *) break ;; esac; done
address=\${1#*@}
shift
name=$(awk -v a="$address" '$1 == a {print $3}' "$LAB_HOSTS")
[ -n "$name" ] || { echo "ssh: connect to host $address port 22: No route to host" >&2; exit 255; }
exec "$IN_HOST" "$name" sh -c "$*"`,
  kubectl: `${RECORD}
if [ "$1 $2" = "get node" ]; then
  if grep -qx "$3" "$NOT_READY" 2>/dev/null; then echo False; else echo True; fi
fi`,
};

describeLab("scripts/deploy-cluster.sh with a real etcd cluster", () => {
  let root: string;
  let etcd: EtcdLab;
  let callsFile: string;
  /** The /readyz stand-in of each API server and load balancer, by host. */
  const readyz = new Map<string, LabProcess>();
  let startReadyz: (host: string) => Promise<void>;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "deploy-rollout-"));
    mkdirSync(path.join(root, "scripts/lib"), { recursive: true });
    cpSync(path.join(REPO, "scripts/deploy-cluster.sh"), path.join(root, "scripts/deploy-cluster.sh"));
    cpSync(path.join(REPO, "scripts/lib"), path.join(root, "scripts/lib"), { recursive: true });
    // The generated host files of clusters/local, with the PKI directory moved to where this test made it.
    copyClusterFiles(REPO, root, "local");

    etcd = new EtcdLab(root, MEMBERS, "dr");
    // The cluster CA (pki/ca.crt, as the host files name it) and a /readyz stand-in on every API host.
    makeCa(path.join(root, "pki"), "kubernetes-ca");
    issue(path.join(root, "pki"), "apiserver", "kube-apiserver", ["IP:127.0.0.1"], "serverAuth");
    const www = path.join(root, "www");
    mkdirSync(www);
    writeFileSync(path.join(www, "readyz"), "ok");
    startReadyz = async (host: string) => {
      readyz.set(
        host,
        etcd.lab.spawn(host, ["sh", "-c", `cd ${www} && exec openssl s_server -quiet -WWW -accept 127.0.0.1:6443 -cert ${root}/pki/apiserver.crt -key ${root}/pki/apiserver.key`]),
      );
      // Listening once curl gets an answer.
      for (let i = 0; etcd.lab.exec(host, ["curl", "-sk", "--max-time", "1", "https://127.0.0.1:6443/readyz"]).stdout !== "ok"; i++) {
        if (i === 100) throw new Error(`the /readyz stand-in of ${host} does not answer: ${readyz.get(host)!.log()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    for (const h of READYZ_HOSTS) {
      etcd.addHost(h.name, h.address);
      await startReadyz(h.name);
    }

    mkdirSync(path.join(root, "bin"));
    for (const [name, body] of Object.entries(SHIMS)) {
      writeFileSync(path.join(root, "bin", name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(path.join(root, "bin", name), 0o755);
    }
    callsFile = path.join(root, "calls");
  }, 120_000);

  afterAll(async () => {
    await etcd?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  beforeEach(() => rmSync(callsFile, { force: true }));

  function deploy(args: readonly string[], env: Readonly<Record<string, string>> = {}) {
    const r = spawnSync(path.join(root, "scripts/deploy-cluster.sh"), args, {
      cwd: root,
      encoding: "utf8",
      timeout: 240_000,
      env: {
        ...process.env,
        PATH: `${path.join(root, "bin")}:${process.env.PATH ?? ""}`,
        NIX_PATH: "",
        CALLS: callsFile,
        DEPLOY: "deploy",
        MEMBER: etcd.memberScript,
        LAB_HOSTS: path.join(root, "hosts"),
        IN_HOST: etcd.inHostScript,
        NOT_READY: path.join(root, "not-ready"),
        KUBECONFIG: path.join(root, "admin.kubeconfig"),
        HEALTH_INTERVAL: "1",
        HEALTH_TIMEOUT: "30",
        KILL_DURING: ":",
        ...env,
      },
    });
    return { status: r.status, stderr: r.stderr, stdout: r.stdout };
  }

  function calls(): string[][] {
    if (!existsSync(callsFile)) return [];
    return readFileSync(callsFile, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => line.split("\t"));
  }
  /** The hosts of each deploy-rs run, in order. */
  const deployedSteps = () =>
    calls()
      .filter(([c]) => c === "deploy")
      .map((args) => args.filter((a) => a.startsWith("./nixos#local-")).map((a) => a.replace("./nixos#local-", "")));
  const deployArgs = () => calls().filter(([c]) => c === "deploy").map(([, ...args]) => args);

  /** Every deploy-rs run keeps the hosts before it: --rollback-succeeded false, and never a "true". */
  function expectNoRollbackOfSucceeded(): void {
    for (const args of deployArgs()) {
      const i = args.indexOf("--rollback-succeeded");
      expect(args[i + 1]).toBe("false");
      expect(args.filter((a) => a.startsWith("--rollback-succeeded")).length).toBe(1);
    }
  }

  it("refuses a rolling deploy of a cluster whose etcd has no quorum, before deploying anything, pointing at --bootstrap", () => {
    const r = deploy(["local", "--", "--skip-checks"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("not deploying etcd-1: the other etcd members must be healthy first");
    expect(r.stderr).toContain("https://10.240.0.11:2379 not healthy");
    expect(r.stderr).toContain("--bootstrap");
    expect(deployedSteps()).toEqual([]);
  });

  it("bootstraps: every etcd member in one run, the cluster healthy, then the rest one at a time (workers in batches)", async () => {
    const r = deploy(["--bootstrap", "--batch", "2", "local", "--", "--skip-checks"]);
    expect(r.stderr).toContain("cluster local deployed");
    expect(r.status).toBe(0);
    expect(deployedSteps()).toEqual([["etcd-1", "etcd-2", "etcd-3"], ["cp-1"], ["cp-2"], ["cp-3"], ["lb-1"], ["lb-2"], ["worker-1", "worker-2"]]);
    expectNoRollbackOfSucceeded();
    expect(r.stderr).toContain("etcd-1: etcd-cluster: all 3 members healthy");
    expect(r.stderr).toContain("lb-1: load-balancer: forwards to a ready API server");
    expect(r.stderr).toContain("worker-2: node-ready: worker-2 is Ready");
    // No secrets/local/known_hosts here: SSH and deploy-rs keep the user's own host key settings.
    for (const [, ...args] of calls().filter(([c]) => c === "ssh")) expect(args.join(" ")).not.toContain("UserKnownHostsFile");
    for (const args of deployArgs()) expect(args).not.toContain("--ssh-opts");
    expect(await etcd.waitHealthy(5)).toBe(true);

    // Once etcd has a quorum, --bootstrap (every member at once) is refused in favour of a rolling deploy.
    rmSync(callsFile, { force: true });
    const again = deploy(["--bootstrap", "local", "--", "--skip-checks"]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("not bootstrapping: the etcd cluster is already running (etcd-cluster: all 3 members healthy)");
    expect(again.stderr).toContain("deploy it rolling: scripts/deploy-cluster.sh local");
    expect(deployedSteps()).toEqual([]);
  }, 240_000);

  it("rolls etcd members, control plane, load balancers and workers one at a time, each after the previous is healthy", async () => {
    // The cluster's known_hosts file: ssh and deploy-rs verify host keys against it.
    mkdirSync(path.join(root, "secrets/local"), { recursive: true });
    writeFileSync(path.join(root, "secrets/local/known_hosts"), "");
    const pidBefore = readFileSync(path.join(root, "members/etcd-2/pid"), "utf8");
    try {
      const r = deploy(["local", "--", "--skip-checks"]);
      expect(r.stderr).toContain("cluster local deployed");
      expect(r.status).toBe(0);
    } finally {
      rmSync(path.join(root, "secrets"), { recursive: true, force: true });
    }
    expect(deployedSteps()).toEqual(ROLE_ORDER.map((h) => [h]));
    expectNoRollbackOfSucceeded();
    // etcd-2 really restarted, and the rollout waited for it: its health was checked on it between its deploy
    // and the next one.
    expect(readFileSync(path.join(root, "members/etcd-2/pid"), "utf8")).not.toBe(pidBefore);
    const sequence = calls().map((call) => call.join(" "));
    const at = (...parts: string[]) => sequence.findIndex((s) => parts.every((part) => s.includes(part)));
    const memberCheck = at("root@10.240.0.11", "sh -s -- etcd-member");
    const clusterCheck = at("root@10.240.0.11", "sh -s -- etcd-cluster https://10.240.0.10:2379 https://10.240.0.11:2379 https://10.240.0.12:2379");
    expect(at("--targets ./nixos#local-etcd-2")).toBeLessThan(memberCheck);
    expect(memberCheck).toBeLessThan(clusterCheck);
    expect(clusterCheck).toBeLessThan(at("--targets ./nixos#local-etcd-3"));
    // ssh and deploy-rs used the known_hosts file, strictly.
    const sshCalls = calls().filter(([c]) => c === "ssh");
    expect(sshCalls.length).toBeGreaterThan(0);
    for (const args of sshCalls) {
      expect(args).toEqual(expect.arrayContaining(["UserKnownHostsFile=secrets/local/known_hosts", "StrictHostKeyChecking=yes"]));
    }
    for (const args of deployArgs()) {
      expect(args[args.indexOf("--ssh-opts") + 1]).toBe("-o UserKnownHostsFile=secrets/local/known_hosts -o StrictHostKeyChecking=yes");
    }
    expect(await etcd.waitHealthy(5)).toBe(true);
  }, 240_000);

  it("stops at a member that is killed mid-rollout, names it, deploys nothing after it, and resumes from it", async () => {
    const r = deploy(["local", "--", "--skip-checks"], { KILL_ON: "etcd-2", HEALTH_TIMEOUT: "8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("STOPPED: etcd-2 (etcd member) did not become healthy within 8s");
    expect(r.stderr).toContain("etcd-member: not healthy (/health answered: nothing)");
    expect(r.stderr).toContain("deployed and healthy (kept, never rolled back): etcd-1");
    const resume = /resume, once the cause is fixed: (.*)$/m.exec(r.stderr)?.[1];
    expect(resume).toBe("scripts/deploy-cluster.sh local --from etcd-2 -- --skip-checks");
    expect(deployedSteps()).toEqual([["etcd-1"], ["etcd-2"]]);
    expectNoRollbackOfSucceeded();

    // The operator brings etcd-2 back (here: starts it) and resumes with the printed command.
    etcd.start("etcd-2");
    rmSync(callsFile, { force: true });
    const resumed = deploy(resume!.split(" ").slice(1));
    expect(resumed.stderr).toContain("cluster local deployed");
    expect(resumed.status).toBe(0);
    expect(deployedSteps()).toEqual(ROLE_ORDER.slice(1).map((h) => [h]));
    expect(await etcd.waitHealthy(5)).toBe(true);
  }, 240_000);

  it("stops when another member dies while one is deployed, naming the member that is down", async () => {
    const r = deploy(["local", "--", "--skip-checks"], { KILL_DURING: "etcd-1:etcd-3", HEALTH_TIMEOUT: "5" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("STOPPED: the etcd cluster is not healthy after deploying etcd-1");
    expect(r.stderr).toContain("etcd-cluster: member https://10.240.0.12:2379 not healthy");
    expect(r.stderr).toContain("resume, once the cause is fixed: scripts/deploy-cluster.sh local --from etcd-1 -- --skip-checks");
    expect(deployedSteps()).toEqual([["etcd-1"]]);

    // With etcd-3 still down, deploying etcd-1 or etcd-2 again would leave no quorum: refused before deploy-rs.
    rmSync(callsFile, { force: true });
    const again = deploy(["local", "--from", "etcd-1", "--", "--skip-checks"]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("not deploying etcd-1: the other etcd members must be healthy first");
    expect(again.stderr).toContain("member https://10.240.0.12:2379 not healthy");
    expect(deployedSteps()).toEqual([]);
    etcd.start("etcd-3");
    expect(await etcd.waitHealthy(30)).toBe(true);
  }, 120_000);

  it("stops at a host whose activation fails and at a node that is not Ready, each with the resume command", async () => {
    expect(await etcd.waitHealthy(30)).toBe(true);
    const failed = deploy(["local", "cp-1", "cp-2", "cp-3", "--", "--skip-checks"], { FAIL_ON: "cp-2" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("STOPPED: deploy-rs failed on cp-2");
    expect(failed.stderr).toContain("resume, once the cause is fixed: scripts/deploy-cluster.sh local cp-1 cp-2 cp-3 --from cp-2 -- --skip-checks");
    expect(deployedSteps()).toEqual([["cp-1"], ["cp-2"]]);
    expectNoRollbackOfSucceeded();

    rmSync(callsFile, { force: true });
    writeFileSync(path.join(root, "not-ready"), "worker-1\n");
    try {
      const notReady = deploy(["--batch", "2", "local", "worker-1", "worker-2", "--", "--skip-checks"], { HEALTH_TIMEOUT: "3" });
      expect(notReady.status).toBe(1);
      expect(notReady.stderr).toContain("STOPPED: node worker-1 is not Ready within 3s");
      expect(notReady.stderr).toContain("node-ready: worker-1 is not Ready (False)");
      expect(notReady.stderr).toContain("--batch 2 local worker-1 worker-2 --from worker-1");
    } finally {
      rmSync(path.join(root, "not-ready"));
    }
  }, 120_000);

  it("never restarts the last ready API server or load balancer, but deploys one that is not ready itself", async () => {
    const stop = async (...hosts: string[]) => {
      for (const h of hosts) await etcd.lab.stop(readyz.get(h)!);
    };
    try {
      await stop("cp-1", "cp-2");
      const last = deploy(["local", "cp-3", "--", "--skip-checks"]);
      expect(last.status).toBe(1);
      expect(last.stderr).toContain("STOPPED: not deploying cp-3: it is the last ready API server, and restarting it would leave the cluster without one");
      expect(last.stderr).toMatch(/cp-1: apiserver: not ready \(\/readyz answered: nothing\)\n\s+cp-2: apiserver: not ready/);
      expect(last.stderr).toContain("deploying those is allowed: scripts/deploy-cluster.sh local cp-1 cp-2 -- --skip-checks");
      expect(last.stderr).toContain("resume, once the cause is fixed: scripts/deploy-cluster.sh local cp-3 --from cp-3 -- --skip-checks");
      expect(deployedSteps()).toEqual([]);

      // cp-1 is down itself: deploying it takes nothing away (it may be the fix), so it is deployed, then waited for.
      rmSync(callsFile, { force: true });
      const fix = deploy(["local", "cp-1", "--", "--skip-checks"], { HEALTH_TIMEOUT: "2" });
      expect(deployedSteps()).toEqual([["cp-1"]]);
      expect(fix.stderr).toContain("STOPPED: cp-1 (API server) is not ready within 2s");

      // With another API server ready again, cp-3 is deployed.
      await startReadyz("cp-2");
      rmSync(callsFile, { force: true });
      expect(deploy(["local", "cp-3", "--", "--skip-checks"]).status).toBe(0);
      expect(deployedSteps()).toEqual([["cp-3"]]);

      // The same for the load balancers.
      await stop("lb-2");
      rmSync(callsFile, { force: true });
      const lb = deploy(["local", "lb-1", "--", "--skip-checks"]);
      expect(lb.status).toBe(1);
      expect(lb.stderr).toContain("STOPPED: not deploying lb-1: it is the last ready load balancer");
      expect(lb.stderr).toContain("add --allow-last-ready");
      expect(deployedSteps()).toEqual([]);

      // lb-2 stays down: the operator accepts the short outage.
      const accepted = deploy(["--allow-last-ready", "local", "lb-1", "--", "--skip-checks"]);
      expect([accepted.status, deployedSteps()]).toEqual([0, [["lb-1"]]]);

      // Nothing ready anywhere (a cluster's first deploy, or every balancer down): the host is deployed.
      await stop("lb-1");
      rmSync(callsFile, { force: true });
      const none = deploy(["local", "lb-1", "--", "--skip-checks"], { HEALTH_TIMEOUT: "2" });
      expect(deployedSteps()).toEqual([["lb-1"]]);
      expect(none.stderr).toContain("STOPPED: lb-1 (load balancer) does not forward to a ready API server within 2s");
    } finally {
      for (const h of ["cp-1", "cp-2", "lb-1", "lb-2"]) if (readyz.get(h)!.exitCode !== null || readyz.get(h)!.signalCode !== null) await startReadyz(h);
    }
  }, 240_000);

  it("refuses to pass deploy-rs a rollback of succeeded hosts", () => {
    const r = deploy(["local", "--", "--rollback-succeeded", "true"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("hosts that succeeded are never rolled back by a later failure");
    expect(deployedSteps()).toEqual([]);
  });
});
