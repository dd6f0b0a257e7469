/** The host plan: everything later steps (stacks, PKI, Nix files, reports) read. Plain data, no cdktf. */
import type { LibvirtNetworkPlan, LibvirtNetworkRecord } from "./libvirt-network";
import type { BackendSettings, BackupSettings, GcpSettings, LibvirtSettings, PkiSettings, PoolName } from "./schema";

export type Target = "libvirt" | "gcp";
export type Topology = "external-etcd" | "stacked";
export type Role = "etcd" | "control-plane" | "worker" | "load-balancer";

/**
 * What Terraform may do to a host's machine in this synth. The planner protects every etcd member and
 * control-plane host; the change review (src/day2/review.ts) lifts a protection only for a change it allowed.
 * These guards hold at `terraform plan` even for a change made directly in the synthesized JSON.
 */
export interface MachineGuard {
  /** lifecycle.prevent_destroy on the machine (GCP instance; libvirt domain and root volume). */
  readonly preventDestroy: boolean;
  /** GCP allow_stopping_for_update: a machine-type change may stop the instance. */
  readonly allowStopping: boolean;
  /** Apply a changed boot image (re-image: replaces the machine); otherwise the image is bootstrap only. */
  readonly applyImage: boolean;
}

export interface HostPlan {
  /** Host name, an RFC 1123 label, unique in the cluster (e.g. "cp-1"). */
  readonly name: string;
  /** name + "." + the hosts' DNS domain. */
  readonly fqdn: string;
  /** Name of the VM / instance / domain: "<cluster>-<name>", unique across clusters on one libvirt host or GCP project. */
  readonly machineName: string;
  readonly pool: PoolName;
  /** 0-based position inside its pool; never changes when hosts are added to the pool. */
  readonly index: number;
  /** Sorted role list. */
  readonly roles: readonly Role[];
  readonly runsEtcd: boolean;
  readonly runsControlPlane: boolean;
  /** Every Kubernetes node (control plane included) runs kubelet, kube-proxy and flannel. */
  readonly runsKubelet: boolean;
  readonly runsLoadBalancer: boolean;
  /** Planned IPv4 address on the node subnet. */
  readonly address: string;
  /** Stable MAC, 52:54:00 + the address' last three octets (libvirt DHCP reservation). */
  readonly mac: string;
  readonly vcpu: number;
  readonly memoryMiB: number;
  readonly diskGiB: number;
  /**
   * etcd members only: size of the member's own data disk, mounted at etcd's data directory
   * (src/cluster/etcd-data-disk.ts). Unset on other hosts, and on a member created before data disks existed
   * until its data is moved (the change preview holds it pending, src/day2/).
   */
  readonly etcdDataGiB?: number;
  readonly guard: MachineGuard;
  /** GCP only: zone, by index within the pool. */
  readonly zone?: string;
  /** GCP only: the boot disk's type (gcp.bootDiskType). */
  readonly bootDiskType?: "pd-standard" | "pd-balanced" | "pd-ssd";
  /** GCP only: machine type of the host's pool. */
  readonly machineType?: string;
}

export interface EtcdMember {
  readonly name: string;
  readonly address: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
}

export interface ApiPlan {
  readonly port: number;
  /** libvirt: the VIP (keepalived); gcp: the internal pass-through load balancer's address. */
  readonly address: string;
  /** URL nodes (kubelet, kube-proxy, flannel) use: https://<address>:<port>. */
  readonly nodeUrl: string;
  /** gcp: the operators' external address is reserved at apply and known only then. */
  readonly externalAddressAtApply: boolean;
}

/** SSH jump host for the PKI delivery (description `ssh.bastion`); unset user/port: the hosts' user, port 22. */
export interface SshBastion {
  readonly host: string;
  readonly user?: string;
  readonly port?: number;
  /** Its SSH host public key (OpenSSH line), verified by the delivery. */
  readonly hostKey: string;
}

/** The libvirt network's bridge and DHCP range, resolved (libvirt-network.ts); `record` is what synth commits. */
export interface LibvirtNetwork extends LibvirtNetworkPlan {
  readonly record: LibvirtNetworkRecord;
}

export interface ClusterPlan {
  readonly cluster: string;
  readonly target: Target;
  readonly topology: Topology;
  /** Description file, relative to the repository root, with "/" separators. */
  readonly sourceFile: string;
  readonly kubernetesVersion: string;
  readonly clusterDomain: string;
  readonly hostDomain: string;
  readonly nodeCidr: string;
  /** The node subnet's gateway (libvirt: the host bridge; gcp: the subnet gateway): cidrhost(nodeCidr, 1). */
  readonly gateway: string;
  readonly podCidr: string;
  readonly nodePodCidrPrefix: number;
  readonly serviceCidr: string;
  /** Address of the `kubernetes` service: cidrhost(serviceCidr, 1). */
  readonly firstServiceIp: string;
  /** Cluster DNS (CoreDNS) service address: cidrhost(serviceCidr, 10). */
  readonly dnsServiceIp: string;
  readonly api: ApiPlan;
  readonly etcdMembers: readonly EtcdMember[];
  /** All hosts, by pool (load balancers, etcd, control plane, workers), then index. */
  readonly hosts: readonly HostPlan[];
  readonly ssh: { readonly user: string; readonly authorizedKeys: readonly string[]; readonly bastion?: SshBastion };
  readonly libvirt?: LibvirtSettings;
  /** libvirt only: the network's bridge and dnsmasq range. */
  readonly libvirtNetwork?: LibvirtNetwork;
  readonly gcp?: GcpSettings;
  readonly pki: PkiSettings;
  readonly backend: BackendSettings;
  readonly backup: BackupSettings;
}
