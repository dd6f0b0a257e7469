/**
 * The small interface every target (libvirt, gcp) implements: what the network and compute stacks need
 * from it. Targets never import each other; stacks pick one through targets.ts.
 */
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";

/** A named output of a stack, as data: the stack declares it with exactly this name (`terraform output <name>`). */
export interface NamedOutput {
  /** A token or a plain value. */
  readonly value: unknown;
  readonly description: string;
}

export interface TargetNetwork {
  /** URL operators use for the API (kubeconfig): libvirt https://<VIP>:6443, gcp https://<external LB>:6443 (a token). */
  readonly operatorApiUrl: string;
  /**
   * Every address the API is reached at, for the API server certificate: libvirt [VIP];
   * gcp [internal LB address, external LB address (a token resolved at apply)].
   */
  readonly apiAddresses: readonly string[];
  /**
   * The target's named outputs of the network stack, by output name (e.g. libvirt `network_id`, gcp
   * `network_self_link`), for `terraform output` and tools outside cdktf. The network stack declares them.
   */
  readonly outputs: Readonly<Record<string, NamedOutput>>;
}

export interface HostEndpoint {
  /** Address SSH (deploy-rs, PKI delivery) connects to: the planned address, or a public one (a token). */
  readonly sshAddress: string;
  /** The machine's id (a token): when a machine is replaced its files must be delivered again. */
  readonly machineId: string;
  /** The machine's public address (a token), when it has one (gcp with publicAddresses). */
  readonly externalAddress?: string;
}

export interface TargetCompute {
  /** By host name, every host of the plan. */
  readonly hosts: Readonly<Record<string, HostEndpoint>>;
  /** The etcd backup uploader's key (base64 JSON, sensitive), when the target uploads snapshots (GCP bucket). */
  readonly etcdBackupWriterKey?: string;
}

/**
 * The hosts' SSH host private keys, made by the compute stack (constructs/ssh/host-keys.ts). A target hands each to
 * its machine before first boot over an authenticated channel; the NixOS side installs it.
 */
export interface SshHostKeySource {
  /** The private key in OpenSSH format (a sensitive token). */
  privateKeyOpenssh(host: string): string;
}

/**
 * A target. `N` is what its network construct exposes to its compute construct (e.g. the libvirt network id,
 * the GCP subnetwork); values crossing stacks are tokens, which cdktf turns into outputs and remote state.
 */
export interface Target<N extends TargetNetwork = TargetNetwork> {
  /** Adds the target's provider and network resources to the network stack. */
  createNetwork(scope: Construct, plan: ClusterPlan): N;
  /** Adds the target's provider, images, disks and machines to the compute stack; each machine gets its host key. */
  createCompute(scope: Construct, plan: ClusterPlan, network: N, hostKeys: SshHostKeySource): TargetCompute;
}
