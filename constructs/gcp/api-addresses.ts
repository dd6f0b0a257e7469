/**
 * The Kubernetes API's two addresses, reserved in the network stack so they outlive the balancers and machines:
 * a regional external address for operators and the planned internal address for the nodes.
 */
import { ComputeAddress } from "@cdktf/provider-google/lib/compute-address";
import { Construct } from "constructs";
import { parseIp } from "../../src/cluster/ipv4";
import { clusterResourceName } from "../../src/gcp/names";

export interface GcpApiAddressesProps {
  readonly cluster: string;
  readonly region: string;
  /** The hosts' subnetwork (id or self-link): the internal address is taken from it. */
  readonly subnetwork: string;
  /** The planned internal address (plan.api.address), inside the subnetwork and outside the hosts' addresses. */
  readonly internalAddress: string;
}

export class GcpApiAddresses extends Construct {
  /** Regional, premium tier: the external balancer's front end, where operators' kubeconfigs point. */
  readonly external: ComputeAddress;
  /** The internal balancer's front end, the nodes' API endpoint (plan.api.nodeUrl). */
  readonly internal: ComputeAddress;

  constructor(scope: Construct, id: string, props: GcpApiAddressesProps) {
    super(scope, id);
    if (parseIp(props.internalAddress) === undefined) {
      throw new Error(`GcpApiAddresses: internalAddress "${props.internalAddress}" is not an IPv4 address`);
    }
    this.external = new ComputeAddress(this, "external", {
      name: clusterResourceName(props.cluster, "apiExternal"),
      description: `Kubernetes API of cluster ${props.cluster} for operators (external passthrough balancer)`,
      region: props.region,
      addressType: "EXTERNAL",
      networkTier: "PREMIUM",
    });
    this.internal = new ComputeAddress(this, "internal", {
      name: clusterResourceName(props.cluster, "apiInternal"),
      description: `Kubernetes API of cluster ${props.cluster} for the nodes (internal passthrough balancer)`,
      region: props.region,
      addressType: "INTERNAL",
      subnetwork: props.subnetwork,
      address: props.internalAddress,
      purpose: "GCE_ENDPOINT",
    });
  }
}
