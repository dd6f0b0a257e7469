/**
 * GCP target (hashicorp/google). The network stack holds the VPC, the firewall and both API addresses; the compute
 * stack holds the image, the instances and the API balancers (they need the instances, and take the reserved
 * addresses as cross-stack values).
 */
import type { Construct } from "constructs";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import type { SshHostKeySource, Target, TargetCompute, TargetNetwork } from "../target";
import { GcpApiAddresses } from "./api-addresses";
import { GcpClusterCompute, requireGcp, type GcpComputeNetworkInputs } from "./compute";
import { GcpFirewall } from "./firewall";
import { clusterFirewallRules } from "../../src/gcp/firewall-rules";
import { GcpClusterNetwork } from "./network";
import { roleTags } from "../../src/gcp/names";
import { addGoogleProvider } from "./provider";

/** What the GCP network stack hands to the compute stack (tokens; cdktf wires them through remote state). */
export interface GcpNetworkOutputs extends TargetNetwork, GcpComputeNetworkInputs {}

/** Names of the network stack's outputs (TargetNetwork.outputs), for `terraform output` and tooling outside cdktf. */
export const GCP_NETWORK_OUTPUTS = {
  network: "network_self_link",
  subnetwork: "subnetwork_self_link",
  externalApiAddress: "api_external_address",
  internalApiAddress: "api_internal_address",
} as const;

export const gcpTarget: Target<GcpNetworkOutputs> = {
  createNetwork(scope: Construct, plan: ClusterPlan): GcpNetworkOutputs {
    const gcp = requireGcp(plan);
    addGoogleProvider(scope, plan.cluster, gcp);
    const net = new GcpClusterNetwork(scope, "vpc", { cluster: plan.cluster, region: gcp.region, nodeCidr: plan.nodeCidr });
    new GcpFirewall(scope, "firewall", {
      cluster: plan.cluster,
      network: net.network.id,
      rules: clusterFirewallRules({ tags: roleTags(plan.cluster), adminSourceRanges: gcp.adminSourceRanges, apiPort: plan.api.port }),
    });
    const addresses = new GcpApiAddresses(scope, "api-addresses", {
      cluster: plan.cluster,
      region: gcp.region,
      subnetwork: net.subnetwork.id,
      internalAddress: plan.api.address,
    });

    return {
      operatorApiUrl: `https://${addresses.external.address}:${plan.api.port}`,
      // Both go into the API server certificate: nodes connect to the first, operators to the second.
      apiAddresses: [plan.api.address, addresses.external.address],
      networkSelfLink: net.network.selfLink,
      subnetworkSelfLink: net.subnetwork.selfLink,
      externalApiAddress: addresses.external.address,
      internalApiAddress: addresses.internal.address,
      outputs: {
        [GCP_NETWORK_OUTPUTS.network]: { value: net.network.selfLink, description: "Self-link of the cluster's VPC network" },
        [GCP_NETWORK_OUTPUTS.subnetwork]: { value: net.subnetwork.selfLink, description: "Self-link of the hosts' subnetwork" },
        [GCP_NETWORK_OUTPUTS.externalApiAddress]: { value: addresses.external.address, description: "External API address (operators)" },
        [GCP_NETWORK_OUTPUTS.internalApiAddress]: { value: addresses.internal.address, description: "Internal API address (nodes)" },
      },
    };
  },

  createCompute(scope: Construct, plan: ClusterPlan, network: GcpNetworkOutputs, hostKeys: SshHostKeySource): TargetCompute {
    addGoogleProvider(scope, plan.cluster, requireGcp(plan));
    const compute = new GcpClusterCompute(scope, "cluster", { plan, network, hostKeys });
    return { hosts: compute.hosts, ...(compute.etcdBackupWriterKey !== undefined ? { etcdBackupWriterKey: compute.etcdBackupWriterKey } : {}) };
  },
};
