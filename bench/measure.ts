/**
 * Runs one benchmark scenario several times and measures wall time and peak RSS: of the app process, and for
 * `cdktf synth` of its largest process (the CLI or the app it starts), as GNU time reports a process tree.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runApp, type AppRunOptions } from "./workcopy";

export interface Scenario {
  readonly name: string;
  /** Hosts in the synthesized cluster; 0 for the floor. */
  readonly hosts: number;
  /** Description relative to the working copy; undefined: the app's default. */
  readonly cluster?: string;
  /** How it runs (bench/workcopy.ts): the fast path, `cdktf synth`, tsx, or a plain JavaScript entry. */
  readonly via: NonNullable<AppRunOptions["via"]>;
  /** Entry point relative to the working copy, for via "node" and "tsx". */
  readonly entry?: string;
  /** Preloads (plain JavaScript, `--require`), relative to the working copy. */
  readonly preload?: readonly string[];
}

export interface Sample {
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  /** CPU time (user + system, every thread) of all node processes of the run: steadier than wall time on a busy machine. */
  readonly cpuSeconds: number;
}

export interface Measurement {
  readonly scenario: Scenario;
  readonly samples: readonly Sample[];
  /** Medians over the samples. */
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  readonly cpuSeconds: number;
  /** The fastest sample: the least disturbed by other work on the machine. */
  readonly bestWallSeconds: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One run: spawn, wait, read the peak RSS each node process wrote at exit (bench/peak-rss.js). */
export async function sample(copy: string, scenario: Scenario): Promise<Sample> {
  const rssDir = mkdtempSync(path.join(os.tmpdir(), "bench-rss-"));
  // Absolute: under `cdktf synth` the preload also loads into the app, which the CLI starts in the copy.
  const preloads = ["bench/peak-rss.js", ...(scenario.preload ?? [])].flatMap((p) => ["--require", path.join(copy, p)]);
  try {
    const started = process.hrtime.bigint();
    const run = await runApp(copy, {
      ...(scenario.cluster ? { cluster: scenario.cluster } : {}),
      via: scenario.via,
      ...(scenario.entry ? { entry: scenario.entry } : {}),
      nodeArgs: preloads,
      env: { BENCH_RSS_DIR: rssDir },
    });
    const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (run.status !== 0) throw new Error(`${scenario.name}: exit ${run.status}\n${run.stderr}`);
    const reports = readdirSync(rssDir).map((f) => JSON.parse(readFileSync(path.join(rssDir, f), "utf8")) as { maxRssKiB: number; cpuMicros: number });
    if (reports.length === 0) throw new Error(`${scenario.name}: no process reported its memory`);
    return { wallSeconds, peakRssMiB: Math.max(...reports.map((r) => r.maxRssKiB)) / 1024, cpuSeconds: reports.reduce((sum, r) => sum + r.cpuMicros, 0) / 1e6 };
  } finally {
    rmSync(rssDir, { recursive: true, force: true });
  }
}

function summarize(scenario: Scenario, samples: readonly Sample[]): Measurement {
  return {
    scenario,
    samples,
    wallSeconds: median(samples.map((x) => x.wallSeconds)),
    peakRssMiB: median(samples.map((x) => x.peakRssMiB)),
    cpuSeconds: median(samples.map((x) => x.cpuSeconds)),
    bestWallSeconds: Math.min(...samples.map((x) => x.wallSeconds)),
  };
}

/**
 * Runs every scenario `runs` times, round-robin (one run of each, then the next round), so a burst of other work
 * on the machine spreads over all scenarios instead of skewing one. Returns the measurements in scenario order.
 */
export async function measureAll(copy: string, scenarios: readonly Scenario[], runs: number, log: (line: string) => void): Promise<Measurement[]> {
  const samples: Sample[][] = scenarios.map(() => []);
  for (let round = 1; round <= runs; round++) {
    for (const [i, scenario] of scenarios.entries()) {
      const x = await sample(copy, scenario);
      log(`  round ${round}/${runs} ${scenario.name}: ${x.wallSeconds.toFixed(2)} s (CPU ${x.cpuSeconds.toFixed(2)} s), ${x.peakRssMiB.toFixed(0)} MiB`);
      samples[i].push(x);
    }
  }
  return scenarios.map((scenario, i) => summarize(scenario, samples[i]));
}
