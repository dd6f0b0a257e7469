/**
 * libvirt target (dmacvicar/libvirt 0.8.3): a NAT network in the network stack; pool, base image, disks and
 * domains in the compute stack. One libvirt connection (provider) per stack, from the description's URI.
 */
import type { Construct } from "constructs";
import { libvirtNames } from "../../src/cluster/names";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import type { LibvirtSettings } from "../../src/cluster/schema";
import type { SshHostKeySource, Target, TargetCompute, TargetNetwork } from "../target";
import { LibvirtClusterCompute } from "./compute";
import { LibvirtClusterNetwork } from "./network";
import { imageSourceForStack } from "./paths";
import { libvirtProvider } from "./provider";

export { LibvirtClusterCompute, type LibvirtClusterComputeProps, type LibvirtDomainType, type LibvirtHostSpec } from "./compute";
export { LibvirtClusterNetwork, type LibvirtClusterNetworkProps, type LibvirtDnsName } from "./network";
export { imageSourceForStack } from "./paths";
export { libvirtProvider } from "./provider";

/** What the libvirt network gives the compute stack. */
export interface LibvirtNetworkOutputs extends TargetNetwork {
  /** The libvirt network id (a token of the network stack; cdktf passes it to compute through remote state). */
  readonly networkId: string;
}

/** Names of the network stack's outputs (TargetNetwork.outputs), for `terraform output` and tooling outside cdktf. */
export const LIBVIRT_NETWORK_OUTPUTS = { networkId: "network_id", networkName: "network_name", bridge: "bridge" } as const;

/** Construct ids inside the stacks; stable, they are part of every resource address. */
export const LIBVIRT_CONSTRUCT_IDS = { network: "network", compute: "compute" } as const;

function settingsOf(plan: ClusterPlan): LibvirtSettings {
  if (plan.target !== "libvirt" || !plan.libvirt) {
    throw new Error(`cluster "${plan.cluster}": the libvirt target needs target "libvirt" and a libvirt section (got target "${plan.target}")`);
  }
  return plan.libvirt;
}

export const libvirtTarget: Target<LibvirtNetworkOutputs> = {
  createNetwork(scope: Construct, plan: ClusterPlan): LibvirtNetworkOutputs {
    libvirtProvider(scope, settingsOf(plan).uri);
    const network = new LibvirtClusterNetwork(scope, LIBVIRT_CONSTRUCT_IDS.network, {
      name: libvirtNames.network(plan.cluster),
      cidr: plan.nodeCidr,
      domain: plan.hostDomain,
      hosts: plan.hosts.map((h) => ({ name: h.name, address: h.address })),
      apiAddress: plan.api.address,
      // Absent for networks created before per-cluster bridges and ranges: keeping them keeps those networks.
      ...(plan.libvirtNetwork?.bridge !== undefined ? { bridge: plan.libvirtNetwork.bridge } : {}),
      ...(plan.libvirtNetwork?.dynamicRange ? { dynamicRange: plan.libvirtNetwork.dynamicRange } : {}),
    });
    return {
      operatorApiUrl: plan.api.nodeUrl,
      apiAddresses: [plan.api.address],
      networkId: network.networkId,
      outputs: {
        [LIBVIRT_NETWORK_OUTPUTS.networkId]: { value: network.networkId, description: "Id (UUID) of the cluster's libvirt network" },
        [LIBVIRT_NETWORK_OUTPUTS.networkName]: { value: network.networkName, description: "Name of the cluster's libvirt network (virsh net-info <name>)" },
        [LIBVIRT_NETWORK_OUTPUTS.bridge]: { value: network.network.bridge, description: "Host bridge of the cluster's libvirt network (trust it in the host firewall)" },
      },
    };
  },

  createCompute(scope: Construct, plan: ClusterPlan, network: LibvirtNetworkOutputs, hostKeys: SshHostKeySource): TargetCompute {
    const settings = settingsOf(plan);
    libvirtProvider(scope, settings.uri);
    const compute = new LibvirtClusterCompute(scope, LIBVIRT_CONSTRUCT_IDS.compute, {
      cluster: plan.cluster,
      networkId: network.networkId,
      poolPath: settings.poolPath,
      baseImageSource: imageSourceForStack(settings.baseImage),
      hosts: plan.hosts.map((h) => ({ ...h, sshHostPrivateKey: hostKeys.privateKeyOpenssh(h.name) })),
      domainType: settings.domainType,
    });
    return { hosts: compute.hosts };
  },
};
