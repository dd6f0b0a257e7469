/**
 * The operator scripts around the flake, run against copies of the generated cluster files with stand-ins for
 * nix (build), deploy-rs, kubectl and ssh that record how they were called: deploying one cluster builds and
 * deploys only that cluster; the smoke check asks cluster DNS for the kubernetes service's full name.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { nixString } from "../src/nix/writer";
import { evalJson, nixPathLiteral, REPO } from "./nix/eval";

/** Records every call as one line: the command name and its arguments, tab-separated. */
const RECORD = 'printf "%s" "$(basename "$0")" >>"$CALLS"; printf "\\t%s" "$@" >>"$CALLS"; echo >>"$CALLS"';

const STUBS: Readonly<Record<string, string>> = {
  nix: RECORD,
  deploy: RECORD,
  // What health.sh would print on the host, and its status.
  ssh: `${RECORD}\nprintf '%s\\n' "$ETCD_HEALTH"\nexit "\${ETCD_HEALTH_STATUS:-0}"`,
  kubectl: `${RECORD}
case "$1 $2" in
"get pod") echo worker-1 ;;
"get node") echo True ;;
"get nodes") printf '%s\\n' "$NODES_JSON" ;;
"exec "*) printf '%s\\n' "$NSLOOKUP_OUTPUT"; exit "\${NSLOOKUP_STATUS:-0}" ;;
esac`,
};

let root: string;
let callsFile: string;

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), "nix-scripts-"));
  mkdirSync(path.join(root, "scripts"));
  for (const script of ["deploy-cluster.sh", "check-cluster.sh", "lib/health.sh", "lib/cluster-hosts.sh"]) {
    mkdirSync(path.dirname(path.join(root, "scripts", script)), { recursive: true });
    cpSync(path.join(REPO, "scripts", script), path.join(root, "scripts", script));
  }
  cpSync(path.join(REPO, "nixos/clusters"), path.join(root, "nixos/clusters"), { recursive: true });
  rmSync(path.join(root, "nixos/clusters/gcp/outputs.json"), { force: true });
  mkdirSync(path.join(root, "bin"));
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(path.join(root, "bin", name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(path.join(root, "bin", name), 0o755);
  }
  writeFileSync(path.join(root, "admin.kubeconfig"), "stand-in\n");
  callsFile = path.join(root, "calls");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function run(script: string, args: readonly string[], env: Readonly<Record<string, string>> = {}) {
  const result = spawnSync(path.join(root, "scripts", script), args, {
    cwd: root,
    encoding: "utf8",
    env: {
      ...process.env,
      PATH: `${path.join(root, "bin")}:${process.env.PATH ?? ""}`,
      NIX_PATH: "",
      CALLS: callsFile,
      DEPLOY: "deploy",
      KUBECONFIG: path.join(root, "admin.kubeconfig"),
      TIMEOUT: "5",
      NODES_JSON: nodesJson(),
      ...env,
    },
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The recorded calls of one command, each as its argument list. */
function calls(command: string): string[][] {
  if (!existsSync(callsFile)) return [];
  return readFileSync(callsFile, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.split("\t"))
    .filter(([name]) => name === command)
    .map(([, ...args]) => args);
}

/** The flake's checks, evaluated with stand-in inputs: each check lists the deploy-rs nodes it covers. */
function flakeChecks(): Record<string, string[]> {
  return evalJson(
    `(import ${nixPathLiteral(path.join(REPO, "__tests__/nix/flake-stand-in.nix"))} { clustersDir = ${nixString(path.join(root, "nixos/clusters"))}; }).checkNodes`,
  );
}

describe("scripts/deploy-cluster.sh", () => {
  const localNodes = (): string[] =>
    evalJson<string[]>(`(import ${nixPathLiteral(path.join(root, "nixos/clusters/local/default.nix"))}).hosts`).map((h) => `local-${h}`);

  it("builds only that cluster's checks, then deploys its hosts (one deploy-rs run each) with deploy-rs' whole-flake check skipped", () => {
    const result = run("deploy-cluster.sh", ["local"]);
    expect(result.stderr).toContain("deploying cluster local");
    expect(result.status).toBe(0);

    const [build, ...moreBuilds] = calls("nix");
    expect(moreBuilds).toEqual([]);
    expect(build.slice(0, 2)).toEqual(["build", "--no-link"]);
    const built = build.slice(2).map((ref) => ref.replace(/^\.\/nixos#checks\.x86_64-linux\./, ""));
    // Every check it builds exists in the flake and covers exactly this cluster's nodes.
    const checks = flakeChecks();
    expect(built.sort()).toEqual(["local-deploy-activate", "local-deploy-schema"]);
    for (const check of built) expect(checks[check]?.sort()).toEqual(localNodes().sort());

    // Role order (etcd, control plane, load balancers, workers; the real-etcd rollout is in deploy-rollout.test.ts).
    const roleOrder = ["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "lb-1", "lb-2", "worker-1", "worker-2"];
    expect(roleOrder.map((h) => `local-${h}`).sort()).toEqual(localNodes().sort());
    expect(calls("deploy")).toEqual(roleOrder.map((h) => ["--skip-checks", "--rollback-succeeded", "false", "--targets", `./nixos#local-${h}`]));
  });

  it("passes deploy-rs options on, and builds nothing when the caller skips the checks", () => {
    expect(run("deploy-cluster.sh", ["local", "worker-2", "--", "--dry-activate"]).status).toBe(0);
    expect(calls("deploy")).toEqual([["--skip-checks", "--rollback-succeeded", "false", "--targets", "./nixos#local-worker-2", "--dry-activate"]]);

    rmSync(callsFile);
    expect(run("deploy-cluster.sh", ["local", "worker-2", "--", "--skip-checks"]).status).toBe(0);
    expect(calls("nix")).toEqual([]);
    expect(calls("deploy")).toEqual([["--rollback-succeeded", "false", "--targets", "./nixos#local-worker-2", "--skip-checks"]]);
  });

  it("stops before building or deploying a GCP cluster whose outputs were not saved, naming the command", () => {
    const result = run("deploy-cluster.sh", ["gcp"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("nixos/clusters/gcp/outputs.json is missing");
    expect(result.stderr).toContain("npm run outputs -- clusters/gcp.yaml");
    expect(calls("nix")).toEqual([]);
    expect(calls("deploy")).toEqual([]);
  });

  it("refuses a host the cluster does not have", () => {
    const result = run("deploy-cluster.sh", ["local", "worker-9"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('cluster local has no host "worker-9"');
    expect(calls("deploy")).toEqual([]);
  });
});

/** `kubectl get nodes -o json` of cluster "local" as planned: workers untainted, control plane tainted and labelled. */
function nodesJson(change: (name: string, node: { spec: { taints: object[] }; metadata: { labels: Record<string, string> } }) => void = () => {}): string {
  const label = "node-role.kubernetes.io/control-plane";
  const items = ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"].map((name) => {
    const cp = name.startsWith("cp-");
    const node = {
      metadata: { name, labels: { "kubernetes.io/hostname": name, ...(cp ? { [label]: "" } : {}) } as Record<string, string> },
      spec: { taints: cp ? [{ key: label, effect: "NoSchedule" }] : ([] as object[]) },
    };
    change(name, node);
    return node;
  });
  return JSON.stringify({ items });
}

describe("scripts/check-cluster.sh", () => {
  const healthy = "etcd-cluster: all 3 members healthy";
  const busyboxAnswer = (name: string, address: string) =>
    ["Server:\t\t10.32.0.10", "Address:\t10.32.0.10:53", "", `Name:\t${name}`, `Address: ${address}`, ""].join("\n");

  /** Gives every host file of cluster "local" another cluster domain, as a description with its own would. */
  function setClusterDomain(domain: string): void {
    const hostsDir = path.join(root, "nixos/clusters/local/hosts");
    for (const file of ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"]) {
      const p = path.join(hostsDir, `${file}.nix`);
      writeFileSync(p, readFileSync(p, "utf8").replace('clusterDomain = "cluster.local";', `clusterDomain = ${nixString(domain)};`));
    }
  }

  it("resolves kubernetes.default.svc.<cluster domain> in a pod and expects the first service IP", () => {
    setClusterDomain("k8s.example.internal");
    const fqdn = "kubernetes.default.svc.k8s.example.internal";
    const result = run("check-cluster.sh", ["local"], { ETCD_HEALTH: healthy, NSLOOKUP_OUTPUT: busyboxAnswer(fqdn, "10.32.0.1") });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`ok: dns: ${fqdn} resolves to 10.32.0.1`);
    const lookups = calls("kubectl").filter((args) => args[0] === "exec");
    expect(lookups).toEqual([["exec", "nixos-k8s-smoke-check", "--namespace", "default", "--", "nslookup", "-type=a", fqdn]]);
  });

  it("fails, naming the node and the migration, when a node still carries the stale unschedulable taint or lacks its label", () => {
    const stale = nodesJson((name, node) => {
      if (name === "worker-2") node.spec.taints.push({ key: "unschedulable", value: "true", effect: "NoSchedule" });
      if (name === "cp-3") delete node.metadata.labels["node-role.kubernetes.io/control-plane"];
    });
    const result = run("check-cluster.sh", ["local"], { ETCD_HEALTH: healthy, NODES_JSON: stale, TIMEOUT: "1" });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      "cp-3: taints [node-role.kubernetes.io/control-plane=:NoSchedule], expected [node-role.kubernetes.io/control-plane=:NoSchedule]; control-plane label absent, expected present",
    );
    expect(result.stderr).toContain("worker-2: taints [unschedulable=true:NoSchedule], expected []; control-plane label absent, expected absent");
    expect(result.stderr).toContain('FAIL: node taints or labels are not as planned (nodes registered before the fix: docs/day-2.md, "Nodes registered with the unschedulable taint")');
    expect(calls("kubectl").some((args) => args[0] === "run")).toBe(false);
  });

  it("fails when the name resolves elsewhere, and does not take the DNS server's address for the answer", () => {
    const fqdn = "kubernetes.default.svc.cluster.local";
    const result = run("check-cluster.sh", ["local"], { ETCD_HEALTH: healthy, NSLOOKUP_OUTPUT: busyboxAnswer(fqdn, "10.32.0.99") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`FAIL: ${fqdn} resolved to '10.32.0.99' in the pod, expected 10.32.0.1`);
  });

  it("asks an etcd member over SSH whether every member is healthy (health.sh's etcd-cluster), and names the one that is not", () => {
    const result = run("check-cluster.sh", ["local"], { ETCD_HEALTH: healthy, NSLOOKUP_OUTPUT: busyboxAnswer("kubernetes.default.svc.cluster.local", "10.32.0.1") });
    expect(result.stdout).toContain("ok: etcd: all 3 members healthy");
    const [first] = calls("ssh");
    expect(first[first.length - 2]).toBe("root@10.240.0.10");
    expect(first[first.length - 1]).toMatch(/^env .*K8S_ETCD_CERT='[^']+\/healthcheck-client\.crt' .* sh -s -- etcd-cluster https:\/\/10\.240\.0\.10:2379 https:\/\/10\.240\.0\.11:2379 https:\/\/10\.240\.0\.12:2379$/);

    rmSync(callsFile, { force: true });
    const down = "etcd-cluster: member https://10.240.0.12:2379 not healthy (/health answered: nothing)";
    const failed = run("check-cluster.sh", ["local"], { ETCD_HEALTH: down, ETCD_HEALTH_STATUS: "1" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain(`${down}\nFAIL: etcd is not healthy (checked on etcd-1)`);
    expect(calls("kubectl")).toEqual([]);
  });

  it("fails with nslookup's own message when the name does not resolve", () => {
    const result = run("check-cluster.sh", ["local"], {
      ETCD_HEALTH: healthy,
      NSLOOKUP_OUTPUT: "Server:\t\t10.32.0.10\nAddress:\t10.32.0.10:53\n\n** server can't find kubernetes.default.svc.cluster.local: NXDOMAIN\n",
      NSLOOKUP_STATUS: "1",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("NXDOMAIN");
    expect(result.stderr).toContain("FAIL: kubernetes.default.svc.cluster.local resolved to '' in the pod, expected 10.32.0.1");
  });
});
