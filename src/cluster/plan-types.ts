/** The host plan: everything later steps (stacks, PKI, Nix files, reports) read. Plain data, no cdktf. */
import type { BackendSettings, GcpSettings, LibvirtSettings, PkiSettings, PoolName } from "./schema";

export type Target = "libvirt" | "gcp";
export type Topology = "external-etcd" | "stacked";
export type Role = "etcd" | "control-plane" | "worker" | "load-balancer";

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
  /** GCP only: zone, by index within the pool. */
  readonly zone?: string;
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
  readonly gcp?: GcpSettings;
  readonly pki: PkiSettings;
  readonly backend: BackendSettings;
}
