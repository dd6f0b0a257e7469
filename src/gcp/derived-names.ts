/**
 * Every provider name a GCP cluster gets, built by the same functions the constructs use (names.ts and the
 * firewall table), and the rule each must meet. Validation checks them all before synthesis.
 */
import type { ClusterPlan } from "../cluster/plan-types";
import type { Finding } from "../cluster/validate";
import { clusterFirewallRules } from "./firewall-rules";
import {
  backupWriterAccountIdCandidate,
  CLUSTER_NAME_SUFFIXES,
  etcdDataDiskNameParts,
  firewallRuleNameParts,
  GCE_NAME,
  GCE_NAME_MAX,
  imageNameParts,
  instanceGroupNameParts,
  roleTagNames,
  SERVICE_ACCOUNT_ID,
  serviceAccountIdCandidate,
} from "./names";

export type NameRule = "gce-name" | "service-account-id";

export interface DerivedName {
  /** What the name names, for the message ("firewall rule", "instance group in europe-west1-b"). */
  readonly what: string;
  readonly name: string;
  readonly rule: NameRule;
  /** For a name built from a host name too: the pool whose namePrefix is in it. */
  readonly pool?: string;
}

/** What GCE accepts, in words, for messages. */
export const RULE_WORDS: Record<NameRule, string> = {
  "gce-name": `a letter first, then lower-case letters, digits or '-', not ending in '-', at most ${GCE_NAME_MAX} characters`,
  "service-account-id": "6 to 30 characters, a letter first, then lower-case letters, digits or '-'",
};

export function meetsRule(name: string, rule: NameRule): boolean {
  return rule === "gce-name" ? GCE_NAME.test(name) : SERVICE_ACCOUNT_ID.test(name);
}

/** Every derived name of a GCP plan (an empty list for other targets), in a stable order. */
export function gcpDerivedNames(plan: ClusterPlan): DerivedName[] {
  if (plan.target !== "gcp" || !plan.gcp) return [];
  const cluster = plan.cluster;
  const gce = (what: string, parts: readonly string[]): DerivedName => ({ what, name: parts.join("-"), rule: "gce-name" });
  const tags = roleTagNames(cluster);
  const rules = clusterFirewallRules({ tags, adminSourceRanges: [], apiPort: plan.api.port });
  const zones = [...new Set(plan.hosts.filter((h) => h.runsControlPlane).map((h) => h.zone ?? plan.gcp!.zones[0]))].sort();
  return [
    ...Object.entries(CLUSTER_NAME_SUFFIXES).map(([what, suffix]) => gce(what.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`), [cluster, suffix])),
    ...Object.entries(tags).map(([role, tag]) => gce(`network tag of role ${role}`, [tag])),
    ...rules.map((r) => gce("firewall rule", firewallRuleNameParts(cluster, r.key))),
    ...zones.map((zone) => gce(`control-plane instance group in ${zone}`, instanceGroupNameParts(cluster, zone))),
    // The image name hashes the tarball's https URL (constructs/gcp/image.ts); the hash has a fixed length.
    ...("tarball" in plan.gcp.image ? [gce("uploaded image", imageNameParts(cluster, plan.gcp.image.tarball))] : []),
    ...plan.hosts.map((h) => ({ ...gce(`instance of host ${h.name}`, [h.machineName]), pool: h.pool })),
    ...plan.hosts.filter((h) => h.runsEtcd).map((h) => ({ ...gce(`etcd data disk of host ${h.name}`, etcdDataDiskNameParts(h.machineName)), pool: h.pool })),
    { what: "node service account id", name: serviceAccountIdCandidate(cluster), rule: "service-account-id" },
    ...(plan.backup.enabled && plan.backup.bucket !== undefined ? [{ what: "etcd backup writer account id", name: backupWriterAccountIdCandidate(cluster), rule: "service-account-id" as const }] : []),
  ];
}

/**
 * The derived names Compute Engine would refuse, as findings on the field they come from: one per cause (the
 * cluster name's first character, its length), naming the longest offending name and by how much to shorten.
 */
export function derivedNameFindings(plan: ClusterPlan): Finding[] {
  const bad = gcpDerivedNames(plan).filter((n) => !meetsRule(n.name, n.rule));
  if (bad.length === 0) return [];
  const cluster = plan.cluster;
  if (!/^[a-z]/.test(cluster)) {
    return [
      {
        severity: "error",
        path: "name",
        message: `"${cluster}" starts with a digit, but Compute Engine names built from it must start with a letter (e.g. ${bad[0].what} "${bad[0].name}"); start name with a letter`,
      },
    ];
  }
  const tooLong = bad.filter((n) => n.rule === "gce-name" && n.name.length > GCE_NAME_MAX).sort((a, b) => b.name.length - a.name.length);
  if (tooLong.length > 0) {
    const longest = tooLong[0];
    const excess = longest.name.length - GCE_NAME_MAX;
    if (longest.pool !== undefined) {
      const prefix = `pools.${longest.pool}.namePrefix`;
      return [
        {
          severity: "error",
          path: prefix,
          message: `the ${longest.what} name "${longest.name}" (cluster name, host name and suffix) has ${longest.name.length} characters, the limit is ${GCE_NAME_MAX}; shorten name or ${prefix} by ${excess}`,
        },
      ];
    }
    return [
      {
        severity: "error",
        path: "name",
        message: `"${cluster}" (${cluster.length} characters) is too long for GCP: the ${longest.what} name "${longest.name}" has ${longest.name.length} characters, the limit is ${GCE_NAME_MAX}${tooLong.length > 1 ? ` (${tooLong.length - 1} more derived name${tooLong.length > 2 ? "s are" : " is"} too long)` : ""}; shorten name by ${excess}, to at most ${cluster.length - excess} characters`,
      },
    ];
  }
  return bad.map((n) => ({ severity: "error" as const, path: "name", message: `the ${n.what} name "${n.name}" built from "${cluster}" is not valid for GCP: it needs ${RULE_WORDS[n.rule]}; change name` }));
}
