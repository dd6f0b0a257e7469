/**
 * The synth summary on stdout: the cluster and its description, the stacks in apply order, the host changes since
 * the committed files (the change review's preview), and the generated files to commit.
 */
import type { PostSynthContext } from "../postsynth";
import { clusterDir, NIXOS_DIR } from "../nix/index-file";
import { MACHINE_RECORD_FILE } from "./record";
import type { HostChange, ReviewedChange } from "./review";
import type { ClusterPlan } from "../cluster/plan-types";

/** The stacks in the order they are applied (each reads the outputs of the one before). */
export const STACKS_IN_APPLY_ORDER = ["network", "compute", "pki"] as const;

function hostLines(host: HostChange): string[] {
  const name = host.host.padEnd(12);
  const lines: string[] = [];
  if (host.kind === "added") lines.push(`  added     ${name}`);
  else if (host.kind === "removed") lines.push(`  removed   ${name} (its machine${host.roles.includes("etcd") ? " and etcd data disk" : ""} is destroyed)`);
  else if (host.kind) {
    const [first, ...rest] = host.applied;
    lines.push(`  ${host.kind.padEnd(9)} ${name} ${first.field}: ${first.before} -> ${first.after} (${first.why})`);
    for (const c of rest) lines.push(`  ${"".padEnd(9)} ${"".padEnd(12)} ${c.field}: ${c.before} -> ${c.after} (${c.why})`);
  }
  for (const c of host.pending) lines.push(`  pending   ${name} ${c.field}: ${c.before} -> ${c.after}: ${c.heldBecause}`);
  return lines.map((l) => l.trimEnd());
}

/** The summary's lines (pure: tests read them). */
export function synthSummaryLines(plan: ClusterPlan, change: ReviewedChange): string[] {
  const directory = `${NIXOS_DIR}/${clusterDir(plan.cluster)}`;
  const lines = [
    `cluster ${plan.cluster} from ${plan.sourceFile} (target ${plan.target}, topology ${plan.topology}, ${plan.hosts.length} hosts)`,
    `stacks in apply order: ${STACKS_IN_APPLY_ORDER.join(", ")} (cdktf deploy ${STACKS_IN_APPLY_ORDER.join(" ")})`,
  ];
  const since =
    change.baseline === "record"
      ? `since ${directory}/${MACHINE_RECORD_FILE}`
      : change.baseline === "first-record"
        ? `(no ${MACHINE_RECORD_FILE} yet: the hosts are recorded as described; etcd members keep their data on the root disk until moved, docs/day-2.md#data-disks-and-migration)`
        : "(new cluster)";
  const hostChanges = change.hosts.flatMap(hostLines);
  lines.push(`host changes ${since}${change.allowed ? `, ${"ALLOW_DISRUPTION"}=${change.allowed.join(",")}` : ""}:`);
  lines.push(...(hostChanges.length > 0 ? hostChanges : ["  none"]));
  const files = change.generatedFiles ?? [];
  if (files.length > 0) {
    lines.push(`generated files to commit (git add ${directory}):`);
    lines.push(...files.map((f) => `  ${f.change.padEnd(9)} ${f.path}`));
  } else {
    lines.push(`generated files: ${directory} is up to date`);
  }
  return lines;
}

export function printSynthSummary(context: Pick<PostSynthContext, "plan" | "change">): void {
  if (!context.change) return;
  process.stdout.write(`${synthSummaryLines(context.change.plan, context.change).join("\n")}\n`);
}
