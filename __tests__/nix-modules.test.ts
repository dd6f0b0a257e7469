/**
 * The hand-written Nix: every .nix file parses; the role modules, evaluated with stand-in arguments for every
 * host of the example clusters, set only option paths listed (with their declaring nixpkgs file) in
 * nixos/option-paths.json; each role opens exactly the ports it serves, the same ones the GCP firewall allows;
 * their assertions hold (nixpkgs' RBAC names the delivered identities); CoreDNS tolerates the control-plane taint.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { clusterFirewallRules } from "../src/gcp/firewall-rules";
import { hostTags, roleTags } from "../src/gcp/names";
import { loadCluster } from "../src/cluster/load";
import { certificateSpec } from "../src/pki/catalog";
import type { ClusterPlan, HostPlan } from "../src/cluster/plan-types";
import { evalJson, nixInstantiate, nixPathLiteral, REPO } from "./nix/eval";

const WALKER = path.join(REPO, "__tests__/nix/module-option-paths.nix");
const OPTION_PATHS = JSON.parse(readFileSync(path.join(REPO, "nixos/option-paths.json"), "utf8")) as {
  options: Record<string, string>;
  imports: Record<string, string>;
};
const PLANS: ClusterPlan[] = ["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/gcp.yaml"].map((f) => loadCluster(f, REPO).plan);
const FIREWALL = [
  "networking.firewall.allowedTCPPorts",
  "networking.firewall.allowedUDPPorts",
  "services.openssh.openFirewall",
  "services.etcd.openFirewall",
  "services.keepalived.openFirewall",
  "services.kubernetes.flannel.openFirewallPorts",
] as const;

const TAINT_KEY = "services.kubernetes.kubelet.taints.<name>.key";
const TAINT_EFFECT = "services.kubernetes.kubelet.taints.<name>.effect";
const ADDONS = "services.kubernetes.addonManager.addons.<name>";
const BOOTSTRAP = "services.kubernetes.addonManager.bootstrapAddons.<name>";
const UNSCHEDULABLE = "services.kubernetes.kubelet.unschedulable";
/** What the per-host tests look at: the ports opened, the assertions, the taints and the add-ons. */
const COLLECT = [...FIREWALL, "assertions", TAINT_KEY, TAINT_EFFECT, ADDONS, BOOTSTRAP, UNSCHEDULABLE] as const;

interface Walk {
  unknown: string[];
  used: string[];
  nixpkgsImports: string[];
  collected: Record<string, unknown[]>;
}

interface Assertion {
  assertion: boolean;
  message: string;
}
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}
interface CorednsDeployment {
  kind: string;
  spec: { replicas: number; template: { spec: { serviceAccountName: string; tolerations: Toleration[] } } };
}

function walk(modules: string[], args: string, collectPaths: readonly string[] = COLLECT): Walk {
  const list = modules.map((m) => nixPathLiteral(path.join(REPO, m))).join(" ");
  const collect = collectPaths.map((p) => JSON.stringify(p)).join(" ");
  return evalJson<Walk>(`import ${nixPathLiteral(WALKER)} { modules = [ ${list} ]; collect = [ ${collect} ]; ${args} }`);
}

/** The role modules for one host; `hostFile` is a Nix expression of `file` (the generated host file's path). */
function hostWalk(plan: ClusterPlan, host: HostPlan, collect: readonly string[] = COLLECT, hostFile = (file: string) => `import ${file}`): Walk {
  const file = nixPathLiteral(path.join(REPO, "nixos/clusters", plan.cluster, "hosts", `${host.name}.nix`));
  return walk(["nixos/modules", `nixos/modules/hardware/${plan.target}.nix`], `hostFile = ${hostFile(file)};`, collect);
}

function imageWalk(plan: ClusterPlan, collect: readonly string[] = COLLECT): Walk {
  const index = path.join(REPO, "nixos/clusters", plan.cluster, "default.nix");
  const modules = ["nixos/modules/base.nix", "nixos/modules/access.nix", `nixos/modules/hardware/${plan.target}.nix`];
  return walk(plan.target === "gcp" ? [...modules, "nixos/modules/gce-image.nix"] : modules, `access = (import ${nixPathLiteral(index)}).ssh;`, collect);
}

function nixFiles(dir: string): string[] {
  const skip = new Set(["node_modules", ".git", "cdktf.out", ".gen", "state", "secrets"]);
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (skip.has(entry.name) || entry.name.startsWith("result")) return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return nixFiles(full);
    return entry.name.endsWith(".nix") ? [full] : [];
  });
}

it("parses every .nix file in the repository", () => {
  const files = nixFiles(REPO);
  expect(files.length).toBeGreaterThan(20);
  const failures = files.filter((f) => !nixInstantiate(["--parse", f]).ok).map((f) => path.relative(REPO, f));
  expect(failures).toEqual([]);
});

describe.each(PLANS)("role modules for $cluster", (plan) => {
  const walks = new Map<string, Walk>();
  beforeAll(() => {
    for (const host of plan.hosts) walks.set(host.name, hostWalk(plan, host));
    walks.set("(base image)", imageWalk(plan));
  });

  it("set only option paths that nixpkgs declares (nixos/option-paths.json)", () => {
    for (const [host, result] of walks) expect({ host, unknown: result.unknown }).toEqual({ host, unknown: [] });
  });

  it("import only listed nixpkgs modules", () => {
    for (const result of walks.values()) {
      for (const i of result.nixpkgsImports) expect(Object.keys(OPTION_PATHS.imports)).toContain(i);
    }
  });

  it("hold every assertion of the role modules (nixpkgs' own RBAC applies to the delivered identities)", () => {
    for (const [host, result] of walks) {
      const assertions = (result.collected.assertions ?? []).flat() as Assertion[];
      expect({ host, failed: assertions.filter((a) => !a.assertion).map((a) => a.message) }).toEqual({ host, failed: [] });
    }
  });

  it.each(plan.hosts.filter((h) => h.runsControlPlane).map((h) => [h.name, h] as const))(
    "let CoreDNS tolerate every taint %s registers with (so it runs with no workers), keeping nixpkgs' Deployment",
    (_name, host) => {
      const { collected } = walks.get(host.name)!;
      const taints = (collected[TAINT_KEY] as string[]).map((key, i) => ({ key, effect: collected[TAINT_EFFECT][i] as string }));
      expect(taints).toEqual([{ key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" }]);

      const [deployment, ...others] = collected[ADDONS] as CorednsDeployment[];
      expect(others).toEqual([]);
      const tolerations = deployment.spec.template.spec.tolerations;
      for (const taint of taints) {
        const tolerated = tolerations.some(
          (t) =>
            t.key === taint.key &&
            (t.operator === "Exists" || t.value === "") &&
            (t.effect === undefined || t.effect === "" || t.effect === taint.effect),
        );
        expect({ taint, tolerated }).toEqual({ taint, tolerated: true });
      }
      // The rest is nixpkgs' (stand-in) Deployment, unchanged.
      expect(tolerations.slice(0, 2)).toEqual([
        { effect: "NoSchedule", key: "node-role.kubernetes.io/master" },
        { key: "CriticalAddonsOnly", operator: "Exists" },
      ]);
      expect(deployment).toMatchObject({ kind: "Deployment", spec: { replicas: 2, template: { spec: { serviceAccountName: "coredns" } } } });
    },
  );

  it.each(plan.hosts.filter((h) => h.runsKubelet).map((h) => [h.name, h] as const))(
    "register %s with exactly its role's taints, overriding nixpkgs' unschedulable default",
    (_name, host) => {
      const { collected } = walks.get(host.name)!;
      expect(collected[UNSCHEDULABLE]).toEqual([false]);
      expect(collected[TAINT_KEY]).toEqual(host.runsControlPlane ? ["node-role.kubernetes.io/control-plane"] : []);
    },
  );

  it.each(plan.hosts.filter((h) => h.runsControlPlane).map((h) => [h.name, h] as const))(
    "bind on %s the node-labeler certificate's user to a ClusterRole that may only get, list and patch nodes",
    (_name, host) => {
      const user = certificateSpec("node-labeler").commonName;
      const objects = walks.get(host.name)!.collected[BOOTSTRAP] as Array<Record<string, any>>;
      const roles = objects.filter((o) => o.kind === "ClusterRole" && o.metadata?.name === user);
      expect(roles.map((r) => r.rules)).toEqual([[{ apiGroups: [""], resources: ["nodes"], verbs: ["get", "list", "patch"] }]]);
      const bindings = objects.filter((o) => o.kind === "ClusterRoleBinding" && o.roleRef?.name === user);
      expect(bindings.map((b) => b.subjects)).toEqual([[{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: user }]]);
    },
  );

  it.each(plan.hosts.map((h) => [h.name, h] as const))("open exactly the ports %s serves", (_name, host) => {
    const { tcp, udp, vrrp } = openedPorts(walks.get(host.name)!);
    const expectedTcp = new Set<number>([22]);
    if (host.runsEtcd) [2379, 2380].forEach((p) => expectedTcp.add(p));
    if (host.runsControlPlane || host.runsLoadBalancer) expectedTcp.add(6443);
    if (host.runsKubelet) expectedTcp.add(10250);
    expect(tcp).toEqual([...expectedTcp].sort((a, b) => a - b));
    expect(udp).toEqual(host.runsKubelet ? [8472] : []);
    const holdsVip = plan.target === "libvirt" && (host.runsLoadBalancer || (host.runsControlPlane && !plan.hosts.some((h) => h.runsLoadBalancer)));
    expect(vrrp).toBe(holdsVip);
  });
});

function openedPorts(result: Walk): { tcp: number[]; udp: number[]; vrrp: boolean } {
  const c = result.collected;
  const on = (p: (typeof FIREWALL)[number]) => c[p].includes(true);
  const tcp = new Set<number>((c["networking.firewall.allowedTCPPorts"] as number[][]).flat());
  if (on("services.openssh.openFirewall")) tcp.add(22);
  if (on("services.etcd.openFirewall")) [2379, 2380].forEach((p) => tcp.add(p));
  const udp = new Set<number>((c["networking.firewall.allowedUDPPorts"] as number[][]).flat());
  // nixpkgs' flannel module opens 8285 and 8472 unless told not to.
  if (c["services.kubernetes.flannel.openFirewallPorts"].length > 0 && !c["services.kubernetes.flannel.openFirewallPorts"].includes(false)) {
    [8285, 8472].forEach((p) => udp.add(p));
  }
  return { tcp: [...tcp].sort((a, b) => a - b), udp: [...udp].sort((a, b) => a - b), vrrp: on("services.keepalived.openFirewall") };
}

it("open on each GCP host the same TCP and UDP ports the GCP firewall lets in to it", () => {
  const plan = PLANS.find((p) => p.target === "gcp")!;
  const tags = roleTags(plan.cluster);
  const rules = clusterFirewallRules({ tags, adminSourceRanges: plan.gcp!.adminSourceRanges, apiPort: plan.api.port });
  for (const host of plan.hosts) {
    const mine = hostTags(host, tags);
    const allowed = (protocol: "tcp" | "udp") =>
      [...new Set(rules.filter((r) => r.protocol === protocol && r.targetTags.some((t) => mine.includes(t))).flatMap((r) => r.ports ?? []))].sort((a, b) => a - b);
    const opened = openedPorts(hostWalk(plan, host));
    expect({ host: host.name, tcp: opened.tcp, udp: opened.udp }).toEqual({ host: host.name, tcp: allowed("tcp"), udp: allowed("udp") });
  }
});

it("refuse a flannel certificate whose user nixpkgs' flannel binding does not name", () => {
  const plan = PLANS[0];
  const cp = plan.hosts.find((h) => h.runsControlPlane)!;
  const otherUser = (file: string) =>
    `let h = import ${file}; in h // { pki = h.pki // { identities = h.pki.identities // { flannelUser = "flanneld"; }; }; }`;
  const assertions = hostWalk(plan, cp, ["assertions"], otherUser).collected.assertions.flat() as Assertion[];
  expect(assertions.filter((a) => !a.assertion).map((a) => a.message)).toEqual([expect.stringContaining("flannel certificate's user (flanneld)")]);
});

it("lists no option path or import that no module uses (the list stays exact)", () => {
  const used = new Set<string>();
  const imports = new Set<string>();
  for (const plan of PLANS) {
    for (const result of [...plan.hosts.map((h) => hostWalk(plan, h)), imageWalk(plan)]) {
      result.used.forEach((u) => used.add(u));
      result.nixpkgsImports.forEach((i) => imports.add(i));
    }
  }
  expect(Object.keys(OPTION_PATHS.options).filter((o) => !used.has(o))).toEqual([]);
  expect(Object.keys(OPTION_PATHS.imports).filter((i) => !imports.has(i))).toEqual([]);
  for (const file of Object.values(OPTION_PATHS.options)) expect(file).toMatch(/^nixos\/(modules|lib)\/.+\.nix$/);
});

it("catches an option path nixpkgs does not declare, even in a branch inactive for the host", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "nix-modules-"));
  try {
    const module = path.join(dir, "bogus.nix");
    writeFileSync(
      module,
      [
        "{ lib, hostFile, ... }:",
        "{",
        "  config = lib.mkMerge [",
        "    { services.kubernetes.apiserver.tlsCertFile = hostFile.pki.files.apiServerCert; }",
        "    (lib.mkIf false { services.kubernetes.apiserver.extraSANs = [ ]; })",
        "    (lib.mkIf true { services.kubernetes.kubelet.taints.x.colour = \"red\"; })",
        "  ];",
        "}",
        "",
      ].join("\n"),
    );
    const cp1 = path.join(REPO, "nixos/clusters/local/hosts/cp-1.nix");
    const result = evalJson<Walk>(`import ${nixPathLiteral(WALKER)} { modules = [ ${nixPathLiteral(module)} ]; hostFile = import ${nixPathLiteral(cp1)}; }`);
    expect(result.unknown).toEqual(["services.kubernetes.apiserver.extraSANs", "services.kubernetes.kubelet.taints.x.colour"]);
    expect(result.used).toEqual(["services.kubernetes.apiserver.tlsCertFile"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("the add-on bootstrap's identity and bindings", () => {
  const plan = PLANS[0];
  const cp = plan.hosts.find((h) => h.runsControlPlane)!;
  // Collected per option pattern, over every unit: the bootstrap unit's are told apart by content.
  const UNIT = "systemd.services.<name>";
  const BOOTSTRAP = "services.kubernetes.addonManager.bootstrapAddons.<name>";
  const c = hostWalk(plan, cp, [`${UNIT}.script`, `${UNIT}.serviceConfig`, `${UNIT}.environment`, BOOTSTRAP]).collected;
  const scripts = (c[`${UNIT}.script`] as string[]).filter((text) => text.includes("kubectl apply"));
  const script = scripts[0] ?? "";

  it("binds the operators' group kubeadm:cluster-admins to cluster-admin among the bootstrap add-ons (delete the binding to revoke)", () => {
    expect(scripts).toHaveLength(1);
    const bindings = (c[BOOTSTRAP] as { kind: string; metadata: { name: string } }[]).filter((a) => a.metadata.name === "kubeadm:cluster-admins");
    expect(bindings).toEqual([{
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "kubeadm:cluster-admins" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
      subjects: [{ kind: "Group", name: "kubeadm:cluster-admins", apiGroup: "rbac.authorization.k8s.io" }],
    }]);
  });

  it("applies them with its own kubeconfig, not the add-on manager's, from a private runtime folder", () => {
    const kubeconfigs = (c[`${UNIT}.environment`] as Record<string, string>[]).map((e) => e.KUBECONFIG).filter(Boolean);
    // The add-on manager keeps its own (the delivered addon-manager certificate), k8s-node-roles its node-labeler
    // one; the bootstrap uses the minted one.
    expect(kubeconfigs.sort()).toEqual([
      expect.stringMatching(/-k8s-addon-bootstrap-kubeconfig$/),
      expect.stringMatching(/-k8s-node-roles-kubeconfig$/),
      expect.stringMatching(/-kube-addon-manager-kubeconfig$/),
    ]);
    const configs = (c[`${UNIT}.serviceConfig`] as Record<string, unknown>[]).filter((x) => x.RuntimeDirectory === "k8s-addon-bootstrap");
    expect(configs).toEqual([expect.objectContaining({ User: "kubernetes", RuntimeDirectoryMode: "0700" })]);
  });

  const openssl = spawnSync("openssl", ["version"]).status === 0 ? it : it.skip;
  openssl("signs itself a one-day system:masters client certificate with the cluster CA (the script run with real openssl)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "addon-bootstrap-"));
    try {
      const sh = (command: string) => spawnSync("sh", ["-ec", command], { cwd: dir, encoding: "utf8" });
      const ca = sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -subj /CN=kubernetes -days 10 2>/dev/null");
      expect(ca.status).toBe(0);
      // The script up to the apply loop, then one mint, with this folder for the runtime folder and the delivered CA.
      const mint = `${script.slice(0, script.indexOf("until mint"))}\nmint\n`
        .split("/run/k8s-addon-bootstrap")
        .join(dir)
        .split("/var/lib/kubernetes/pki/ca.crt")
        .join(path.join(dir, "ca.crt"))
        .split("/var/lib/kubernetes/pki/ca.key")
        .join(path.join(dir, "ca.key"));
      const run = sh(mint);
      expect([run.status, run.stderr]).toEqual([0, expect.any(String)]);
      expect(readdirSync(dir).sort()).toEqual(["ca.crt", "ca.key", "client.crt", "client.key"]);
      const show = sh("openssl x509 -in client.crt -noout -subject -issuer -ext extendedKeyUsage,basicConstraints -dates -nameopt RFC2253").stdout;
      expect(show).toMatch(/^subject=CN=system:k8s-nixos:addon-bootstrap,O=system:masters$/m);
      expect(show).toMatch(/^issuer=CN=kubernetes$/m);
      expect(show).toMatch(/TLS Web Client Authentication/);
      expect(show).not.toMatch(/TLS Web Server Authentication/);
      expect(show).toMatch(/CA:FALSE/);
      const [notBefore, notAfter] = ["notBefore", "notAfter"].map((k) => Date.parse(new RegExp(`^${k}=(.+)$`, "m").exec(show)![1]));
      expect(notAfter - notBefore).toBe(24 * 3600 * 1000);
      expect(sh("openssl verify -CAfile ca.crt client.crt").stdout.trim()).toBe("client.crt: OK");
      expect(sh("stat -c %a client.key").stdout.trim()).toBe("600");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("k8s-ssh-host-key: installs the handed-over SSH host key (its script run for real)", () => {
  const scriptOf = (plan: ClusterPlan): string => {
    const host = plan.hosts.find((h) => h.runsKubelet)!;
    const scripts = (hostWalk(plan, host, ["systemd.services.<name>.script"]).collected["systemd.services.<name>.script"] as string[]).filter((s) =>
      s.includes("k8s-ssh-host-key:"),
    );
    expect(scripts).toHaveLength(1);
    return scripts[0];
  };
  const gcp = PLANS.find((p) => p.target === "gcp")!;
  const libvirt = PLANS[0];
  let dir: string;
  let server: import("node:http").Server;
  let port = 0;
  /** What the stand-in metadata server answers for the host key attribute: a body, or 404 when undefined. */
  let served: string | undefined;
  beforeAll(async () => {
    const http = await import("node:http");
    server = http.createServer((req, res) => {
      const ok = req.headers["metadata-flavor"] === "Google" && req.url === "/computeMetadata/v1/instance/attributes/k8s-ssh-host-ed25519-key";
      if (ok && served !== undefined) res.end(served);
      else res.writeHead(404).end("not found");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as import("node:net").AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "host-key-unit-"));
    writeFileSync(path.join(dir, "systemctl"), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.calls\n`, { mode: 0o755 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs the unit's script with the key path in `dir`, the metadata server on loopback and a stand-in systemctl. */
  function run(plan: ClusterPlan) {
    const script = scriptOf(plan)
      .split("/etc/ssh/ssh_host_ed25519_key")
      .join(path.join(dir, "ssh_host_ed25519_key"))
      .split("http://169.254.169.254/")
      .join(`http://127.0.0.1:${port}/`)
      .replace("--retry 12 --retry-delay 5", "--retry 1 --retry-delay 1")
      .replace("for attempt in 1 2 3 4 5 6 7 8 9 10; do", "for attempt in 1; do");
    // Asynchronous: the stand-in metadata server answers from this process's event loop.
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ""}`, http_proxy: "", HTTP_PROXY: "", all_proxy: "", ALL_PROXY: "" };
    return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn("sh", ["-ec", script], { env });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  }
  const key = (name: string) => {
    spawnSync("ssh-keygen", ["-q", "-t", name.startsWith("ecdsa") ? "ecdsa" : "ed25519", "-N", "", "-C", "", "-f", path.join(dir, name)]);
    return readFileSync(path.join(dir, name), "utf8");
  };
  const installed = () => readFileSync(path.join(dir, "ssh_host_ed25519_key"), "utf8");
  const restarts = () => (existsSync(path.join(dir, "systemctl.calls")) ? readFileSync(path.join(dir, "systemctl.calls"), "utf8") : "");
  const fileMode = (name: string) => (statSync(path.join(dir, name)).mode & 0o777).toString(8);
  const tools = spawnSync("sh", ["-c", "command -v ssh-keygen && command -v curl"]).status === 0 ? it : it.skip;

  tools("GCP: installs the key from the metadata server 0600 with its public half, restarts sshd without waiting, and does nothing the second time", async () => {
    served = key("terraform-key");
    writeFileSync(path.join(dir, "ssh_host_ed25519_key"), key("own-key"), { mode: 0o600 });
    const first = await run(gcp);
    expect([first.status, first.stderr]).toEqual([0, ""]);
    expect(first.stdout).toMatch(/^k8s-ssh-host-key: installed .*ssh_host_ed25519_key \(256 SHA256:\S+ .*\(ED25519\)\)$/m);
    expect(installed()).toBe(served);
    expect([fileMode("ssh_host_ed25519_key"), fileMode("ssh_host_ed25519_key.pub")]).toEqual(["600", "644"]);
    const publicKey = (name: string) => readFileSync(path.join(dir, name), "utf8").trim().split(/\s+/).slice(0, 2);
    expect(publicKey("ssh_host_ed25519_key.pub")).toEqual(publicKey("terraform-key.pub"));
    expect(restarts()).toBe("--no-block try-restart sshd.service\n");
    const second = await run(gcp);
    expect(second.status).toBe(0);
    expect(restarts()).toBe("--no-block try-restart sshd.service\n");
    expect(readdirSync(dir).filter((n) => n.startsWith("ssh_host_ed25519_key")).sort()).toEqual(["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]);
  });

  tools("GCP: keeps the host's key when the metadata has none, and refuses a key that is not Ed25519", async () => {
    const own = key("own-key");
    writeFileSync(path.join(dir, "ssh_host_ed25519_key"), own, { mode: 0o600 });
    served = undefined;
    const none = await run(gcp);
    expect([none.status, none.stderr]).toEqual([0, expect.stringContaining("no host key in the instance metadata (k8s-ssh-host-ed25519-key); keeping")]);
    served = key("ecdsa-key");
    const wrongType = await run(gcp);
    expect(wrongType.status).toBe(1);
    expect(wrongType.stderr).toContain("the handed-over key is not an Ed25519 key");
    served = "garbage\n";
    expect((await run(gcp)).status).not.toBe(0);
    expect(installed()).toBe(own);
    expect(restarts()).toBe("");
  });

  tools("libvirt: keeps the host's key when no config disk is attached", async () => {
    const own = key("own-key");
    writeFileSync(path.join(dir, "ssh_host_ed25519_key"), own, { mode: 0o600 });
    const r = await run(libvirt);
    expect([r.status, r.stderr]).toEqual([0, expect.stringContaining("no config disk labelled cidata; keeping")]);
    expect(installed()).toBe(own);
  });
});

describe("sshd on every host and image (access.nix)", () => {
  const SETTINGS = ["services.openssh.hostKeys", "services.openssh.settings.AllowAgentForwarding", "users.users.<name>.homeMode"];
  it.each(PLANS.map((p) => [p.cluster, p] as const))("%s: offers only the handed-over Ed25519 host key and refuses agent forwarding", (_name, plan) => {
    for (const result of [...plan.hosts.map((h) => hostWalk(plan, h, SETTINGS)), imageWalk(plan, SETTINGS)]) {
      expect(result.collected["services.openssh.hostKeys"]).toEqual([[{ type: "ed25519", path: "/etc/ssh/ssh_host_ed25519_key" }]]);
      expect(result.collected["services.openssh.settings.AllowAgentForwarding"]).toEqual([false]);
    }
  });

  it("gives a non-root ssh.user a 0700 home (the delivery's first script is uploaded there)", () => {
    const plan = PLANS[0];
    const host = plan.hosts[0];
    const otherUser = (file: string) => `let h = import ${file}; in h // { ssh = h.ssh // { user = "ops"; }; }`;
    expect(hostWalk(plan, host, SETTINGS, otherUser).collected["users.users.<name>.homeMode"]).toEqual(["700"]);
  });
});
