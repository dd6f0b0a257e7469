/**
 * The synth summary on stdout: the cluster and its description, the stacks in apply order, the host changes since
 * the committed files (the change review's preview), and the generated files to commit.
 */
import { applyOrder, readManifest } from "../export/manifest";
import type { PostSynthContext } from "../postsynth";
import { clusterDir, NIXOS_DIR } from "../nix/index-file";
import { MACHINE_RECORD_FILE } from "./record";
import type { HostChange, ReviewedChange } from "./review";
import type { ClusterPlan } from "../cluster/plan-types";


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

/**
 * The summary's lines (pure: tests read them). `stacks`: the stacks in apply order, as the synthesized manifest
 * records them (src/export/manifest.ts applyOrder, also behind scripts/apply-order.ts).
 */
export function synthSummaryLines(plan: ClusterPlan, change: ReviewedChange, stacks: readonly string[] = ["network", "compute", "pki"]): string[] {
  const directory = `${NIXOS_DIR}/${clusterDir(plan.cluster)}`;
  const lines = [
    `cluster ${plan.cluster} from ${plan.sourceFile} (target ${plan.target}, topology ${plan.topology}, ${plan.hosts.length} hosts)`,
    `stacks in apply order: ${stacks.join(", ")} (cdktf deploy ${stacks.join(" ")})`,
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

export function printSynthSummary(context: Pick<PostSynthContext, "plan" | "change" | "outdir">): void {
  if (!context.change) return;
  const stacks = applyOrder(readManifest(context.outdir));
  process.stdout.write(`${synthSummaryLines(context.change.plan, context.change, stacks).join("\n")}\n`);
}
