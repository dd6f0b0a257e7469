/**
 * The data of one host's generated Nix file: who the host is and the cluster facts its roles need. Data
 * only; the role modules in nixos/modules turn it into NixOS configuration.
 */
import { parseCidr, parseIp } from "../cluster/ipv4";
import { ETCD_DATA_DIR, ETCD_DATA_DISK_NAME, etcdDataDevice } from "../cluster/etcd-data-disk";
import type { ClusterPlan, HostPlan } from "../cluster/plan-types";
import { PKI_DIR, pkiAccounts, pkiIdentities, pkiPathsFor } from "./pki-files";
import type { NixAttrs, NixValue } from "./writer";
import { hostKeyChannel } from "../ssh/host-key-channel";

/** Control-plane components on a control-plane host reach their own API server here (on every target). */
export const LOCAL_API_HOST = "127.0.0.1";

/** Where an etcd member keeps its snapshots (root only, 0700; nixos/modules/etcd-backup.nix). */
export const ETCD_BACKUP_DIR = "/var/backups/etcd";
/** The key file of the service account that uploads snapshots to the backup bucket (GCP; 0600 root). */
export const ETCD_BACKUP_WRITER_KEY = "/var/lib/etcd-backup/writer-key.json";

/** The command that saves apply-time values (GCP public addresses) for the flake; shown in errors and docs. */
export function outputsCommand(plan: ClusterPlan): string {
  return `npm run outputs -- ${plan.sourceFile}`;
}

/** Hosts that hold the API VIP with keepalived: the load balancers, or the control plane when there are none. */
export function vipHolders(plan: ClusterPlan): readonly HostPlan[] {
  if (plan.target !== "libvirt") return [];
  const balancers = plan.hosts.filter((h) => h.runsLoadBalancer);
  return balancers.length > 0 ? balancers : plan.hosts.filter((h) => h.runsControlPlane);
}

function prefixLength(cidr: string): number {
  const parsed = parseCidr(cidr);
  if (!parsed) throw new Error(`not a CIDR block: ${cidr}`);
  return parsed.prefix;
}

function vip(plan: ClusterPlan): NixValue {
  const holders = vipHolders(plan);
  if (holders.length === 0) return null;
  const address = parseIp(plan.api.address);
  if (address === undefined) throw new Error(`not an IPv4 address: ${plan.api.address}`);
  return {
    address: plan.api.address,
    prefixLength: prefixLength(plan.nodeCidr),
    // VRRP router id (1..255, one per network like the VIP): the VIP's last octet, or a number derived from
    // the whole address when that octet is 0 or 255 (possible in subnets larger than /24).
    routerId: address % 256 >= 1 && address % 256 <= 254 ? address % 256 : (address % 254) + 1,
    holders: holders.map((h, i) => ({ name: h.name, address: h.address, priority: 150 - 10 * i })),
  };
}

function apiFacts(plan: ClusterPlan, host: HostPlan): NixAttrs {
  const localUrl = `https://${LOCAL_API_HOST}:${plan.api.port}`;
  // GCP's internal pass-through balancer does not hairpin: a backend calling the balancer reaches only
  // itself, so everything on a control-plane host talks to its local API server there.
  const hairpin = plan.target === "gcp" && host.runsControlPlane;
  const servers = plan.hosts.filter((h) => h.runsControlPlane).map((h) => ({ name: h.name, address: h.address }));
  return {
    address: plan.api.address,
    port: plan.api.port,
    nodeUrl: plan.api.nodeUrl,
    url: hairpin ? localUrl : plan.api.nodeUrl,
    localUrl: host.runsControlPlane ? localUrl : null,
    servers,
    vip: vipHolders(plan).some((h) => h.name === host.name) ? vip(plan) : null,
  };
}

function kubernetesFacts(plan: ClusterPlan): NixAttrs {
  return {
    version: plan.kubernetesVersion,
    clusterDomain: plan.clusterDomain,
    podCidr: plan.podCidr,
    nodePodCidrPrefix: plan.nodePodCidrPrefix,
    serviceCidr: plan.serviceCidr,
    firstServiceIp: plan.firstServiceIp,
    dnsServiceIp: plan.dnsServiceIp,
  };
}

function etcdFacts(plan: ClusterPlan, host: HostPlan): NixAttrs {
  return {
    members: plan.etcdMembers.map((m) => ({ name: m.name, address: m.address, clientUrl: m.clientUrl, peerUrl: m.peerUrl })),
    // The member's own data disk (nixos/modules/etcd-data-disk.nix mounts it at the data directory); null on other
    // hosts, and on a member whose data has not been moved onto a disk yet (docs/day-2.md#data-disks-and-migration).
    dataDisk:
      host.runsEtcd && host.etcdDataGiB !== undefined
        ? { device: etcdDataDevice(plan.target), label: ETCD_DATA_DISK_NAME, dataDir: ETCD_DATA_DIR }
        : null,
  };
}

/** Snapshot settings of an etcd member (null on other hosts, and when backups are disabled). */
function backupFacts(plan: ClusterPlan, host: HostPlan): NixValue {
  if (!host.runsEtcd || !plan.backup.enabled) return null;
  const bucket = plan.target === "gcp" ? plan.backup.bucket : undefined;
  return {
    interval: plan.backup.interval,
    keep: plan.backup.keep,
    dir: ETCD_BACKUP_DIR,
    gcs: bucket === undefined ? null : { bucket, prefix: `${plan.cluster}/${host.name}`, keyFile: ETCD_BACKUP_WRITER_KEY },
  };
}

/** The `cluster` attribute of the index and of every host file. */
export function clusterIdentity(plan: ClusterPlan): NixAttrs {
  return {
    name: plan.cluster,
    target: plan.target,
    topology: plan.topology,
    sourceFile: plan.sourceFile,
    kubernetesVersion: plan.kubernetesVersion,
  };
}

/** The attribute set written to nixos/clusters/<cluster>/hosts/<host>.nix. */
export function hostFileValue(plan: ClusterPlan, host: HostPlan): NixAttrs {
  const needsApi = host.runsControlPlane || host.runsKubelet || host.runsLoadBalancer || vipHolders(plan).includes(host);
  return {
    cluster: clusterIdentity(plan),
    host: {
      name: host.name,
      fqdn: host.fqdn,
      domain: plan.hostDomain,
      machineName: host.machineName,
      pool: host.pool,
      index: host.index,
      address: host.address,
      roles: [...host.roles],
      runsEtcd: host.runsEtcd,
      runsControlPlane: host.runsControlPlane,
      runsKubelet: host.runsKubelet,
      runsLoadBalancer: host.runsLoadBalancer,
    },
    network: { nodeCidr: plan.nodeCidr, prefixLength: prefixLength(plan.nodeCidr), gateway: plan.gateway },
    api: needsApi ? apiFacts(plan, host) : null,
    etcd: host.runsEtcd || host.runsControlPlane ? etcdFacts(plan, host) : null,
    backup: backupFacts(plan, host),
    kubernetes: host.runsControlPlane || host.runsKubelet ? kubernetesFacts(plan) : null,
    pki: {
      dir: PKI_DIR,
      files: pkiPathsFor(plan, host),
      accounts: pkiAccounts(),
      identities: host.runsControlPlane ? pkiIdentities() : null,
    },
    ssh: { user: plan.ssh.user, authorizedKeys: [...plan.ssh.authorizedKeys], hostKey: { ...hostKeyChannel(plan.target) } },
    deploy: {
      sshUser: plan.ssh.user,
      // libvirt: the DHCP reservation pins the planned address; GCP: SSH goes to the address the compute
      // stack reports (public when enabled), saved by outputsCommand() after deploy.
      hostname: host.address,
      hostnameSource: plan.target === "gcp" ? "outputs" : "plan",
    },
  };
}
