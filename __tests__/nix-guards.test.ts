/**
 * nixos/lib/guards.nix, the evaluation-time assertions on what nixpkgs rendered (systemd command lines in nixpkgs'
 * backslash-continued layout, etcd's environment, the kubelet configuration fields), evaluated with nix-instantiate
 * for every host of the example clusters: the rendering the project asks for passes; each changed default a nixpkgs
 * update could bring (the unschedulable taint, the insecure ports, the single issuer, a kubelet-set role label, the
 * removed kubelet flag on 1.35, etcd without client certificates) fails with a message naming the rendered value.
 * The same check against the real nixpkgs modules (nixos-eval, with a module flipping `kubelet.unschedulable`) is in
 * docs/nixos.md, "Guards on rendered values".
 */
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan, HostPlan } from "../src/cluster/plan-types";
import { nixString } from "../src/nix/writer";
import { evalJson, nixPathLiteral, REPO } from "./nix/eval";

const PLANS: ClusterPlan[] = ["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/gcp.yaml"].map((f) => loadCluster(f, REPO).plan);
const GUARDS = path.join(REPO, "nixos/lib/guards.nix");

interface Assertion {
  assertion: boolean;
  message: string;
}

/** A command line as nixpkgs renders it: the program, then one flag per continued line (empty lines included). */
function execStart(program: string, flags: readonly string[]): string {
  return [`/nix/store/00000000000000000000000000000000-kubernetes-1.34.1/bin/${program}`, ...flags, ""].join(" \\\n            ");
}

interface Rendering {
  kubeletFlags: string[];
  apiserverFlags: string[];
  controllerManagerFlags: string[];
  schedulerFlags: string[];
  etcdEnvironment: Record<string, string>;
  etcdExecStart: string;
  kubeletConfig: Record<string, unknown>;
  kubernetesVersion: string;
}

/** What the project's modules make nixpkgs render for `host` (the values docs/nixos.md lists). */
function intended(plan: ClusterPlan, host: HostPlan): Rendering {
  const domain = plan.clusterDomain;
  const self = plan.etcdMembers.find((m) => m.name === host.name);
  return {
    kubeletFlags: [
      "--config=/nix/store/00000000000000000000000000000000-kubelet-config",
      `--hostname-override=${host.name}`,
      "--kubeconfig=/nix/store/00000000000000000000000000000000-kubelet-kubeconfig",
      `--node-ip=${host.address}`,
      "",
      ...(host.runsControlPlane ? ["--register-with-taints=node-role.kubernetes.io/control-plane=:NoSchedule"] : [""]),
      "--root-dir=/var/lib/kubernetes",
      "",
    ],
    apiserverFlags: [
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,DefaultStorageClass,DefaultTolerationSeconds,NodeRestriction",
      `--etcd-servers=${plan.etcdMembers.map((m) => m.clientUrl).join(",")}`,
      `--secure-port=${plan.api.port}`,
      `--api-audiences=https://kubernetes.default.svc.${domain},https://kubernetes.default.svc,api`,
      `--service-account-issuer=https://kubernetes.default.svc.${domain}`,
      "--storage-backend=etcd3",
      "--service-account-issuer=https://kubernetes.default.svc --encryption-provider-config=/var/lib/kubernetes/pki/encryption-config.yaml",
    ],
    controllerManagerFlags: ["--allocate-node-cidrs=true", "--bind-address=127.0.0.1", "--secure-port=10257"],
    schedulerFlags: ["--bind-address=127.0.0.1", "--secure-port=10259", "--leader-elect=true"],
    etcdEnvironment: self
      ? {
          ETCD_CLIENT_CERT_AUTH: "1",
          ETCD_PEER_CLIENT_CERT_AUTH: "1",
          ETCD_LISTEN_CLIENT_URLS: `${self.clientUrl},https://127.0.0.1:2379`,
          ETCD_LISTEN_PEER_URLS: self.peerUrl,
          ETCD_INITIAL_CLUSTER: plan.etcdMembers.map((m) => `${m.name}=${m.peerUrl}`).join(","),
        }
      : {},
    etcdExecStart: "/nix/store/00000000000000000000000000000000-etcd/bin/etcd",
    kubeletConfig: host.runsKubelet ? { clusterDomain: domain, clusterDNS: [plan.dnsServiceIp] } : {},
    kubernetesVersion: "1.34.1",
  };
}

/** Runs the guards for `host` of `plan` on `rendering`; returns the failed assertions' messages. */
function failures(plan: ClusterPlan, host: HostPlan, rendering: Rendering): string[] {
  const hostFile = nixPathLiteral(path.join(REPO, "nixos/clusters", plan.cluster, "hosts", `${host.name}.nix`));
  const unit = (flags: readonly string[], program: string) => `{ serviceConfig.ExecStart = ${nixString(execStart(program, flags))}; }`;
  const services = [
    `kubelet = ${unit(rendering.kubeletFlags, "kubelet")};`,
    `kube-apiserver = ${unit(rendering.apiserverFlags, "kube-apiserver")};`,
    `kube-controller-manager = ${unit(rendering.controllerManagerFlags, "kube-controller-manager")};`,
    `kube-scheduler = ${unit(rendering.schedulerFlags, "kube-scheduler")};`,
    `etcd = { serviceConfig.ExecStart = ${nixString(rendering.etcdExecStart)}; environment = builtins.fromJSON ${nixString(JSON.stringify(rendering.etcdEnvironment))}; };`,
  ].join(" ");
  const expression = `map (a: { inherit (a) assertion message; }) (import ${nixPathLiteral(GUARDS)} {
    hostFile = import ${hostFile};
    services = { ${services} };
    kubernetesVersion = ${nixString(rendering.kubernetesVersion)};
    kubeletConfig = builtins.fromJSON ${nixString(JSON.stringify(rendering.kubeletConfig))};
  })`;
  return evalJson<Assertion[]>(expression)
    .filter((a) => !a.assertion)
    .map((a) => a.message);
}

const HOSTS = PLANS.flatMap((plan) => plan.hosts.map((host) => [`${plan.cluster}/${host.name}`, plan, host] as const));
const pick = (predicate: (h: HostPlan) => boolean) => {
  const plan = PLANS.find((p) => p.cluster === "local")!;
  return [plan, plan.hosts.find(predicate)!] as const;
};

it.each(HOSTS)("accepts what the project asks nixpkgs to render for %s", (_name, plan, host) => {
  expect(failures(plan, host, intended(plan, host))).toEqual([]);
});

describe("refuses a changed nixpkgs default, naming the rendered value", () => {
  it("the unschedulable taint nixpkgs adds when `kubelet.unschedulable` is true (worker and control plane)", () => {
    const [plan, worker] = pick((h) => h.pool === "worker");
    const flipped = intended(plan, worker);
    flipped.kubeletFlags[5] = "--register-with-taints=unschedulable=true:NoSchedule";
    expect(failures(plan, worker, flipped)).toEqual([
      'guards (worker-1): the kubelet\'s --register-with-taints is ["unschedulable=true:NoSchedule"], expected []: a worker must take ordinary pods. A changed nixpkgs default? Set the option explicitly in nixos/modules (see nixos/lib/guards.nix).',
    ]);

    const [, cp] = pick((h) => h.runsControlPlane);
    const cpFlipped = intended(plan, cp);
    cpFlipped.kubeletFlags[5] = "--register-with-taints=node-role.kubernetes.io/control-plane=:NoSchedule,unschedulable=true:NoSchedule";
    const [message, ...others] = failures(plan, cp, cpFlipped);
    expect(others).toEqual([]);
    expect(message).toContain('is ["node-role.kubernetes.io/control-plane=:NoSchedule","unschedulable=true:NoSchedule"], expected ["node-role.kubernetes.io/control-plane=:NoSchedule"]');
  });

  it("a control-plane node registering without its taint", () => {
    const [plan, cp] = pick((h) => h.runsControlPlane);
    const flipped = intended(plan, cp);
    flipped.kubeletFlags[5] = "";
    expect(failures(plan, cp, flipped)).toEqual([expect.stringContaining("--register-with-taints is [], expected")]);
  });

  it("taints or role labels set through the kubelet's configuration file or --node-labels", () => {
    const [plan, worker] = pick((h) => h.pool === "worker");
    const flipped = intended(plan, worker);
    flipped.kubeletConfig.registerWithTaints = [{ key: "unschedulable", value: "true", effect: "NoSchedule" }];
    flipped.kubeletFlags.push("--node-labels=node-role.kubernetes.io/worker=,team=a");
    expect(failures(plan, worker, flipped)).toEqual([
      expect.stringContaining('registerWithTaints in the kubelet\'s configuration file is [{"effect":"NoSchedule","key":"unschedulable","value":"true"}], expected []'),
      expect.stringContaining('the node-role labels of the kubelet\'s --node-labels is ["node-role.kubernetes.io/worker="], expected []'),
    ]);
  });

  it("nixpkgs' insecure controller-manager and scheduler ports", () => {
    const [plan, cp] = pick((h) => h.runsControlPlane);
    const flipped = intended(plan, cp);
    flipped.controllerManagerFlags[2] = "--secure-port=10252";
    flipped.schedulerFlags[1] = "--secure-port=10251";
    expect(failures(plan, cp, flipped)).toEqual([
      expect.stringContaining('kube-controller-manager\'s --secure-port and --bind-address is {"bind":"127.0.0.1","port":"10252"}, expected {"bind":"127.0.0.1","port":"10257"}'),
      expect.stringContaining('kube-scheduler\'s --secure-port and --bind-address is {"bind":"127.0.0.1","port":"10251"}, expected {"bind":"127.0.0.1","port":"10259"}'),
    ]);
  });

  it("nixpkgs' single service-account issuer and its audiences (tokens of the old issuer would be rejected or the new one never used)", () => {
    const [plan, cp] = pick((h) => h.runsControlPlane);
    const flipped = intended(plan, cp);
    flipped.apiserverFlags = flipped.apiserverFlags.map((f) =>
      f.startsWith("--api-audiences")
        ? "--api-audiences=api,https://kubernetes.default.svc"
        : f.startsWith("--service-account-issuer=https://kubernetes.default.svc.")
          ? "--service-account-issuer=https://kubernetes.default.svc"
          : f.replace("--service-account-issuer=https://kubernetes.default.svc ", ""),
    );
    expect(failures(plan, cp, flipped)).toEqual([
      expect.stringContaining('the API server\'s --service-account-issuer values is ["https://kubernetes.default.svc"], expected ["https://kubernetes.default.svc.cluster.local","https://kubernetes.default.svc"]'),
      expect.stringContaining('the API server\'s --api-audiences is ["api","https://kubernetes.default.svc"]'),
    ]);
  });

  it("an API server without the NodeRestriction admission plugin or the Node authorizer", () => {
    const [plan, cp] = pick((h) => h.runsControlPlane);
    const flipped = intended(plan, cp);
    flipped.apiserverFlags = flipped.apiserverFlags.map((f) =>
      f.startsWith("--enable-admission-plugins") ? "--enable-admission-plugins=NamespaceLifecycle" : f.startsWith("--authorization-mode") ? "--authorization-mode=RBAC" : f,
    );
    expect(failures(plan, cp, flipped)).toEqual([
      expect.stringContaining('--authorization-mode is ["RBAC"], expected ["Node","RBAC"]'),
      expect.stringContaining("whether the API server's --enable-admission-plugins holds NodeRestriction is false, expected true"),
    ]);
  });

  it("the kubelet flag Kubernetes 1.35 removed, only from 1.35 on", () => {
    const [plan, worker] = pick((h) => h.pool === "worker");
    const withFlag = intended(plan, worker);
    withFlag.kubeletFlags.push("--pod-infra-container-image=pause");
    expect(failures(plan, worker, withFlag)).toEqual([]);
    withFlag.kubernetesVersion = "1.35.0";
    expect(failures(plan, worker, withFlag)).toEqual([
      "guards (worker-1): the kubelet's command line passes --pod-infra-container-image, which Kubernetes 1.35.0 removed: the kubelet would not start.",
    ]);
  });

  it("etcd accepting clients without a certificate, or configured by a flag the guards do not read", () => {
    const [plan, member] = pick((h) => h.runsEtcd);
    const flipped = intended(plan, member);
    flipped.etcdEnvironment.ETCD_CLIENT_CERT_AUTH = "";
    flipped.etcdExecStart += " --client-cert-auth=false";
    expect(failures(plan, member, flipped)).toEqual([
      expect.stringContaining('etcd\'s flags on its command line is ["client-cert-auth"], expected []'),
      expect.stringContaining('(ETCD_CLIENT_CERT_AUTH, ETCD_PEER_CLIENT_CERT_AUTH) is ["","1"], expected ["1","1"]'),
    ]);
  });
});

it("reads flags from nixpkgs' continued command lines and lists (nixos/lib/command-line.nix)", () => {
  const lib = nixPathLiteral(path.join(REPO, "nixos/lib/command-line.nix"));
  const text = execStart("kube-apiserver", ["--a=1", "", "--b=x,y", "--a=2 --flag"]);
  expect(evalJson(`let c = import ${lib}; in { flags = c.flags ${nixString(text)}; b = c.list ${nixString(text)} "b"; none = c.list [ ${nixString(text)} ] "c"; }`)).toEqual({
    flags: { a: ["1", "2"], b: ["x,y"], flag: [null] },
    b: ["x", "y"],
    none: [],
  });
});
