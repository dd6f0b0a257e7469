/**
 * The apply-time outputs the flake reads (nixos/clusters/<cluster>/outputs.json): the compute stack's `hosts`
 * output as `terraform output -json hosts` prints it, checked against the plan and written in a stable form.
 */
import type { ClusterPlan } from "../cluster/plan-types";
import { stableJson } from "../export/terraform-json";

/** What the flake needs of each host: where SSH (deploy-rs) connects. Other fields are kept as they are. */
export interface HostOutput {
  readonly ssh_address: string;
  readonly [field: string]: unknown;
}

/**
 * Checks the `hosts` output against the plan (every planned host, each with an SSH address, and no other
 * host) and renders the file content: keys sorted, two-space indent, trailing newline.
 * @throws Error naming what does not match, e.g. when the state is older or newer than the description.
 */
export function outputsFileContent(plan: ClusterPlan, hostsOutput: unknown): string {
  if (hostsOutput === null || typeof hostsOutput !== "object" || Array.isArray(hostsOutput)) {
    throw new Error("the compute stack's `hosts` output is not an object of hosts (is the compute stack applied?)");
  }
  const hosts = hostsOutput as Record<string, unknown>;
  const planned = plan.hosts.map((h) => h.name);
  const missing = planned.filter((name) => !(name in hosts));
  const extra = Object.keys(hosts).filter((name) => !planned.includes(name));
  const problems: string[] = [];
  if (missing.length > 0) problems.push(`hosts in ${plan.sourceFile} but not in the applied state: ${missing.join(", ")}`);
  if (extra.length > 0) problems.push(`hosts in the applied state but not in ${plan.sourceFile}: ${extra.join(", ")}`);
  for (const name of planned.filter((n) => n in hosts)) {
    const host = hosts[name] as Record<string, unknown> | null;
    if (host === null || typeof host !== "object" || typeof host.ssh_address !== "string" || host.ssh_address === "") {
      problems.push(`${name} has no ssh_address`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`the compute stack's outputs do not match the description (run \`cdktf deploy compute\` first):\n  - ${problems.join("\n  - ")}`);
  }
  return stableJson(hosts);
}
