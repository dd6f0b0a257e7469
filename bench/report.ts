/**
 * Turns benchmark measurements into the generated region of BENCHMARKS.md (results, ratios to the floor,
 * per-host cost and the targets), between two marker comments; everything around it is hand-written and kept.
 */
import type { Measurement } from "./measure";

export interface TestTiming {
  readonly wallSeconds: number;
  readonly passed: boolean;
}

export interface BenchResult {
  readonly machine: string;
  readonly date: string;
  readonly runs: number;
  readonly floor: Measurement;
  /** The floor bundled as the app bundles its packages, with the app's V8 code cache. */
  readonly floorCached: Measurement;
  /** Default cluster (the app's default description), through the fast path (`npm run synth`). */
  readonly defaultCluster: Measurement;
  /** The same through `cdktf synth` (the CLI runs the same fast path). */
  readonly viaCli: Measurement;
  /** The same through `node --import tsx main.ts`, no build. */
  readonly viaTsx: Measurement;
  /** The default cluster with every provider barrel loaded first. */
  readonly barrels: Measurement;
  /** Per target: the example description, then generated sizes in increasing order. */
  readonly scaling: ReadonlyArray<{ readonly target: string; readonly example: Measurement; readonly sizes: readonly Measurement[] }>;
  readonly tests?: TestTiming;
}

/** Limits from the issue, on this 2-core machine. */
export const TARGETS = {
  defaultWallRatio: 2,
  defaultRssMiB: 150,
  largestWallSeconds: 30,
  /** Per-host cost at the largest size may exceed the smallest size's by this factor (measurement noise). */
  perHostGrowth: 1.25,
  testSeconds: 90,
} as const;

const s = (x: number) => x.toFixed(2);
const mib = (x: number) => x.toFixed(0);
const ratio = (x: number, floor: number) => `${(x / floor).toFixed(2)}×`;
const mark = (ok: boolean) => (ok ? "met" : "**missed**");

function range(m: Measurement, pick: (x: Measurement["samples"][number]) => number, format: (x: number) => string): string {
  const values = m.samples.map(pick);
  return values.length > 1 ? `${format(Math.min(...values))}–${format(Math.max(...values))}` : "";
}

/**
 * Extra wall time per host over the example of the same target, in milliseconds, from each scenario's fastest
 * run: a difference of two times is twice as sensitive to noise as either, and the fastest run has the least.
 */
export function perHostMs(example: Measurement, size: Measurement): number {
  return ((size.bestWallSeconds - example.bestWallSeconds) * 1000) / (size.scenario.hosts - example.scenario.hosts);
}

function row(m: Measurement, floor: Measurement): string {
  const wallRange = range(m, (x) => x.wallSeconds, s);
  return `| ${m.scenario.name} | ${m.scenario.hosts || "–"} | ${s(m.wallSeconds)}${wallRange ? ` (${wallRange})` : ""} | ${ratio(m.wallSeconds, floor.wallSeconds)} | ${s(m.cpuSeconds)} | ${ratio(m.cpuSeconds, floor.cpuSeconds)} | ${mib(m.peakRssMiB)} | ${ratio(m.peakRssMiB, floor.peakRssMiB)} |`;
}

export function benchmarkMarkdown(r: BenchResult): string {
  const all = [r.floor, r.floorCached, r.defaultCluster, r.viaCli, r.viaTsx, r.barrels, ...r.scaling.flatMap((t) => [t.example, ...t.sizes])];
  const unique = all.filter((m, i) => all.findIndex((o) => o.scenario.name === m.scenario.name) === i);
  const largest = r.scaling.map((t) => t.sizes[t.sizes.length - 1]);
  const growth = r.scaling.map((t) => {
    const first = perHostMs(t.example, t.sizes[0]);
    const last = perHostMs(t.example, t.sizes[t.sizes.length - 1]);
    return { target: t.target, first, last, ok: last <= first * TARGETS.perHostGrowth };
  });
  const defaultRatio = r.defaultCluster.wallSeconds / r.floor.wallSeconds;
  const cliRatio = r.viaCli.wallSeconds / r.floor.wallSeconds;

  const lines = [
    GENERATED_BEGIN,
    "",
    "## Results",
    "",
    `Written by \`npm run bench\` (bench/run.ts) into this marked region; the notes outside it are hand-written and kept.`,
    `Each scenario synthesizes in a temporary copy of the repository (all stacks and the post-synth files: terranix`,
    `export, topology, Nix host files), ${r.runs} time${r.runs === 1 ? "" : "s"} after a warm-up run (which also builds the app's bundle), round-robin`,
    "(one run of every scenario per round, so other work on the machine spreads over all of them). Times are",
    "wall-clock medians (min–max in brackets) measured around the process; peak memory is the maximum resident set",
    "size (`process.resourceUsage().maxRSS` at exit, bench/peak-rss.js) of the largest node process of the run; CPU",
    "is user + system time of every node process of the run (all threads), a steadier measure on a busy machine.",
    "",
    `Machine: ${r.machine}. Run: ${r.date}.`,
    "",
    "",
    "| scenario | hosts | wall s | wall ÷ floor | CPU s | CPU ÷ floor | peak RSS MiB | RSS ÷ floor |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...unique.map((m) => row(m, r.floor)),
    "",
    "- **floor**: node loading cdktf, constructs and every provider module the app imports (deep paths and the libvirt",
    "  bindings) from node_modules, as any app loads its packages, and nothing else (bench/entries.ts); the ratios and",
    "  targets use it. **floor, loaded as the app loads**: the same modules bundled into one file as the app bundles its",
    "  packages, with the app's V8 code cache (scripts/code-cache.js): the app's own work is what the default cluster",
    "  takes above it.",
    "- **default cluster**: `npm run synth`'s fast path, `node scripts/app.js`: one esbuild bundle of main.ts and the",
    "  packages it imports (scripts/app-build.js), checked against its inputs before each run, with a V8 code cache.",
    "  **cdktf synth**: the CLI, which runs the same fast path (cdktf.json's `app`). **tsx (no build)**:",
    "  `node --import tsx main.ts`, what the app cost before the bundle.",
    "- **barrel imports**: the default cluster with every `@cdktf/provider-*` package loaded through its barrel first, as an app",
    "  importing `{ ComputeInstance } from \"@cdktf/provider-google\"` would (bench/entries.ts).",
    "- Generated descriptions grow the example of their target by workers, with the node subnet and pod CIDR widened.",
    "",
    "## Cost per host",
    "",
    "Extra wall time per host over the example of the same target, from the fastest run of each:",
    "`(best(N) − best(example)) ÷ (N − hosts(example))`.",
    "",
    "| target | hosts | fastest run s | ms per host | peak RSS MiB |",
    "| --- | --- | --- | --- | --- |",
    ...r.scaling.flatMap((t) => [
      `| ${t.target} | ${t.example.scenario.hosts} (example) | ${s(t.example.bestWallSeconds)} | – | ${mib(t.example.peakRssMiB)} |`,
      ...t.sizes.map((m) => `| ${t.target} | ${m.scenario.hosts} | ${s(m.bestWallSeconds)} | ${perHostMs(t.example, m).toFixed(1)} | ${mib(m.peakRssMiB)} |`),
    ]),
    "",
    "## Targets (2-core machine)",
    "",
    "| target | limit | measured | |",
    "| --- | --- | --- | --- |",
    `| default cluster wall time (\`npm run synth\`) | ≤ ${TARGETS.defaultWallRatio}× floor | ${defaultRatio.toFixed(2)}× (CPU ${(r.defaultCluster.cpuSeconds / r.floor.cpuSeconds).toFixed(2)}×; against the floor loaded as the app loads ${(r.defaultCluster.wallSeconds / r.floorCached.wallSeconds).toFixed(2)}×) | ${mark(defaultRatio <= TARGETS.defaultWallRatio)} |`,
    `| default cluster peak memory | < ${TARGETS.defaultRssMiB} MB | ${mib(r.defaultCluster.peakRssMiB)} MiB | ${mark(r.defaultCluster.peakRssMiB * 1.048576 < TARGETS.defaultRssMiB)} |`,
    ...largest.map((m) => `| ${m.scenario.name} wall time | < ${TARGETS.largestWallSeconds} s | ${s(m.wallSeconds)} s | ${mark(m.wallSeconds < TARGETS.largestWallSeconds)} |`),
    ...growth.map(
      (g) =>
        `| ${g.target}: per-host cost, ${r.scaling.find((t) => t.target === g.target)!.sizes.map((m) => m.scenario.hosts).join(" → ")} hosts | not growing (≤ ${TARGETS.perHostGrowth}×) | ${g.first.toFixed(1)} → ${g.last.toFixed(1)} ms | ${mark(g.ok)} |`,
    ),
    r.tests
      ? `| \`npm test\` (type-check and every test) | < ${TARGETS.testSeconds} s | ${s(r.tests.wallSeconds)} s${r.tests.passed ? "" : " (tests failed)"} | ${mark(r.tests.passed && r.tests.wallSeconds < TARGETS.testSeconds)} |`
      : "| `npm test` | < 90 s | not run (--skip-tests) | |",
    "",
    `\`cdktf synth\` of the default cluster takes ${s(r.viaCli.wallSeconds)} s (${cliRatio.toFixed(2)}× the floor, ${mib(r.viaCli.peakRssMiB)} MiB in its largest process): the`,
    "CLI's own start-up and its checks, on top of the same app run.",
    "",
    GENERATED_END,
  ];
  return lines.join("\n");
}

export const GENERATED_BEGIN = "<!-- generated by npm run bench: begin (edits inside are overwritten) -->";
export const GENERATED_END = "<!-- generated by npm run bench: end -->";

/**
 * The file `existing` with its generated region replaced by `region` (which carries both markers). Without a
 * region yet, the region goes after the file's first heading (a new file: a heading, then the region).
 */
export function withGeneratedRegion(existing: string, region: string): string {
  const begin = existing.indexOf(GENERATED_BEGIN);
  const end = existing.indexOf(GENERATED_END);
  if (begin >= 0 && end > begin) return existing.slice(0, begin) + region + existing.slice(end + GENERATED_END.length);
  if (existing.trim() === "") return `# Benchmarks\n\n${region}\n`;
  const heading = existing.match(/^# .*\n/m);
  if (!heading || heading.index === undefined) return `${region}\n\n${existing}`;
  const after = heading.index + heading[0].length;
  return `${existing.slice(0, after)}\n${region}\n${existing.slice(after)}`;
}
