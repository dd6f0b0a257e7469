/** Turns a valid description into the host plan. Pure and deterministic. */
import { cidrHost, parseCidr } from "./ipv4";
import { DEFAULT_API_HOST_NUMBER, layoutHosts, type HostSlot } from "./layout";
import { networkPlanOf, resolveLibvirtNetwork, type CommittedNetwork } from "./libvirt-network";
import type { Description, PoolName } from "./schema";
import { ETCD_DATA_DISK_DEFAULT_GIB } from "./etcd-data-disk";
import { machineName } from "./names";
import type { ClusterPlan, EtcdMember, HostPlan, LibvirtNetwork, MachineGuard, Role } from "./plan-types";

export const API_PORT = 6443;
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

function rolesOf(pool: PoolName, topology: Description["topology"]): Role[] {
  switch (pool) {
    case "etcd":
      return ["etcd"];
    case "controlPlane":
      return topology === "stacked" ? ["control-plane", "etcd"] : ["control-plane"];
    case "worker":
      return ["worker"];
    case "loadBalancer":
      return ["load-balancer"];
  }
}

/** QEMU's locally administered prefix plus the address' low three octets: unique within any /8. */
export function macForAddress(address: string): string {
  const octets = address.split(".").slice(1).map((o) => Number(o).toString(16).padStart(2, "0"));
  return ["52", "54", "00", ...octets].join(":");
}

function libvirtNetworkOf(d: Description, committed: CommittedNetwork): LibvirtNetwork {
  const { record } = resolveLibvirtNetwork(d, committed);
  return { ...networkPlanOf(record), record };
}

/** The safe default: etcd members and control-plane hosts are never replaced or stopped by an apply. */
export function protectedGuard(roles: readonly Role[]): MachineGuard {
  const critical = roles.includes("etcd") || roles.includes("control-plane");
  return { preventDestroy: critical, allowStopping: !critical, applyImage: false };
}

function planHost(d: Description, slot: HostSlot): HostPlan {
  const roles = rolesOf(slot.pool, d.topology).sort();
  const address = cidrHost(parseCidr(d.network.nodeCidr)!, slot.hostNumber);
  const gcp = d.target === "gcp" ? d.gcp : undefined;
  const machineType = gcp && slot.pool !== "loadBalancer" ? gcp.machineTypes[slot.pool] : undefined;
  return {
    name: slot.name,
    fqdn: `${slot.name}.${d.network.domain}`,
    machineName: machineName(d.name, slot.name),
    pool: slot.pool,
    index: slot.index,
    roles,
    runsEtcd: roles.includes("etcd"),
    runsControlPlane: roles.includes("control-plane"),
    runsKubelet: roles.includes("control-plane") || roles.includes("worker"),
    runsLoadBalancer: roles.includes("load-balancer"),
    address,
    mac: macForAddress(address),
    vcpu: slot.spec.vcpu,
    memoryMiB: slot.spec.memoryMiB,
    diskGiB: slot.spec.diskGiB,
    guard: protectedGuard(roles),
    ...(roles.includes("etcd") ? { etcdDataGiB: slot.spec.etcdDataGiB ?? ETCD_DATA_DISK_DEFAULT_GIB } : {}),
    ...(gcp ? { zone: gcp.zones[slot.index % gcp.zones.length] } : {}),
    ...(machineType ? { machineType } : {}),
    ...(gcp ? { bootDiskType: gcp.bootDiskType } : {}),
  };
}

/**
 * Plans a description that validateDescription() accepted.
 * @param sourceFile the description's path relative to the repository root, for generated-file headers
 */
/** `committed`: what the repository remembers of the cluster's libvirt network (see libvirt-network.ts). */
export function planCluster(d: Description, sourceFile: string, committed: CommittedNetwork = { kind: "none" }): ClusterPlan {
  const node = parseCidr(d.network.nodeCidr)!;
  const service = parseCidr(d.kubernetes.serviceCidr)!;
  const hosts = layoutHosts(d).map((slot) => planHost(d, slot));
  const etcdMembers: EtcdMember[] = hosts
    .filter((h) => h.runsEtcd)
    .map((h) => ({
      name: h.name,
      address: h.address,
      clientUrl: `https://${h.address}:${ETCD_CLIENT_PORT}`,
      peerUrl: `https://${h.address}:${ETCD_PEER_PORT}`,
    }));
  const apiAddress = d.network.apiAddress ?? cidrHost(node, DEFAULT_API_HOST_NUMBER);
  return {
    cluster: d.name,
    target: d.target,
    topology: d.topology,
    sourceFile,
    kubernetesVersion: d.kubernetes.version,
    clusterDomain: d.kubernetes.clusterDomain,
    hostDomain: d.network.domain,
    nodeCidr: d.network.nodeCidr,
    gateway: cidrHost(node, 1),
    podCidr: d.kubernetes.podCidr,
    nodePodCidrPrefix: d.kubernetes.nodePodCidrPrefix,
    serviceCidr: d.kubernetes.serviceCidr,
    firstServiceIp: cidrHost(service, 1),
    dnsServiceIp: cidrHost(service, 10),
    api: {
      port: API_PORT,
      address: apiAddress,
      nodeUrl: `https://${apiAddress}:${API_PORT}`,
      externalAddressAtApply: d.target === "gcp",
    },
    etcdMembers,
    hosts,
    ssh: { user: d.ssh.user, authorizedKeys: d.ssh.authorizedKeys, ...(d.ssh.bastion ? { bastion: d.ssh.bastion } : {}) },
    ...(d.target === "libvirt" && d.libvirt ? { libvirt: d.libvirt, libvirtNetwork: libvirtNetworkOf(d, committed) } : {}),
    ...(d.target === "gcp" && d.gcp ? { gcp: d.gcp } : {}),
    pki: d.pki,
    backend: d.backend,
    backup: d.backup,
  };
}
