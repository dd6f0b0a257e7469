/**
 * The app as users run it, in temporary copies of the repository: `npm run synth`'s fast path (scripts/app.js,
 * also cdktf.json's "app") writes exactly what `cdktf synth` writes; an edited source always shows in the next
 * synth; missing bindings are generated; and every bad input ends in one report on stderr, exit status 1, no
 * stack trace, and cdktf.out/ and nixos/ byte for byte as they were.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { sourceImports } from "../bench/modules";
import { descriptionFiles, makeWorkingCopy, readTree, REPO_ROOT, runApp, type AppRun } from "../bench/workcopy";

jest.setTimeout(300_000);

const temp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "app-fast-path-")));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const STACK_LINE = /^\s+at .+$/m;

function firstDifference(a: Map<string, Buffer>, b: Map<string, Buffer>): string | undefined {
  const names = [...new Set([...a.keys(), ...b.keys()])].sort();
  for (const name of names) {
    const x = a.get(name);
    const y = b.get(name);
    if (!x || !y) return `${name} exists on one side only`;
    if (!x.equals(y)) return `${name} differs`;
  }
  return undefined;
}

/** Both copies wrote the same cdktf.out/ and nixos/, byte for byte. */
function expectSameOutput(a: string, b: string): void {
  for (const dir of ["cdktf.out", "nixos"]) expect(firstDifference(readTree(path.join(a, dir)), readTree(path.join(b, dir)))).toBeUndefined();
}

describe("the fast path and cdktf synth", () => {
  const direct = path.join(temp, "direct");
  const cli = path.join(temp, "cli");
  beforeAll(() => {
    makeWorkingCopy(direct);
    makeWorkingCopy(cli);
  });

  it.each(descriptionFiles())("%s: both write the same files, byte for byte", async (cluster) => {
    // The CLI's app runs without the V8 code cache, so this also shows the cache changes nothing.
    const [a, b] = await Promise.all([runApp(direct, { cluster }), runApp(cli, { cluster, via: "cli", env: { NIXOS_K8S_CODE_CACHE: "0" } })]);
    expect([a.status, a.stderr]).toEqual([0, ""]);
    expect(b.status).toBe(0);
    const out = readTree(path.join(direct, "cdktf.out"));
    expect([...out.keys()]).toEqual(expect.arrayContaining(["manifest.json", "stacks/network/cdk.tf.json", "stacks/compute/cdk.tf.json", "stacks/pki/cdk.tf.json", "topology.md"]));
    expectSameOutput(direct, cli);
  });
});

describe("the bundle and the packages in node_modules", () => {
  const bundled = path.join(temp, "bundled");
  const unbundled = path.join(temp, "unbundled");
  beforeAll(() => {
    makeWorkingCopy(bundled);
    makeWorkingCopy(unbundled);
  });

  it.each(descriptionFiles())("%s: the bundled app writes what main.ts writes with every package loaded from node_modules", async (cluster) => {
    const [a, b] = await Promise.all([runApp(bundled, { cluster }), runApp(unbundled, { cluster, via: "tsx" })]);
    expect([a.status, a.stderr, b.status, b.stderr]).toEqual([0, "", 0, ""]);
    expectSameOutput(bundled, unbundled);
  });

  it("holds cdktf, constructs, the providers, zod and yaml, but not archiver (cdktf's archive assets), which no source uses", async () => {
    expect((await runApp(bundled)).status).toBe(0);
    const stamp = JSON.parse(readFileSync(path.join(bundled, ".build", "app", "inputs.json"), "utf8")) as { packages: Record<string, string> };
    const packages = new Set(Object.keys(stamp.packages).map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\/[^/]*$|.*node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f)).map((m) => m?.[1] ?? m?.[2]));
    for (const name of ["cdktf", "constructs", "@cdktf/provider-google", "@cdktf/provider-tls", "zod", "yaml"]) expect(packages).toContain(name);
    expect([...packages].filter((p) => p === "archiver" || p === "archiver-utils" || p === "graceful-fs")).toEqual([]);
    expect(readFileSync(path.join(bundled, ".build", "app", "main.js"), "utf8")).toContain("cdktf's archive assets (TerraformAsset with AssetType.ARCHIVE) are not available in the app's bundle");
    // An asset would need the real archiver (and its module file run as a script): refuse the import instead.
    expect(sourceImports(REPO_ROOT).filter(([, specifier]) => /terraform-asset|asset-type/.test(specifier))).toEqual([]);
    const usingAssets = ["main.ts", ...["constructs", "stacks", "src"].flatMap((dir) => [...readTree(path.join(REPO_ROOT, dir)).keys()].map((f) => `${dir}/${f}`))]
      .filter((f) => f.endsWith(".ts") && /\bTerraformAsset\b|\bAssetType\b/.test(readFileSync(path.join(REPO_ROOT, f), "utf8")));
    expect(usingAssets).toEqual([]);
  });
});

describe("no stale build", () => {
  const copy = path.join(temp, "edited");
  beforeAll(() => makeWorkingCopy(copy));

  it("builds on the first run, then shows an edited source in the next synth", async () => {
    expect(existsSync(path.join(copy, ".build"))).toBe(false);
    expect((await runApp(copy)).status).toBe(0);
    expect(existsSync(path.join(copy, ".build", "app", "main.js"))).toBe(true);
    expect(readdirSync(path.join(copy, ".build", "app", "code-cache"))).toHaveLength(1);
    const topology = path.join(copy, "src", "report", "topology.ts");
    writeFileSync(topology, readFileSync(topology, "utf8").replace('"## Stacks, in apply order"', '"## Stacks (edited), in apply order"'));
    expect((await runApp(copy)).status).toBe(0);
    expect(readFileSync(path.join(copy, "cdktf.out", "topology.md"), "utf8")).toContain("## Stacks (edited), in apply order");
    // An edit that keeps every length (V8 checks only a script's length before it uses cached code).
    writeFileSync(topology, readFileSync(topology, "utf8").replace('"## Stacks (edited), in apply order"', '"## Stacks (EDITED), in apply order"'));
    expect((await runApp(copy)).status).toBe(0);
    expect(readFileSync(path.join(copy, "cdktf.out", "topology.md"), "utf8")).toContain("## Stacks (EDITED), in apply order");
  });

  it("rebuilds instead of failing when the stamp is damaged", async () => {
    const stamp = path.join(copy, ".build", "app", "inputs.json");
    for (const damaged of ["null", "[]", "{", '{"format": 4}']) {
      writeFileSync(stamp, damaged);
      const run = await runApp(copy);
      expect([damaged, run.status, run.stderr]).toEqual([damaged, 0, ""]);
      expect(JSON.parse(readFileSync(stamp, "utf8"))).toMatchObject({ format: 4, inputs: expect.objectContaining({ "main.ts": expect.stringMatching(/^[0-9a-f]{64}$/) }) });
    }
  });

  it("rebuilds when a bundled package changes (an edit in place, or another version installed)", async () => {
    // node_modules as a folder of links to the real packages, with yaml copied, so it can be edited here.
    const modules = path.join(copy, "node_modules");
    const real = realpathSync(modules);
    rmSync(modules);
    mkdirSync(modules);
    for (const name of readdirSync(real)) {
      if (name === "yaml") cpSync(path.join(real, name), path.join(modules, name), { recursive: true });
      else symlinkSync(path.join(real, name), path.join(modules, name));
    }
    const bundle = path.join(copy, ".build", "app", "main.js");
    expect((await runApp(copy)).status).toBe(0);
    expect(readFileSync(bundle, "utf8")).not.toContain("k8sBundleProbe");
    appendFileSync(path.join(modules, "yaml", "dist", "index.js"), '\nglobalThis.k8sBundleProbe = "edited yaml";\n');
    const run = await runApp(copy);
    expect([run.status, run.stderr]).toEqual([0, ""]);
    expect(readFileSync(bundle, "utf8")).toContain('globalThis.k8sBundleProbe = "edited yaml"');
  });

  it("reports a TypeScript syntax error in a source with its place, not a stack trace", async () => {
    const file = path.join(copy, "src", "report", "topology.ts");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, `${original}\nexport const broken = ;\n`);
    try {
      const run = await runApp(copy);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^the app's TypeScript could not be compiled; nothing was synthesized:\n.*\[ERROR\] Unexpected ";"[\s\S]*src\/report\/topology\.ts:\d+:\d+:[\s\S]*export const broken = ;/);
      expect(run.stderr).not.toMatch(STACK_LINE);
    } finally {
      writeFileSync(file, original);
    }
  });

  it("generates missing libvirt bindings instead of failing with \"Cannot find module\"", async () => {
    rmSync(path.join(copy, ".gen"), { recursive: true, force: true });
    const run = await runApp(copy);
    expect(run.status).toBe(0);
    expect(run.stderr).toContain("the libvirt bindings in .gen/ are missing or out of date: generating them (npm run generate:libvirt) ...");
    expect(run.stderr).not.toMatch(/Cannot find module/);
    expect(existsSync(path.join(copy, ".gen", "providers", "libvirt", "domain", "index.ts"))).toBe(true);
  });

  it("names the command when the bindings cannot be generated", async () => {
    rmSync(path.join(copy, ".gen"), { recursive: true, force: true });
    const schema = path.join(copy, "providers", "libvirt", "0.8.3.schema.json");
    const original = readFileSync(schema);
    writeFileSync(schema, "{}");
    try {
      const run = await runApp(copy);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("the libvirt bindings in .gen/ could not be generated; nothing was synthesized. Run `npm ci` (it installs the generator), then `npm run generate:libvirt`.");
      expect(run.stderr).not.toMatch(/Cannot find module/);
    } finally {
      writeFileSync(schema, original);
    }
  });
});

describe("bad input: one report, exit 1, no stack trace, output untouched", () => {
  const copy = path.join(temp, "bad-input");
  const local = () => readFileSync(path.join(copy, "clusters", "local.yaml"), "utf8");
  let before: { out: Map<string, Buffer>; nixos: Map<string, Buffer> };

  beforeAll(async () => {
    makeWorkingCopy(copy);
    expect((await runApp(copy)).status).toBe(0);
    before = { out: readTree(path.join(copy, "cdktf.out")), nixos: readTree(path.join(copy, "nixos")) };
  });

  const gcpName = (n: number) => readFileSync(path.join(copy, "clusters", "gcp.yaml"), "utf8").replace("name: gcp", `name: g${"x".repeat(n - 1)}`);
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]", "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]", "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]", "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]", ""].join("\n");
  const inputs: Array<[string, () => string | Buffer, RegExp]> = [
    ["an empty file", () => "", /the file is empty/],
    ["a key given twice", () => local().replace("libvirt:\n", "pools:\n  worker: { count: 1 }\nlibvirt:\n"), /key `pools` appears twice, lines 25 and 31/],
    ["a missing section", () => local().replace(/^ssh:\n(?: {2}.*\n|\s*\n)+/m, ""), /ssh: section `ssh` is missing/],
    ["two documents", () => `${local()}---\n${local()}`, /the file holds 2 YAML documents/],
    ["an alias bomb", () => bomb, /alias bomb/],
    ["a binary file", () => Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), /not a text file/],
    ["a huge file", () => `# ${"x".repeat(2 * 1024 * 1024)}\n`, /a description is a few kilobytes/],
    ["a copied example keeping its name", () => local().replace("10.240.0.0/24", "10.250.0.0/24").replace("10.240.0.2", "10.250.0.2"), /"local" is also the name of clusters\/local\.yaml/],
    ["a GCP name one past the derived-name limit", () => gcpName(37), /is too long for GCP: the firewall rule name "gx+-kubelet-from-control-plane" has 64 characters, the limit is 63; shorten name by 1, to at most 36 characters/],
  ];

  async function synthBad(content: string | Buffer, via: "app" | "cli" = "app"): Promise<AppRun> {
    const file = path.join(copy, "clusters", "bad.yaml");
    writeFileSync(file, content);
    try {
      return await runApp(copy, { cluster: "clusters/bad.yaml", via });
    } finally {
      rmSync(file, { force: true });
    }
  }

  const expectUntouched = () => {
    expect(firstDifference(readTree(path.join(copy, "cdktf.out")), before.out)).toBeUndefined();
    expect(firstDifference(readTree(path.join(copy, "nixos")), before.nixos)).toBeUndefined();
  };

  it.each(inputs)("%s", async (_what, content, expected) => {
    const run = await synthBad(content());
    expect(run.status).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^clusters\/bad\.yaml: the cluster description has 1 problem; nothing was synthesized:\n {2}- /);
    expect(run.stderr).toMatch(expected);
    expect(run.stderr.match(/nothing was synthesized/g)).toHaveLength(1);
    expect(run.stderr).not.toMatch(STACK_LINE);
    expectUntouched();
  });

  it("a description through a symlink pointing outside the repository", async () => {
    const outside = path.join(temp, "outside.yaml");
    writeFileSync(outside, local().replace("name: local", "name: elsewhere"));
    symlinkSync(outside, path.join(copy, "clusters", "linked.yaml"));
    try {
      const run = await runApp(copy, { cluster: "clusters/linked.yaml" });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/clusters\/linked\.yaml: [\s\S]*resolves \(through a symlink\) to .*outside\.yaml, outside the repository/);
      expect(run.stderr).not.toMatch(STACK_LINE);
      expectUntouched();
    } finally {
      rmSync(path.join(copy, "clusters", "linked.yaml"), { force: true });
    }
  });

  it("under cdktf synth the report arrives intact inside the CLI's error output, with no stack trace", async () => {
    const run = await synthBad(local().replace("libvirt:\n", "pools:\n  worker: { count: 1 }\nlibvirt:\n"), "cli");
    expect(run.status).not.toBe(0);
    const all = `${run.stdout}\n${run.stderr}`;
    // The CLI indents the app's stderr by four spaces in its summary.
    expect(all).toContain("    clusters/bad.yaml: the cluster description has 1 problem; nothing was synthesized:\n      - pools (line 31): key `pools` appears twice, lines 25 and 31; keep one of them");
    expect(all).not.toMatch(STACK_LINE);
    expectUntouched();
  });
});
