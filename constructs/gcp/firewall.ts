/** One ingress allow rule per row of a firewall table (see firewall-rules.ts). */
import { ComputeFirewall } from "@cdktf/provider-google/lib/compute-firewall";
import { Construct } from "constructs";
import type { FirewallRuleSpec } from "../../src/gcp/firewall-rules";
import { firewallRuleNameParts, gceName } from "../../src/gcp/names";

export interface GcpFirewallProps {
  /** Cluster name: prefix of every rule name. */
  readonly cluster: string;
  /** The network's id or self-link. */
  readonly network: string;
  readonly rules: readonly FirewallRuleSpec[];
}

export class GcpFirewall extends Construct {
  /** By rule key. */
  readonly rules: Readonly<Record<string, ComputeFirewall>>;

  constructor(scope: Construct, id: string, props: GcpFirewallProps) {
    super(scope, id);
    const rules: Record<string, ComputeFirewall> = {};
    for (const rule of props.rules) {
      checkRule(rule);
      rules[rule.key] = new ComputeFirewall(this, rule.key, {
        name: gceName(...firewallRuleNameParts(props.cluster, rule.key)),
        description: rule.description,
        network: props.network,
        direction: "INGRESS",
        priority: 1000,
        allow: [{ protocol: rule.protocol, ...(rule.ports ? { ports: rule.ports.map(String) } : {}) }],
        ...(rule.sourceRanges ? { sourceRanges: [...rule.sourceRanges] } : {}),
        ...(rule.sourceTags ? { sourceTags: [...rule.sourceTags] } : {}),
        targetTags: [...rule.targetTags],
      });
    }
    this.rules = rules;
  }
}

/**
 * Compute Engine reads an ingress rule without sources as "from 0.0.0.0/0" and one without targets as "to every
 * instance of the network": neither may happen silently.
 */
function checkRule(rule: FirewallRuleSpec): void {
  if ((rule.sourceRanges?.length ?? 0) + (rule.sourceTags?.length ?? 0) === 0) {
    throw new Error(`firewall rule "${rule.key}" has no sources; Compute Engine would open it to 0.0.0.0/0`);
  }
  if (rule.targetTags.length === 0) {
    throw new Error(`firewall rule "${rule.key}" has no target tags; Compute Engine would apply it to every instance of the network`);
  }
  if (rule.protocol === "icmp" ? rule.ports !== undefined : !rule.ports?.length) {
    throw new Error(`firewall rule "${rule.key}": ${rule.protocol === "icmp" ? "icmp takes no ports" : "tcp/udp rules must list their ports"}`);
  }
}
