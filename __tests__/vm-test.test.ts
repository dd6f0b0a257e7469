/**
 * The NixOS VM test (nixos/tests), checked without nixpkgs (it builds and runs only with Nix and KVM):
 * - its generated inputs (host files, index, pki-spec.json) are what `npm run vm-test-files` writes now;
 * - make-pki.sh, run for real with openssl over an exported spec, makes certificates with the catalog's subjects,
 *   SANs and usages, each verifying against its CA, and gives every host exactly its bundle (paths, owners, modes);
 * - its VMs are built from the same role modules as the flake's real hosts, each from its own generated host file,
 *   with the test-only parameters docs/nixos.md lists (eth1, static planned address, PKI by activation), and the test
 *   script's facts (which hosts are etcd, control plane, workers, balancers; the VIP; the cluster domain) match the
 *   plan, and the script passes pyflakes (as nixpkgs' test driver lints it; with the driver's globals declared).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { bundleFor } from "../src/pki/bundle";
import { issuedCertificates } from "../src/pki/catalog";
import { VM_TEST_GENERATED, VM_TESTS_DIR, vmTestFiles, vmTestNames } from "../src/vm-test/files";
import { evalJson, REPO } from "./nix/eval";

const NAMES = vmTestNames(REPO);
const planOf = (name: string): ClusterPlan => loadCluster(`${VM_TESTS_DIR}/${name}/cluster.yaml`, REPO).plan;

it("has a stacked and an external-etcd test of the planned sizes", () => {
  expect(NAMES).toEqual(["external", "stacked"]);
  const count = (plan: ClusterPlan, role: string) => plan.hosts.filter((h) => h.roles.includes(role as never)).length;
  const stacked = planOf("stacked");
  expect([stacked.topology, count(stacked, "control-plane"), count(stacked, "etcd"), count(stacked, "worker")]).toEqual(["stacked", 3, 3, 1]);
  const external = planOf("external");
  expect([external.topology, count(external, "etcd"), count(external, "control-plane"), count(external, "load-balancer"), count(external, "worker")]).toEqual([
    "external-etcd",
    3,
    2,
    2,
    1,
  ]);
});

it.each(NAMES)("commits the generated inputs of %s as npm run vm-test-files writes them", (name) => {
  for (const file of vmTestFiles(REPO, name)) {
    const committed = readFileSync(path.join(REPO, VM_TESTS_DIR, name, VM_TEST_GENERATED, ...file.path.split("/")), "utf8");
    expect({ file: file.path, same: committed === file.content }).toEqual({ file: file.path, same: true });
  }
});

describe("make-pki.sh over the external-etcd test's pki-spec.json (real openssl)", () => {
  const plan = planOf("external");
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(path.join(tmpdir(), "vm-test-pki-"));
    execFileSync("bash", [path.join(REPO, "nixos/tests/make-pki.sh"), path.join(REPO, VM_TESTS_DIR, "external", VM_TEST_GENERATED, "pki-spec.json"), out], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  const openssl = (...args: string[]) => execFileSync("openssl", args, { encoding: "utf8" });

  it("issues every certificate of the catalog with its subject, SANs and usages, signed by its CA", () => {
    const caFile = { kubernetes: "kubernetes", etcd: "etcd", "front-proxy": "front-proxy" } as const;
    for (const cert of issuedCertificates(plan)) {
      const file = path.join(out, "certs", `${cert.key.replace(/\//g, "_")}.crt`);
      expect(openssl("verify", "-CAfile", path.join(out, "cas", `${caFile[cert.spec.issuer]}.crt`), file).trim()).toBe(`${file}: OK`);
      const text = openssl("x509", "-in", file, "-noout", "-subject", "-ext", "subjectAltName,extendedKeyUsage,basicConstraints", "-nameopt", "RFC2253");
      const subject = /subject=(.*)/.exec(text)![1];
      expect({ cert: cert.key, subject }).toEqual({ cert: cert.key, subject: [`CN=${cert.commonName}`, ...(cert.organization ? [`O=${cert.organization}`] : [])].join(",") });
      const sans = (/Subject Alternative Name:\s*\n\s*(.*)/.exec(text)?.[1] ?? "").split(", ").filter(Boolean);
      expect({ cert: cert.key, sans: sans.sort() }).toEqual({
        cert: cert.key,
        sans: [...cert.dnsNames.map((d) => `DNS:${d}`), ...cert.ipAddresses.map((ip) => `IP Address:${ip === "::1" ? "0:0:0:0:0:0:0:1" : ip}`)].sort(),
      });
      const usages = /Extended Key Usage:\s*\n\s*(.*)/.exec(text)![1];
      const expected = cert.spec.usages.map((u) => (u === "server_auth" ? "TLS Web Server Authentication" : "TLS Web Client Authentication")).join(", ");
      expect({ cert: cert.key, usages }).toEqual({ cert: cert.key, usages: expected });
      expect(text).toContain("CA:FALSE");
    }
  });

  it("gives each host exactly its bundle: path, numeric owner and mode", () => {
    for (const host of plan.hosts) {
      const rows = readFileSync(path.join(out, "hosts", `${host.name}.tsv`), "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split("\t"));
      expect({ host: host.name, files: rows.map(([, dest, uid, gid, mode]) => [dest, Number(uid), Number(gid), mode]) }).toEqual({
        host: host.name,
        files: bundleFor(plan, host).map((f) => [f.path, f.uid, f.gid, f.mode]),
      });
    }
    expect(readFileSync(path.join(out, "hosts", "lb-1.tsv"), "utf8")).toBe("");
  });

  it("holds the admin certificate the test's kubeconfig uses (nixos/tests/node.nix: certs/admin.{crt,key})", () => {
    expect(readFileSync(path.join(out, "certs", "admin.crt"), "utf8")).toContain("BEGIN CERTIFICATE");
    expect(readFileSync(path.join(out, "certs", "admin.key"), "utf8")).toContain("PRIVATE KEY");
  });

  it("pairs the service-account keys and writes the encryption configuration with a fresh 32-byte key", () => {
    const fromPrivate = openssl("pkey", "-in", path.join(out, "sa.key"), "-pubout");
    expect(fromPrivate).toBe(readFileSync(path.join(out, "sa.pub"), "utf8"));
    const config = readFileSync(path.join(out, "encryption-config.yaml"), "utf8");
    const secret = /secret: (\S+)/.exec(config)![1];
    expect(Buffer.from(secret, "base64")).toHaveLength(32);
    expect(config).toContain("- secretbox:");
  });
});

interface StandInNode {
  roleModules: string[];
  testModule: {
    hostFile: { host: { name: string; address: string }; cluster: { name: string } };
    access: { user: string };
    nodeInterface: string;
    vlans: number[];
    address: { address: string; prefixLength: number };
    pkiScript: string;
  };
}
interface StandInTest {
  name: string;
  testScript: string;
  nodes: Record<string, StandInNode>;
}
interface Configuration {
  modules: string[];
}

describe("VM nodes are built like the real hosts", () => {
  const tests = evalJson<Record<string, StandInTest>>(`import ${JSON.stringify(path.join(REPO, "__tests__/nix/vm-test-stand-in.nix"))}`);
  // The modules the flake gives a real host, without the target's hardware profile (the VMs are the test driver's).
  const realHost = evalJson<Record<string, Configuration>>(
    `(import ${JSON.stringify(path.join(REPO, "__tests__/nix/flake-stand-in.nix"))} { }).configurations`,
  )["local-cp-1"].modules.filter((m) => !m.includes("/hardware/"));

  it.each(NAMES)("%s: one VM per planned host, from the role modules and its own generated host file", (name) => {
    const plan = planOf(name);
    const test = tests[plan.cluster];
    expect(test.name).toBe(plan.cluster);
    expect(Object.keys(test.nodes).sort()).toEqual(plan.hosts.map((h) => h.name).sort());
    for (const host of plan.hosts) {
      const node = test.nodes[host.name];
      expect(node.roleModules).toEqual(realHost);
      const expectedHostFile = evalJson(`import ${JSON.stringify(path.join(REPO, VM_TESTS_DIR, name, VM_TEST_GENERATED, "hosts", `${host.name}.nix`))}`);
      expect(node.testModule.hostFile).toEqual(expectedHostFile);
      expect(node.testModule).toMatchObject({
        access: { user: plan.ssh.user },
        nodeInterface: "eth1",
        vlans: [1],
        address: { address: host.address, prefixLength: 24 },
      });
      expect(node.testModule.pkiScript).toContain(`/hosts/${host.name}.tsv`);
    }
  });

  it.each(NAMES)("%s: the test script's facts are the plan's", (name) => {
    const plan = planOf(name);
    const literal = /facts = json\.loads\(("(?:[^"\\]|\\.)*")\)/.exec(tests[plan.cluster].testScript)![1];
    const facts = JSON.parse(JSON.parse(literal) as string) as Record<string, unknown>;
    const names = (predicate: (h: ClusterPlan["hosts"][number]) => boolean) => plan.hosts.filter(predicate).map((h) => h.name);
    expect(facts).toMatchObject({
      etcd: names((h) => h.runsEtcd),
      controlPlane: names((h) => h.runsControlPlane),
      workers: names((h) => h.runsKubelet && !h.runsControlPlane),
      loadBalancers: names((h) => h.runsLoadBalancer),
      vip: plan.api.address,
      clusterDomain: plan.clusterDomain,
      failoverSeconds: 90,
    });
    expect(facts.etcdctl).toHaveLength(names((h) => h.runsEtcd).length);
  });

  it.each(NAMES)("%s: the test script passes pyflakes (the driver's globals declared)", (name) => {
    const plan = planOf(name);
    const dir = mkdtempSync(path.join(tmpdir(), "vm-test-script-"));
    try {
      const file = path.join(dir, "test_script.py");
      const prelude = ["from typing import Any", "machines: list = []", "start_all: Any = None", "subtest: Any = None", ""].join("\n");
      writeFileSync(file, prelude + tests[plan.cluster].testScript);
      const result = spawnSync("pyflakes3", [file], { encoding: "utf8" });
      if (result.error) throw new Error(`pyflakes3 is needed (Debian package pyflakes3, installed by .ci/run): ${result.error.message}`);
      expect({ status: result.status, output: result.stdout + result.stderr }).toEqual({ status: 0, output: "" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
