import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan, HostPlan } from "../src/cluster/plan-types";
import { changed, planFromObject, REPO_ROOT } from "./helpers/descriptions";

const plan = (file: string): ClusterPlan => loadCluster(file, REPO_ROOT).plan;
const byName = (p: ClusterPlan) => Object.fromEntries(p.hosts.map((h) => [h.name, h]));

describe("planner: clusters/local.yaml (libvirt, external etcd)", () => {
  const local = plan("clusters/local.yaml");
  const hosts = byName(local);

  it("plans every host with its address and a stable MAC", () => {
    expect(local.hosts.map((h) => [h.name, h.address, h.mac])).toEqual([
      ["lb-1", "10.240.0.5", "52:54:00:f0:00:05"],
      ["lb-2", "10.240.0.6", "52:54:00:f0:00:06"],
      ["etcd-1", "10.240.0.10", "52:54:00:f0:00:0a"],
      ["etcd-2", "10.240.0.11", "52:54:00:f0:00:0b"],
      ["etcd-3", "10.240.0.12", "52:54:00:f0:00:0c"],
      ["cp-1", "10.240.0.20", "52:54:00:f0:00:14"],
      ["cp-2", "10.240.0.21", "52:54:00:f0:00:15"],
      ["cp-3", "10.240.0.22", "52:54:00:f0:00:16"],
      ["worker-1", "10.240.0.50", "52:54:00:f0:00:32"],
      ["worker-2", "10.240.0.51", "52:54:00:f0:00:33"],
    ]);
  });

  it("gives each host its roles: kubelet on every Kubernetes node, not on etcd or load balancers", () => {
    const roleView = (h: HostPlan) => ({ roles: h.roles, etcd: h.runsEtcd, cp: h.runsControlPlane, kubelet: h.runsKubelet, lb: h.runsLoadBalancer });
    expect(roleView(hosts["etcd-1"])).toEqual({ roles: ["etcd"], etcd: true, cp: false, kubelet: false, lb: false });
    expect(roleView(hosts["cp-1"])).toEqual({ roles: ["control-plane"], etcd: false, cp: true, kubelet: true, lb: false });
    expect(roleView(hosts["worker-1"])).toEqual({ roles: ["worker"], etcd: false, cp: false, kubelet: true, lb: false });
    expect(roleView(hosts["lb-1"])).toEqual({ roles: ["load-balancer"], etcd: false, cp: false, kubelet: false, lb: true });
  });

  it("names machines after the cluster and hosts after the hosts' DNS domain", () => {
    expect(hosts["cp-2"]).toMatchObject({ machineName: "local-cp-2", fqdn: "cp-2.k8s.internal", vcpu: 2, memoryMiB: 4096, diskGiB: 20 });
    expect(hosts["cp-2"].zone).toBeUndefined();
  });

  it("plans the API endpoint, service addresses and etcd members", () => {
    expect(local.api).toEqual({ port: 6443, address: "10.240.0.2", nodeUrl: "https://10.240.0.2:6443", externalAddressAtApply: false });
    expect(local.firstServiceIp).toBe("10.32.0.1");
    expect(local.dnsServiceIp).toBe("10.32.0.10");
    expect(local.gateway).toBe("10.240.0.1");
    expect(local.etcdMembers).toEqual([
      { name: "etcd-1", address: "10.240.0.10", clientUrl: "https://10.240.0.10:2379", peerUrl: "https://10.240.0.10:2380" },
      { name: "etcd-2", address: "10.240.0.11", clientUrl: "https://10.240.0.11:2379", peerUrl: "https://10.240.0.11:2380" },
      { name: "etcd-3", address: "10.240.0.12", clientUrl: "https://10.240.0.12:2379", peerUrl: "https://10.240.0.12:2380" },
    ]);
  });

  it("is deterministic", () => {
    expect(plan("clusters/local.yaml")).toEqual(local);
  });
});

describe("planner: clusters/local-stacked.yaml", () => {
  const stacked = plan("clusters/local-stacked.yaml");

  it("runs etcd on the control-plane hosts and has no etcd-only or load-balancer hosts", () => {
    expect(stacked.hosts.map((h) => `${h.name}:${h.roles.join("+")}`)).toEqual([
      "cp-1:control-plane+etcd",
      "cp-2:control-plane+etcd",
      "cp-3:control-plane+etcd",
      "worker-1:worker",
      "worker-2:worker",
    ]);
    expect(stacked.etcdMembers.map((m) => m.name)).toEqual(["cp-1", "cp-2", "cp-3"]);
    expect(stacked.api.address).toBe("10.241.0.2");
  });
});

describe("planner: clusters/gcp.yaml", () => {
  const gcp = plan("clusters/gcp.yaml");
  const hosts = byName(gcp);

  it("spreads each pool over the zones by index within the pool", () => {
    expect(gcp.hosts.map((h) => `${h.name}@${h.zone}`)).toEqual([
      "etcd-1@europe-west1-b",
      "etcd-2@europe-west1-c",
      "etcd-3@europe-west1-d",
      "cp-1@europe-west1-b",
      "cp-2@europe-west1-c",
      "cp-3@europe-west1-d",
      "worker-1@europe-west1-b",
      "worker-2@europe-west1-c",
      "worker-3@europe-west1-d",
    ]);
  });

  it("gives each host its pool's machine type", () => {
    expect([hosts["etcd-1"].machineType, hosts["cp-1"].machineType, hosts["worker-1"].machineType]).toEqual(["e2-small", "e2-standard-2", "e2-standard-4"]);
  });

  it("plans the internal API load balancer address; the external one is known only at apply", () => {
    expect(gcp.api).toEqual({ port: 6443, address: "10.240.0.2", nodeUrl: "https://10.240.0.2:6443", externalAddressAtApply: true });
  });
});

describe("planner: stability under growth", () => {
  const grow = (file: string, pool: string) =>
    changed(file, (d) => {
      d.pools[pool].count += 1;
    });

  it.each([
    ["clusters/local.yaml", "worker"],
    ["clusters/local.yaml", "etcd"],
    ["clusters/local.yaml", "controlPlane"],
    ["clusters/local.yaml", "loadBalancer"],
    ["clusters/gcp.yaml", "worker"],
    ["clusters/gcp.yaml", "controlPlane"],
  ])("adding a host to %s pool %s moves and renumbers no existing host", (file, pool) => {
    const before = planFromObject(changed(file, () => undefined));
    const after = planFromObject(grow(file, pool));
    expect(after.hosts).toHaveLength(before.hosts.length + 1);
    for (const host of before.hosts) {
      expect(after.hosts.find((h) => h.name === host.name)).toEqual(host);
    }
  });

  it("keeps a GCP host's zone when another host is added to its pool", () => {
    const before = byName(planFromObject(changed("clusters/gcp.yaml", () => undefined)));
    const after = byName(planFromObject(grow("clusters/gcp.yaml", "worker")));
    expect(after["worker-4"].zone).toBe("europe-west1-b");
    expect(after["worker-3"].zone).toBe(before["worker-3"].zone);
  });
});
