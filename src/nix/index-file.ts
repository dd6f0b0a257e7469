/**
 * The per-cluster index (nixos/clusters/<cluster>/default.nix): the cluster's identity, its hosts in
 * plan order and their files, and what the flake needs to build images and deploy-rs nodes.
 */
import type { ClusterPlan } from "../cluster/plan-types";
import { clusterIdentity, outputsCommand } from "./host-file";
import { NixPath, type NixAttrs } from "./writer";
import { hostKeyChannel } from "../ssh/host-key-channel";

/** The flake's folder, relative to the repository root. */
export const NIXOS_DIR = "nixos";

/** Directory of one cluster's generated files, relative to the flake's folder. */
export function clusterDir(cluster: string): string {
  return `clusters/${cluster}`;
}

/** File name of a host's generated file inside the cluster's `hosts` directory. */
export function hostFileName(host: string): string {
  return `${host}.nix`;
}

/** The file (inside the cluster directory) where `npm run outputs` saves the compute stack's `hosts` output. */
export const OUTPUTS_FILE = "outputs.json";

export function indexFileValue(plan: ClusterPlan): NixAttrs {
  return {
    cluster: clusterIdentity(plan),
    // Plan order (load balancers, etcd, control plane, workers); scripts/deploy-cluster.sh deploys in role order.
    hosts: plan.hosts.map((h) => h.name),
    hostFiles: Object.fromEntries(plan.hosts.map((h) => [h.name, new NixPath(`./hosts/${hostFileName(h.name)}`)])),
    ssh: { user: plan.ssh.user, authorizedKeys: [...plan.ssh.authorizedKeys], hostKey: { ...hostKeyChannel(plan.target) } },
    outputs: {
      file: OUTPUTS_FILE,
      required: plan.target === "gcp",
      command: outputsCommand(plan),
    },
  };
}
