/** Runs one benchmark scenario several times and measures wall time and peak RSS of the app process. */
import { readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runApp } from "./workcopy";

export interface Scenario {
  readonly name: string;
  /** Hosts in the synthesized cluster; 0 for the floor. */
  readonly hosts: number;
  /** Description relative to the working copy; undefined: the app's default. */
  readonly cluster?: string;
  /** Entry point relative to the working copy; default main.ts. */
  readonly entry?: string;
  /** Preloads (TypeScript, imported after tsx), relative to the working copy. */
  readonly preload?: readonly string[];
}

export interface Sample {
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
}

export interface Measurement {
  readonly scenario: Scenario;
  readonly samples: readonly Sample[];
  /** Medians over the samples. */
  readonly wallSeconds: number;
  readonly peakRssMiB: number;
  /** The fastest sample: the least disturbed by other work on the machine. */
  readonly bestWallSeconds: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** One run: spawn, wait, read the peak RSS the preload wrote at exit. */
export async function sample(copy: string, scenario: Scenario): Promise<Sample> {
  const rssFile = path.join(os.tmpdir(), `bench-rss-${process.pid}-${Date.now()}.json`);
  const preloads = ["bench/peak-rss.ts", ...(scenario.preload ?? [])].flatMap((p) => ["--import", `./${p}`]);
  const started = process.hrtime.bigint();
  const run = await runApp(copy, {
    ...(scenario.cluster ? { cluster: scenario.cluster } : {}),
    entry: scenario.entry ?? "main.ts",
    nodeArgs: preloads,
    env: { BENCH_RSS_FILE: rssFile },
  });
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`${scenario.name}: exit ${run.status}\n${run.stderr}`);
  const { maxRssKiB } = JSON.parse(readFileSync(rssFile, "utf8")) as { maxRssKiB: number };
  rmSync(rssFile, { force: true });
  return { wallSeconds, peakRssMiB: maxRssKiB / 1024 };
}

function summarize(scenario: Scenario, samples: readonly Sample[]): Measurement {
  return {
    scenario,
    samples,
    wallSeconds: median(samples.map((x) => x.wallSeconds)),
    peakRssMiB: median(samples.map((x) => x.peakRssMiB)),
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
      log(`  round ${round}/${runs} ${scenario.name}: ${x.wallSeconds.toFixed(2)} s, ${x.peakRssMiB.toFixed(0)} MiB`);
      samples[i].push(x);
    }
  }
  return scenarios.map((scenario, i) => summarize(scenario, samples[i]));
}
