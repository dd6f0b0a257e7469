/**
 * The synthesized output is a contract: the same description gives byte-identical files from two checkouts in
 * different folders, run by different users (HOME, TZ, locale), and no file names the machine's paths or time.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { descriptionFiles, makeWorkingCopy, readTree, REPO_ROOT, runApp } from "../bench/workcopy";
import { LIBVIRT_NETWORK_RECORD_FILE } from "../src/cluster/libvirt-network";
import { OUTPUTS_FILE } from "../src/nix/index-file";

jest.setTimeout(180_000);

interface Outputs {
  /** cdktf.out/**: stacks, manifest.json, terranix export, topology summary. */
  readonly synthesized: Map<string, Buffer>;
  /** nixos/clusters/<cluster>/**: the generated Nix host files. */
  readonly nix: Map<string, Buffer>;
}

const clusters = descriptionFiles();
const temp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "output-determinism-")));
// Different depths as well as different names: a relative path that climbs too far would differ.
const copyA = path.join(temp, "a");
const copyB = path.join(temp, "second", "checkout-b");
const results = new Map<string, { a: Outputs; b: Outputs }>();

async function synthesize(copy: string, cluster: string, env: Record<string, string>): Promise<Outputs> {
  const run = await runApp(copy, { cluster, env });
  if (run.status !== 0) throw new Error(`synth of ${cluster} in ${copy} failed (${run.status}):\n${run.stderr}`);
  return { synthesized: readTree(path.join(copy, "cdktf.out")), nix: readTree(path.join(copy, "nixos", "clusters", clusterName(copy, cluster))) };
}

function clusterName(root: string, cluster: string): string {
  return (parse(readFileSync(path.join(root, cluster), "utf8")) as { name: string }).name;
}

beforeAll(async () => {
  for (const copy of [copyA, copyB]) {
    makeWorkingCopy(copy);
    // Whatever the Nix files are after the runs, these runs wrote them. Only the libvirt network records stay: they
    // are an input of synth (how each existing network was created), which the runs write back unchanged.
    rmSync(path.join(copy, "nixos", "clusters"), { recursive: true, force: true });
    for (const cluster of readdirSync(path.join(REPO_ROOT, "nixos", "clusters"))) {
      const record = path.join("nixos", "clusters", cluster, LIBVIRT_NETWORK_RECORD_FILE);
      if (existsSync(path.join(REPO_ROOT, record))) cpSync(path.join(REPO_ROOT, record), path.join(copy, record));
    }
  }
  for (const cluster of clusters) {
    // The two checkouts synthesize at the same time: two cores, half the wall time.
    const [a, b] = await Promise.all([
      synthesize(copyA, cluster, { TZ: "UTC", LANG: "C.UTF-8" }),
      synthesize(copyB, cluster, { TZ: "Pacific/Auckland", LANG: "de_DE.UTF-8", HOME: path.join(temp, "home-b"), USER: "someone-else" }),
    ]);
    results.set(cluster, { a, b });
  }
});

afterAll(() => rmSync(temp, { recursive: true, force: true }));

function names(files: Map<string, Buffer>): string[] {
  return [...files.keys()].sort();
}

describe.each(clusters)("%s", (cluster) => {
  test("synthesizes the stacks, manifest, terranix export and topology summary", () => {
    const { a } = results.get(cluster)!;
    const files = names(a.synthesized);
    expect(files).toContain("manifest.json");
    expect(files).toContain("topology.md");
    expect(files.some((f) => /^stacks\/[^/]+\/cdk\.tf\.json$/.test(f))).toBe(true);
    expect(files.some((f) => /^terranix\/[^/]+\.tf\.json$/.test(f))).toBe(true);
  });

  test("two checkouts in different folders write the same files, byte for byte", () => {
    const { a, b } = results.get(cluster)!;
    for (const kind of ["synthesized", "nix"] as const) {
      expect(names(b[kind])).toEqual(names(a[kind]));
      for (const [file, content] of a[kind]) {
        const other = b[kind].get(file)!;
        if (!content.equals(other)) {
          // Show the first difference rather than two whole files.
          const at = [...content].findIndex((byte, i) => byte !== other[i]);
          throw new Error(`${kind} ${file} differs at byte ${at}: ${JSON.stringify(content.subarray(Math.max(0, at - 40), at + 40).toString())} vs ${JSON.stringify(other.subarray(Math.max(0, at - 40), at + 40).toString())}`);
        }
      }
    }
  });

  test("the committed Nix files of the cluster are the ones synth writes (not stale)", () => {
    const { a } = results.get(cluster)!;
    const committed = readTree(path.join(REPO_ROOT, "nixos", "clusters", clusterName(REPO_ROOT, cluster)));
    // Apply-time outputs saved beside the generated files (npm run outputs) are not synth's to write.
    committed.delete(OUTPUTS_FILE);
    expect(names(a.nix)).toEqual(names(committed));
    for (const [file, content] of committed) {
      expect({ file, upToDate: content.equals(a.nix.get(file)!) }).toEqual({ file, upToDate: true });
    }
  });

  test("no output names a folder of this machine, a time or a stack trace", () => {
    const { a, b } = results.get(cluster)!;
    // The checkouts (the second one's HOME is inside `temp` too) and the repository this test runs from.
    const machinePaths = [REPO_ROOT, realpathSync(REPO_ROOT), temp];
    for (const outputs of [a, b]) {
      for (const [file, content] of [...outputs.synthesized, ...outputs.nix]) {
        const text = content.toString("utf8");
        for (const p of machinePaths) {
          if (text.includes(p)) throw new Error(`${file} contains the machine path ${p}`);
        }
        expect({ file, timestamp: /\b20\d\d-\d\d-\d\dT\d\d:\d\d/.test(text) }).toEqual({ file, timestamp: false });
        expect({ file, stackTrace: /\bat .+\.(ts|js):\d+:\d+/.test(text) }).toEqual({ file, stackTrace: false });
      }
    }
  });
});
