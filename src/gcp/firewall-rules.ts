/**
 * The cluster's ingress firewall as data: one row per rule, each naming the component that listens on its ports
 * and why its sources need it. Compute Engine denies every other ingress (the implied deny rule); egress stays open
 * (nixpkgs caches, container registries, Google APIs). Pods never appear as sources: pod-to-pod traffic is wrapped
 * in flannel's VXLAN between node addresses, and pod traffic leaving the overlay is masqueraded to the node address
 * (Compute Engine would drop a packet from a pod address anyway: the hosts do not forward IP).
 */
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT } from "../cluster/plan";
import { allHostTags, type RoleTags } from "./names";

/** kubelet's HTTPS API (logs, exec, attach, port-forward, metrics). */
export const KUBELET_PORT = 10250;
/** flannel's VXLAN backend: the Linux kernel's VXLAN port, which flannel uses by default. */
export const FLANNEL_VXLAN_PORT = 8472;
export const SSH_PORT = 22;

/**
 * Where Google's health checkers probe from: 35.191.0.0/16 and 130.211.0.0/22 for the internal passthrough
 * balancer; 35.191.0.0/16, 209.85.152.0/22 and 209.85.204.0/22 for the backend-service-based external one.
 */
export const GOOGLE_HEALTH_CHECK_RANGES: readonly string[] = ["35.191.0.0/16", "130.211.0.0/22", "209.85.152.0/22", "209.85.204.0/22"];

export interface FirewallRuleSpec {
  /** Construct id and name suffix ("<cluster>-<key>"); never rename one (it replaces the rule). */
  readonly key: string;
  /** The listening component and why these sources need it; becomes the rule's description. */
  readonly description: string;
  readonly protocol: "tcp" | "udp" | "icmp";
  /** Ports (tcp/udp only). */
  readonly ports?: readonly number[];
  /** Source address ranges (outside the cluster). A rule has source ranges or source tags, never neither. */
  readonly sourceRanges?: readonly string[];
  /** Source network tags (hosts of the cluster, matched by their primary internal address). */
  readonly sourceTags?: readonly string[];
  /** Hosts the rule opens, by network tag. */
  readonly targetTags: readonly string[];
}

export interface ClusterFirewallInput {
  readonly tags: RoleTags;
  /** Operators' ranges (description gcp.adminSourceRanges): SSH and the API, nothing else. */
  readonly adminSourceRanges: readonly string[];
  /** kube-apiserver's port (6443). */
  readonly apiPort: number;
}

/** The rule table. Order is the order of the synthesized resources. */
export function clusterFirewallRules(input: ClusterFirewallInput): FirewallRuleSpec[] {
  const { tags, adminSourceRanges, apiPort } = input;
  const everyHost = allHostTags(tags);
  return [
    {
      key: "ssh-from-admin",
      description: "sshd on every host: deploy-rs and the PKI delivery, from the operators' ranges only",
      protocol: "tcp",
      ports: [SSH_PORT],
      sourceRanges: adminSourceRanges,
      targetTags: everyHost,
    },
    {
      key: "api-from-admin",
      description:
        "kube-apiserver through the external passthrough balancer, which keeps the client address: operators' ranges only",
      protocol: "tcp",
      ports: [apiPort],
      sourceRanges: adminSourceRanges,
      targetTags: [tags.controlPlane],
    },
    {
      key: "api-health-checks",
      description: "kube-apiserver /readyz probed by Google's health checkers for both API balancers",
      protocol: "tcp",
      ports: [apiPort],
      sourceRanges: GOOGLE_HEALTH_CHECK_RANGES,
      targetTags: [tags.controlPlane],
    },
    {
      key: "api-from-nodes",
      description:
        "kube-apiserver for kubelet, kube-proxy, flannel and (masqueraded) pods on every node, through the internal balancer",
      protocol: "tcp",
      ports: [apiPort],
      sourceTags: [tags.node],
      targetTags: [tags.controlPlane],
    },
    {
      key: "etcd-peer",
      description: "etcd peer traffic (raft, snapshots) between the members only",
      protocol: "tcp",
      ports: [ETCD_PEER_PORT],
      sourceTags: [tags.etcd],
      targetTags: [tags.etcd],
    },
    {
      key: "etcd-client",
      description: "etcd client port: kube-apiserver on the control plane, and etcdctl run on a member for maintenance",
      protocol: "tcp",
      ports: [ETCD_CLIENT_PORT],
      sourceTags: [tags.controlPlane, tags.etcd],
      targetTags: [tags.etcd],
    },
    {
      key: "kubelet-from-control-plane",
      description: "kubelet API on every node: kube-apiserver's logs, exec, attach and port-forward",
      protocol: "tcp",
      ports: [KUBELET_PORT],
      sourceTags: [tags.controlPlane],
      targetTags: [tags.node],
    },
    {
      key: "flannel-vxlan",
      description: "flannel VXLAN overlay carrying pod traffic between Kubernetes nodes",
      protocol: "udp",
      ports: [FLANNEL_VXLAN_PORT],
      sourceTags: [tags.node],
      targetTags: [tags.node],
    },
    {
      key: "icmp-internal",
      description: "ICMP between the cluster's hosts: reachability checks and path-MTU discovery",
      protocol: "icmp",
      sourceTags: everyHost,
      targetTags: everyHost,
    },
  ];
}
