/**
 * `npm run bench`: measures the synth (wall time, peak memory) of the default cluster through the fast path
 * (`npm run synth`), through `cdktf synth` and through tsx without a build, generated 100- and 1000-host
 * clusters on both targets, the floor and the barrel-import variant, times `npm test`, and rewrites the
 * generated region of BENCHMARKS.md (the hand-written notes around it stay). Everything runs in a temporary
 * copy of the repository: nothing is written into it but BENCHMARKS.md.
 *
 *   npm run bench -- [--runs N] [--sizes 100,1000] [--skip-tests] [--out FILE]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import { EXAMPLE_OF, generatedDescription, type BenchTarget } from "./descriptions";
import { buildBarrels, buildBundledFloor, buildFloor } from "./entries";
import { measureAll, sample, type Measurement, type Scenario } from "./measure";
import { benchmarkMarkdown, withGeneratedRegion, type TestTiming } from "./report";
import { makeWorkingCopy, REPO_ROOT } from "./workcopy";

// No calls to the HashiCorp checkpoint service from terraform or cdktf started here (they fail offline, noisily).
process.env.CHECKPOINT_DISABLE ??= "1";

interface Options {
  readonly runs: number;
  readonly sizes: readonly number[];
  readonly skipTests: boolean;
  readonly out: string;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const runs = Number(value("--runs") ?? "5");
  const sizes = (value("--sizes") ?? "100,1000").split(",").map(Number);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${value("--runs")}`);
  if (sizes.some((n) => !Number.isInteger(n) || n < 20)) throw new Error(`--sizes must be host counts of at least 20, got ${value("--sizes")}`);
  return { runs, sizes: [...sizes].sort((a, b) => a - b), skipTests: argv.includes("--skip-tests"), out: path.resolve(value("--out") ?? path.join(REPO_ROOT, "BENCHMARKS.md")) };
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? "unknown CPU"}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB memory, ${os.platform()} ${os.release()}, node ${process.version}`;
}

function timeNpmTest(log: (line: string) => void): Promise<TestTiming> {
  log("npm test (in the repository) ...");
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["test", "--silent"], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, CI: "true" } });
    let stderr = "";
    child.stderr.on("data", (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
    child.on("error", reject);
    child.on("close", (status) => {
      const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      log(`  npm test: ${wallSeconds.toFixed(1)} s, ${status === 0 ? "passed" : `FAILED (exit ${status})\n${stderr}`}`);
      resolve({ wallSeconds, passed: status === 0 });
    });
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const temp = mkdtempSync(path.join(os.tmpdir(), "bench-"));
  try {
    const copy = makeWorkingCopy(path.join(temp, "repo"));
    log(`working copy: ${copy}`);
    const hostsOf = (file: string) => loadCluster(file, copy).plan.hosts.length;
    const targets: BenchTarget[] = ["libvirt", "gcp"];
    const generated = new Map<string, string>();
    for (const target of targets) {
      for (const hosts of options.sizes) {
        const [name, yaml] = generatedDescription(copy, target, hosts);
        const file = `clusters/${name}.yaml`;
        writeFileSync(path.join(copy, file), yaml);
        generated.set(`${target}-${hosts}`, file);
      }
    }

    const floor: Scenario = { name: "floor", hosts: 0, via: "node", entry: await buildFloor(copy) };
    const floorCached: Scenario = { name: "floor, loaded as the app loads", hosts: 0, via: "node", entry: await buildBundledFloor(copy), preload: ["bench/code-cache-preload.js"] };
    const defaultCluster: Scenario = { name: "default cluster", hosts: hostsOf("clusters/local.yaml"), via: "app" };
    const viaCli: Scenario = { ...defaultCluster, name: "default cluster, cdktf synth", via: "cli" };
    const viaTsx: Scenario = { ...defaultCluster, name: "default cluster, tsx (no build)", via: "tsx" };
    const barrels: Scenario = { ...defaultCluster, name: "default cluster, barrel imports", preload: [await buildBarrels(copy)] };
    // Warm-up: the first run builds the app's bundle (.build/app) and tsx's cache; no scenario pays for that.
    for (const s of [floor, floorCached, defaultCluster, viaTsx, { ...defaultCluster, cluster: EXAMPLE_OF.gcp }]) await sample(copy, s);

    const examples = targets.map((target): Scenario =>
      target === "libvirt" ? defaultCluster : { name: `${target} example`, hosts: hostsOf(EXAMPLE_OF[target]), cluster: EXAMPLE_OF[target], via: "app" },
    );
    const sized = targets.map((target) =>
      options.sizes.map((hosts): Scenario => ({ name: `${target}, ${hosts} hosts`, hosts, cluster: generated.get(`${target}-${hosts}`)!, via: "app" })),
    );
    const scenarios = [floor, floorCached, defaultCluster, viaCli, viaTsx, barrels, ...examples.filter((e) => e !== defaultCluster), ...sized.flat()];
    const results = await measureAll(copy, scenarios, options.runs, log);
    const result = (s: Scenario): Measurement => results[scenarios.indexOf(s)];
    const scaling = targets.map((target, t) => ({ target, example: result(examples[t]), sizes: sized[t].map(result) }));
    const tests = options.skipTests ? undefined : await timeNpmTest(log);

    const markdown = benchmarkMarkdown({
      machine: machine(),
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      runs: options.runs,
      floor: result(floor),
      floorCached: result(floorCached),
      defaultCluster: result(defaultCluster),
      viaCli: result(viaCli),
      viaTsx: result(viaTsx),
      barrels: result(barrels),
      scaling,
      ...(tests ? { tests } : {}),
    });
    writeFileSync(options.out, withGeneratedRegion(existsSync(options.out) ? readFileSync(options.out, "utf8") : "", markdown));
    log(`wrote ${path.relative(process.cwd(), options.out) || options.out}`);
    process.stdout.write(markdown);
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
