/** The cluster's VPC: a custom-mode network, one subnetwork for the hosts, and Cloud NAT for outbound traffic. */
import { ComputeNetwork } from "@cdktf/provider-google/lib/compute-network";
import { ComputeRouter } from "@cdktf/provider-google/lib/compute-router";
import { ComputeRouterNat } from "@cdktf/provider-google/lib/compute-router-nat";
import { ComputeSubnetwork } from "@cdktf/provider-google/lib/compute-subnetwork";
import { Construct } from "constructs";
import { parseCidr } from "../../src/cluster/ipv4";
import { clusterResourceName } from "../../src/gcp/names";

/** Compute Engine's MTU default, which NixOS' GCE profile also sets on eth0; flannel derives its VXLAN MTU from it. */
export const GCE_MTU = 1460;

export interface GcpClusterNetworkProps {
  /** Cluster name: prefix of every resource name. */
  readonly cluster: string;
  /** Region of the subnetwork and the Cloud Router. */
  readonly region: string;
  /** The hosts' subnet (the description's network.nodeCidr). */
  readonly nodeCidr: string;
  /** MTU of the VPC. @default GCE_MTU (1460) */
  readonly mtu?: number;
}

export class GcpClusterNetwork extends Construct {
  readonly network: ComputeNetwork;
  readonly subnetwork: ComputeSubnetwork;
  readonly router: ComputeRouter;
  readonly nat: ComputeRouterNat;

  constructor(scope: Construct, id: string, props: GcpClusterNetworkProps) {
    super(scope, id);
    if (parseCidr(props.nodeCidr) === undefined) {
      throw new Error(`GcpClusterNetwork: nodeCidr "${props.nodeCidr}" is not an IPv4 CIDR block`);
    }
    const { cluster, region } = props;

    this.network = new ComputeNetwork(this, "network", {
      name: clusterResourceName(cluster, "network"),
      description: `Network of Kubernetes cluster ${cluster}`,
      autoCreateSubnetworks: false,
      routingMode: "REGIONAL",
      mtu: props.mtu ?? GCE_MTU,
    });

    this.subnetwork = new ComputeSubnetwork(this, "subnetwork", {
      name: clusterResourceName(cluster, "subnetwork"),
      description: `Hosts of Kubernetes cluster ${cluster}; pods travel in flannel's VXLAN overlay, so no secondary ranges`,
      network: this.network.id,
      region,
      ipCidrRange: props.nodeCidr,
      // Hosts without a public address still reach Google APIs (image pulls from Artifact Registry, logging).
      privateIpGoogleAccess: true,
    });

    this.router = new ComputeRouter(this, "router", {
      name: clusterResourceName(cluster, "router"),
      description: `Cloud Router carrying the Cloud NAT of cluster ${cluster}`,
      network: this.network.id,
      region,
    });

    this.nat = new ComputeRouterNat(this, "nat", {
      name: clusterResourceName(cluster, "nat"),
      router: this.router.name,
      region,
      natIpAllocateOption: "AUTO_ONLY",
      sourceSubnetworkIpRangesToNat: "LIST_OF_SUBNETWORKS",
      subnetwork: [{ name: this.subnetwork.id, sourceIpRangesToNat: ["ALL_IP_RANGES"] }],
      logConfig: { enable: true, filter: "ERRORS_ONLY" },
    });
  }
}
