/**
 * The Kubernetes API's two passthrough load balancers over one unmanaged instance group per zone of control-plane
 * hosts: an external one (operators, limited to the admin ranges by the firewall, which sees the client address)
 * and an internal one (the nodes). Both share one regional health check of the API.
 *
 * Passthrough balancers deliver packets unchanged (destination = the balancer's address), and the guest agent
 * routes both balancer addresses locally on every backend. So a control-plane host that connects to either
 * balancer address is always answered by itself: its components must use their local API server instead.
 */
import { ComputeForwardingRule } from "@cdktf/provider-google/lib/compute-forwarding-rule";
import { ComputeInstanceGroup } from "@cdktf/provider-google/lib/compute-instance-group";
import { ComputeInstanceGroupMembership } from "@cdktf/provider-google/lib/compute-instance-group-membership";
import { ComputeRegionBackendService } from "@cdktf/provider-google/lib/compute-region-backend-service";
import { ComputeRegionHealthCheck } from "@cdktf/provider-google/lib/compute-region-health-check";
import type { ComputeInstance } from "@cdktf/provider-google/lib/compute-instance";
import { Construct } from "constructs";
import { clusterResourceName, gceName, instanceGroupNameParts } from "../../src/gcp/names";

export type ApiHealthCheck = "https-readyz" | "tcp";

/**
 * How Google probes each API server (docs/ha.md "GCP"). Probes go out every checkIntervalSec whatever the last
 * result was, so a backend that starts failing is marked unhealthy after at most
 *   checkIntervalSec * unhealthyThreshold             = 4 s when it refuses or answers /readyz with an error,
 *   checkIntervalSec * unhealthyThreshold + timeoutSec = 6 s when it does not answer at all,
 * and taken back healthyThreshold * checkIntervalSec (<= 4 s) after it is ready again. Google then needs a moment
 * to act on it, which the API servers' shutdown delay (nixos/lib/apiserver-drain.nix, 15 s) covers: a restarting
 * API server leaves both balancers while it still serves. New connections are never refused by a draining server;
 * established ones stay (passthrough balancers keep connections on an unhealthy backend) until it closes them.
 */
export const API_HEALTH_CHECK_TIMING = {
  checkIntervalSec: 2,
  timeoutSec: 2,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
} as const;

/** The worst case above, in seconds: a backend that fails fast (refused, unready) or not at all (silent). */
export function apiUnhealthyAfterSeconds(failure: "fast" | "silent"): number {
  const t = API_HEALTH_CHECK_TIMING;
  return t.checkIntervalSec * t.unhealthyThreshold + (failure === "silent" ? t.timeoutSec : 0);
}

export interface ApiBackend {
  /** Host name (stable construct ids). */
  readonly name: string;
  readonly zone: string;
  readonly instance: ComputeInstance;
}

export interface GcpApiLoadBalancersProps {
  readonly cluster: string;
  readonly region: string;
  /** The network's id or self-link (instance groups, internal balancer). */
  readonly network: string;
  /** The hosts' subnetwork (internal balancer). */
  readonly subnetwork: string;
  /** The reserved external address (the address itself, a token). */
  readonly externalAddress: string;
  /** The reserved internal address (the address itself, a token or the planned value). */
  readonly internalAddress: string;
  /** kube-apiserver's port. */
  readonly port: number;
  /** The control-plane hosts. */
  readonly backends: readonly ApiBackend[];
  /**
   * How the API is probed. "https-readyz" asks kube-apiserver's /readyz (etcd reachable, informers synced) and needs
   * anonymous requests to the health endpoints (Kubernetes' default); "tcp" only checks that the port accepts.
   * @default "https-readyz"
   */
  readonly healthCheck?: ApiHealthCheck;
}

export class GcpApiLoadBalancers extends Construct {
  /** By zone, the zones holding control-plane hosts. */
  readonly instanceGroups: Readonly<Record<string, ComputeInstanceGroup>>;
  readonly healthCheck: ComputeRegionHealthCheck;
  readonly externalBackendService: ComputeRegionBackendService;
  readonly internalBackendService: ComputeRegionBackendService;
  readonly externalForwardingRule: ComputeForwardingRule;
  readonly internalForwardingRule: ComputeForwardingRule;

  constructor(scope: Construct, id: string, props: GcpApiLoadBalancersProps) {
    super(scope, id);
    const { cluster, region, port } = props;
    if (props.backends.length === 0) {
      throw new Error("GcpApiLoadBalancers: no control-plane hosts to balance the API over");
    }

    const zones = [...new Set(props.backends.map((b) => b.zone))].sort();
    const groups: Record<string, ComputeInstanceGroup> = {};
    for (const zone of zones) {
      const group = new ComputeInstanceGroup(this, `control-plane-${zone}`, {
        name: gceName(...instanceGroupNameParts(cluster, zone)),
        description: `Control-plane hosts of cluster ${cluster} in ${zone}: backends of both API balancers`,
        zone,
        network: props.network,
      });
      groups[zone] = group;
      for (const backend of props.backends.filter((b) => b.zone === zone)) {
        // One membership per host, replaced with its instance: a re-created instance (same name, same self-link)
        // is otherwise left out of the group until a second apply.
        new ComputeInstanceGroupMembership(this, `member-${backend.name}`, {
          zone,
          instanceGroup: group.name,
          instance: backend.instance.selfLink,
          lifecycle: { replaceTriggeredBy: [`${backend.instance.terraformResourceType}.${backend.instance.friendlyUniqueId}.instance_id`] },
        });
      }
    }
    this.instanceGroups = groups;

    const healthCheck = props.healthCheck ?? "https-readyz";
    this.healthCheck = new ComputeRegionHealthCheck(this, "health-check", {
      name: clusterResourceName(cluster, "apiHealthCheck"),
      description: `Kubernetes API of cluster ${cluster}`,
      region,
      ...API_HEALTH_CHECK_TIMING,
      ...(healthCheck === "https-readyz" ? { httpsHealthCheck: { port, requestPath: "/readyz" } } : { tcpHealthCheck: { port } }),
    });

    const backends = zones.map((zone) => ({ group: groups[zone].selfLink, balancingMode: "CONNECTION" }));
    this.externalBackendService = new ComputeRegionBackendService(this, "external-backend", {
      name: clusterResourceName(cluster, "apiExternal"),
      description: `Kubernetes API of cluster ${cluster} for operators`,
      region,
      loadBalancingScheme: "EXTERNAL",
      protocol: "TCP",
      healthChecks: [this.healthCheck.id],
      backend: backends,
    });
    this.internalBackendService = new ComputeRegionBackendService(this, "internal-backend", {
      name: clusterResourceName(cluster, "apiInternal"),
      description: `Kubernetes API of cluster ${cluster} for the nodes`,
      region,
      loadBalancingScheme: "INTERNAL",
      protocol: "TCP",
      network: props.network,
      healthChecks: [this.healthCheck.id],
      backend: backends,
    });

    this.externalForwardingRule = new ComputeForwardingRule(this, "external", {
      name: clusterResourceName(cluster, "apiExternal"),
      description: `Kubernetes API of cluster ${cluster} for operators (passthrough: the firewall sees the client address)`,
      region,
      loadBalancingScheme: "EXTERNAL",
      networkTier: "PREMIUM",
      ipAddress: props.externalAddress,
      ipProtocol: "TCP",
      portRange: String(port),
      backendService: this.externalBackendService.id,
    });
    this.internalForwardingRule = new ComputeForwardingRule(this, "internal", {
      name: clusterResourceName(cluster, "apiInternal"),
      description: `Kubernetes API of cluster ${cluster} for the nodes`,
      region,
      loadBalancingScheme: "INTERNAL",
      network: props.network,
      subnetwork: props.subnetwork,
      ipAddress: props.internalAddress,
      ipProtocol: "TCP",
      ports: [String(port)],
      backendService: this.internalBackendService.id,
    });
  }
}
