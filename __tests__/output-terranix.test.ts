/**
 * The terranix export: per stack, plain Terraform JSON equal to the synthesized stack minus cdktf's metadata,
 * with only top-level keys terranix has options for, and a Nix module that loads it (checked with nix-instantiate).
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { applyOrder, readManifest } from "../src/export/manifest";
import { exportTerranix } from "../src/export/step";
import { stableJson, withoutMetadata } from "../src/export/terraform-json";
import { TERRANIX_DIR, TERRANIX_TOP_LEVEL_KEYS, terranixConfig } from "../src/export/terranix";
import { CLUSTERS, planOf, synthesize, type Synthesized } from "./output-support";

jest.setTimeout(60_000);

function nixEval(expression: string, dir: string): unknown {
  const out = execFileSync("nix-instantiate", ["--eval", "--strict", "--json", "--readonly-mode", "-E", expression], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, NIX_PATH: "" },
  });
  return JSON.parse(out);
}

/** Every key path of `value` whose last key is "//". */
function metadataKeys(value: unknown, at = "$"): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => metadataKeys(v, `${at}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => (k === "//" ? [`${at}["//"]`] : metadataKeys(v, `${at}.${k}`)));
  }
  return [];
}

describe("withoutMetadata / stableJson", () => {
  test('removes "//" at every depth and keeps everything else', () => {
    const synthesized = {
      "//": { metadata: { version: "0.21.0" } },
      resource: { a_b: { c: { "//": { metadata: { path: "x" } }, count: 2, tags: [{ "//": 1, k: "v" }] } } },
    };
    expect(withoutMetadata(synthesized)).toEqual({ resource: { a_b: { c: { count: 2, tags: [{ k: "v" }] } } } });
  });

  test("writes keys in code-unit order, integer-like keys included", () => {
    expect(stableJson({ b: 1, a: { "10": true, "9": false, x: [] } })).toBe(
      '{\n  "a": {\n    "10": true,\n    "9": false,\n    "x": []\n  },\n  "b": 1\n}\n',
    );
  });
});

describe("terranixConfig", () => {
  test("rejects a top-level key terranix has no option for, naming it", () => {
    expect(() => terranixConfig("network", { resource: {}, check: {} })).toThrow(/stack "network" has top-level "check"/);
  });
});

describe.each(CLUSTERS)("%s", (cluster) => {
  let synthesized: Synthesized;
  let exportDir: string;

  beforeAll(() => {
    const plan = planOf(cluster);
    synthesized = synthesize(plan);
    exportTerranix({ plan, outdir: synthesized.outdir });
    exportDir = path.join(synthesized.outdir, TERRANIX_DIR);
  });
  afterAll(() => rmSync(synthesized.outdir, { recursive: true, force: true }));

  test("each stack's export equals the synthesized stack without cdktf metadata", () => {
    expect(synthesized.stacks.length).toBeGreaterThan(0);
    for (const stack of synthesized.stacks) {
      const exported: unknown = JSON.parse(readFileSync(path.join(exportDir, `${stack.id}.tf.json`), "utf8"));
      expect(metadataKeys(exported)).toEqual([]);
      expect(exported).toEqual(withoutMetadata(stack.json));
      // What was removed is only metadata: the stack still has its backend, and resources where it had them.
      expect(Object.keys(exported as object).sort()).toEqual(Object.keys(stack.json).filter((k) => k !== "//").sort());
    }
  });

  test("each export has only top-level keys terranix knows", () => {
    const known: readonly string[] = TERRANIX_TOP_LEVEL_KEYS;
    for (const stack of synthesized.stacks) {
      const exported = JSON.parse(readFileSync(path.join(exportDir, `${stack.id}.tf.json`), "utf8")) as object;
      expect(Object.keys(exported).filter((k) => !known.includes(k))).toEqual([]);
      expect(Object.keys(exported)).toContain("terraform");
    }
  });

  test("each stack's Nix module loads with nix-instantiate and yields the export", () => {
    for (const stack of synthesized.stacks) {
      const exported: unknown = JSON.parse(readFileSync(path.join(exportDir, `${stack.id}.tf.json`), "utf8"));
      // A terranix module is a function of the module arguments returning the configuration.
      const evaluated = nixEval(`(import ./${stack.id}.nix) { config = { }; lib = { }; pkgs = { }; }`, exportDir);
      expect(evaluated).toEqual(exported);
    }
  });

  test("default.nix lists every stack module and the manifest's apply order", () => {
    const order = applyOrder(readManifest(synthesized.outdir));
    const index = nixEval(
      "let i = import ./default.nix; in { order = i.applyOrder; stacks = builtins.mapAttrs (id: m: builtins.baseNameOf (toString m)) i.stacks; }",
      exportDir,
    );
    expect(index).toEqual({ order, stacks: Object.fromEntries(order.map((id) => [id, `${id}.nix`])) });
  });
});
