/**
 * Per-host PKI bundles (src/pki/bundle.ts): what each role gets and, as important, what it never gets, with
 * owners (numeric ids, the users do not exist yet at first delivery) and modes.
 */
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { SERVICE_ACCOUNTS } from "../src/pki/accounts";
import { bundleFor, type BundleFile } from "../src/pki/bundle";
import { PKI_DIR, PKI_FILES, pkiPath, type PkiFileId } from "../src/pki/paths";
import { REPO_ROOT } from "./helpers/descriptions";

const plan = (file: string): ClusterPlan => loadCluster(file, REPO_ROOT).plan;
const local = plan("clusters/local.yaml");
const stacked = plan("clusters/local-stacked.yaml");
const gcp = plan("clusters/gcp.yaml");

/** File names relative to PKI_DIR, sorted. */
const names = (bundle: readonly BundleFile[]) => bundle.map((f) => f.path.slice(PKI_DIR.length + 1)).sort();
const file = (bundle: readonly BundleFile[], name: string) => {
  const found = bundle.find((f) => f.path === `${PKI_DIR}/${name}`);
  if (!found) throw new Error(`no ${name} in bundle`);
  return found;
};

const WORKER_FILES = ["ca.crt", "flannel.crt", "flannel.key", "kube-proxy.crt", "kube-proxy.key", "kubelet.crt", "kubelet.key"];
const ETCD_FILES = ["etcd/ca.crt", "etcd/healthcheck-client.crt", "etcd/healthcheck-client.key", "etcd/peer.crt", "etcd/peer.key", "etcd/server.crt", "etcd/server.key"];
const CONTROL_PLANE_FILES = [
  "addon-manager.crt",
  "addon-manager.key",
  "apiserver-etcd-client.crt",
  "apiserver-etcd-client.key",
  "apiserver-kubelet-client.crt",
  "apiserver-kubelet-client.key",
  "apiserver.crt",
  "apiserver.key",
  "ca.crt",
  "ca.key",
  // the one certificate ca.key belongs to, for kube-controller-manager's signer (ca.crt is a bundle in a rotation)
  "ca-signing.crt",
  "controller-manager.crt",
  "controller-manager.key",
  "encryption-config.yaml",
  "etcd/ca.crt",
  "front-proxy-ca.crt",
  "front-proxy-client.crt",
  "front-proxy-client.key",
  "node-labeler.crt",
  "node-labeler.key",
  "sa.key",
  "sa.pub",
  "scheduler.crt",
  "scheduler.key",
  // every control-plane host is also a kubelet node
  "flannel.crt",
  "flannel.key",
  "kube-proxy.crt",
  "kube-proxy.key",
  "kubelet.crt",
  "kubelet.key",
];
const sorted = (list: readonly string[]) => [...new Set(list)].sort();

describe.each([
  ["external etcd (local.yaml)", local, { etcd: "etcd-1", controlPlane: "cp-1", worker: "worker-1" }, ETCD_FILES, CONTROL_PLANE_FILES],
  ["external etcd (gcp.yaml)", gcp, { etcd: "etcd-2", controlPlane: "cp-3", worker: "worker-3" }, ETCD_FILES, CONTROL_PLANE_FILES],
  ["stacked etcd (local-stacked.yaml)", stacked, { etcd: undefined, controlPlane: "cp-2", worker: "worker-2" }, [], [...CONTROL_PLANE_FILES, ...ETCD_FILES]],
] as const)("bundles, %s", (_name, p, hosts, etcdOnly, controlPlane) => {
  it("gives a worker exactly its kubelet, kube-proxy and flannel credentials and the cluster CA certificate", () => {
    expect(names(bundleFor(p, hosts.worker))).toEqual(sorted(WORKER_FILES));
  });

  it("never gives a worker a CA key, etcd files or control-plane secrets", () => {
    const bundle = bundleFor(p, hosts.worker);
    expect(bundle.filter((f) => f.item.kind === "ca-key")).toEqual([]);
    expect(names(bundle).filter((n) => n.startsWith("etcd/") || n.includes("etcd"))).toEqual([]);
    expect(names(bundle)).not.toEqual(expect.arrayContaining(["sa.key"]));
    expect(names(bundle)).not.toEqual(expect.arrayContaining(["encryption-config.yaml"]));
  });

  it("gives a control-plane host the control-plane files, the Kubernetes CA key, and its node files", () => {
    expect(names(bundleFor(p, hosts.controlPlane))).toEqual(sorted(controlPlane));
  });

  it("gives each kubelet node its own kubelet certificate", () => {
    for (const h of p.hosts.filter((x) => x.runsKubelet)) {
      expect(file(bundleFor(p, h), "kubelet.crt").certificate).toBe(`kubelet/${h.name}`);
      expect(file(bundleFor(p, h), "kubelet.crt").identity).toMatchObject({ commonName: `system:node:${h.name}`, organization: "system:nodes" });
    }
  });

  if (hosts.etcd !== undefined) {
    const etcdHost = hosts.etcd;
    it("gives an etcd-only member the etcd CA certificate, its own server and peer certificates and the health-check client", () => {
      expect(names(bundleFor(p, etcdHost))).toEqual(sorted(etcdOnly));
      expect(file(bundleFor(p, etcdHost), "etcd/server.crt").certificate).toBe(`etcd-server/${etcdHost}`);
      expect(file(bundleFor(p, etcdHost), "etcd/peer.crt").certificate).toBe(`etcd-peer/${etcdHost}`);
    });

    it("never gives an etcd-only member a Kubernetes key or certificate", () => {
      const bundle = bundleFor(p, etcdHost);
      expect(bundle.filter((f) => f.item.kind === "ca-key")).toEqual([]);
      expect(bundle.filter((f) => f.identity && f.identity.issuer !== "etcd")).toEqual([]);
      expect(names(bundle).filter((n) => !n.startsWith("etcd/"))).toEqual([]);
    });
  } else {
    it("gives each stacked control-plane host its own etcd member certificates", () => {
      for (const h of p.hosts.filter((x) => x.runsControlPlane)) {
        expect(file(bundleFor(p, h), "etcd/server.crt").certificate).toBe(`etcd-server/${h.name}`);
        expect(file(bundleFor(p, h), "etcd/peer.crt").certificate).toBe(`etcd-peer/${h.name}`);
      }
    });
  }
});

describe("bundles: load balancers", () => {
  it("gives load balancers nothing (haproxy checks /readyz anonymously)", () => {
    for (const lb of local.hosts.filter((h) => h.runsLoadBalancer)) expect(bundleFor(local, lb)).toEqual([]);
  });

  it("rejects a host that is not in the plan, naming it", () => {
    expect(() => bundleFor(local, "cp-9")).toThrow('host "cp-9" is not in the plan of cluster "local"');
  });
});

describe("bundles: owners and modes", () => {
  const cp = bundleFor(local, "cp-1");
  const etcd = bundleFor(local, "etcd-1");
  const worker = bundleFor(local, "worker-1");
  const owner = (b: readonly BundleFile[], n: string) => {
    const f = file(b, n);
    return [f.uid, f.gid, f.mode];
  };

  it("uses nixpkgs' static kubernetes ids (162) and the pinned etcd ids (156)", () => {
    expect(SERVICE_ACCOUNTS.kubernetes).toEqual({ user: "kubernetes", group: "kubernetes", uid: 162, gid: 162 });
    expect(SERVICE_ACCOUNTS.etcd).toEqual({ user: "etcd", group: "etcd", uid: 156, gid: 156 });
  });

  it.each([
    ["apiserver.key", [162, 162, "0400"]],
    ["ca.key", [162, 162, "0400"]],
    ["sa.key", [162, 162, "0400"]],
    ["encryption-config.yaml", [162, 162, "0400"]],
    ["front-proxy-client.key", [162, 162, "0400"]],
    ["apiserver-etcd-client.key", [162, 162, "0400"]],
    ["apiserver-kubelet-client.key", [162, 162, "0400"]],
    ["controller-manager.key", [162, 162, "0400"]],
    ["scheduler.key", [162, 162, "0400"]],
    ["addon-manager.key", [162, 162, "0400"]],
    ["node-labeler.key", [162, 162, "0400"]],
    ["kubelet.key", [0, 0, "0400"]],
    ["kube-proxy.key", [0, 0, "0400"]],
    ["flannel.key", [0, 0, "0400"]],
    ["apiserver.crt", [0, 0, "0644"]],
    ["ca.crt", [0, 0, "0644"]],
    ["sa.pub", [0, 0, "0644"]],
  ] as const)("control plane: %s is owned and readable as %j (uid, gid, mode)", (n, expected) => {
    expect(owner(cp, n)).toEqual(expected);
  });

  it.each([
    ["etcd/server.key", [156, 156, "0400"]],
    ["etcd/peer.key", [156, 156, "0400"]],
    ["etcd/healthcheck-client.key", [156, 156, "0400"]],
    ["etcd/server.crt", [0, 0, "0644"]],
    ["etcd/ca.crt", [0, 0, "0644"]],
  ] as const)("etcd member: %s is owned and readable as %j", (n, expected) => {
    expect(owner(etcd, n)).toEqual(expected);
  });

  it("makes every key and the encryption configuration readable by its owner only, and every certificate world-readable", () => {
    for (const b of [cp, etcd, worker, bundleFor(stacked, "cp-1")]) {
      for (const f of b) {
        const secret = /\.key$|encryption-config\.yaml$/.test(f.path);
        expect([f.path, f.mode, f.secret]).toEqual([f.path, secret ? "0400" : "0644", secret]);
        if (!secret) expect([f.path, f.uid, f.gid]).toEqual([f.path, 0, 0]);
      }
    }
  });
});

describe("bundles: restarts", () => {
  const units = (p: ClusterPlan, host: string, n: string) => file(bundleFor(p, host), n).units;

  it("restarts only the units that read a file", () => {
    expect(units(local, "worker-1", "kubelet.crt")).toEqual(["kubelet"]);
    expect(units(local, "worker-1", "flannel.key")).toEqual(["flannel"]);
    expect(units(local, "cp-1", "apiserver.crt")).toEqual(["kube-apiserver"]);
    expect(units(local, "cp-1", "ca.key")).toEqual(["kube-controller-manager"]);
    expect(units(local, "cp-1", "ca-signing.crt")).toEqual(["kube-controller-manager"]);
    expect(units(local, "cp-1", "sa.key")).toEqual(["kube-apiserver", "kube-controller-manager"]);
    expect(units(local, "etcd-1", "etcd/peer.crt")).toEqual(["etcd"]);
    expect(units(local, "etcd-1", "etcd/healthcheck-client.crt")).toEqual([]);
  });

  it("restarts every reader of a CA certificate, over all the host's roles", () => {
    expect(units(local, "worker-1", "ca.crt")).toEqual(["kubelet", "kube-proxy", "flannel"]);
    expect(units(local, "cp-1", "ca.crt")).toEqual([
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kube-addon-manager",
      "kubelet",
      "kube-proxy",
      "flannel",
    ]);
    expect(units(local, "etcd-1", "etcd/ca.crt")).toEqual(["etcd"]);
    expect(units(local, "cp-1", "etcd/ca.crt")).toEqual(["kube-apiserver"]);
    expect(units(stacked, "cp-1", "etcd/ca.crt")).toEqual(["etcd", "kube-apiserver"]);
  });
});

describe("bundles: file layout", () => {
  it("delivers every path of src/pki/paths.ts to some host, so the Nix side never points a service at a missing file", () => {
    const delivered = new Set([local, stacked].flatMap((p) => p.hosts.flatMap((h) => bundleFor(p, h).map((f) => f.path))));
    const missing = (Object.keys(PKI_FILES) as PkiFileId[]).map(pkiPath).filter((path) => !delivered.has(path));
    expect(missing).toEqual([]);
  });

  it("keeps every file under PKI_DIR and names each path once per host", () => {
    for (const p of [local, stacked, gcp]) {
      for (const h of p.hosts) {
        const paths = bundleFor(p, h).map((f) => f.path);
        expect(new Set(paths).size).toBe(paths.length);
        for (const path of paths) expect(path.startsWith(`${PKI_DIR}/`)).toBe(true);
      }
    }
  });
});
