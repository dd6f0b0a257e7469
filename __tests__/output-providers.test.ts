/**
 * Pinning: exact package versions with a matching lockfile, and in every stack exact provider versions under
 * fully qualified source addresses, so Terraform and OpenTofu install the same provider build.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { qualifiedProviderSource } from "../stacks/provider-pins";
import { CLUSTERS, planOf, REPO_ROOT, synthesize, type Synthesized } from "./output-support";

jest.setTimeout(60_000);

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  cdktf?: { provider?: { name?: string; version?: string } };
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;
const pkg = readJson<PackageJson>(path.join(REPO_ROOT, "package.json"));
const EXACT = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

/** Provider source -> version each installed prebuilt @cdktf/provider-* package was generated for. */
function prebuiltProviderVersions(): Map<string, string> {
  const versions = new Map<string, string>();
  for (const name of Object.keys(pkg.dependencies ?? {}).filter((n) => n.startsWith("@cdktf/provider-"))) {
    const meta = readJson<PackageJson>(path.join(REPO_ROOT, "node_modules", name, "package.json")).cdktf?.provider;
    if (meta?.name && meta.version) versions.set(meta.name, meta.version);
  }
  return versions;
}

describe("npm packages", () => {
  test("every dependency is pinned to one exact version", () => {
    const all = { ...pkg.dependencies, ...pkg.devDependencies };
    expect(Object.entries(all).filter(([, version]) => !EXACT.test(version))).toEqual([]);
  });

  test("the lockfile records exactly the versions package.json names", () => {
    const lockFile = path.join(REPO_ROOT, "package-lock.json");
    expect(existsSync(lockFile)).toBe(true);
    const lock = readJson<{ packages: Record<string, { version?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> }> }>(lockFile);
    expect(lock.packages[""].dependencies ?? {}).toEqual(pkg.dependencies ?? {});
    expect(lock.packages[""].devDependencies ?? {}).toEqual(pkg.devDependencies ?? {});
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      expect({ name, locked: lock.packages[`node_modules/${name}`]?.version }).toEqual({ name, locked: version });
    }
  });
});

describe("qualifiedProviderSource", () => {
  test("adds the registry host and Terraform's default namespace; keeps a full address", () => {
    expect(qualifiedProviderSource("google")).toBe("registry.terraform.io/hashicorp/google");
    expect(qualifiedProviderSource("dmacvicar/libvirt")).toBe("registry.terraform.io/dmacvicar/libvirt");
    expect(qualifiedProviderSource("registry.opentofu.org/hashicorp/tls")).toBe("registry.opentofu.org/hashicorp/tls");
  });

  test("refuses what is not a provider address", () => {
    expect(() => qualifiedProviderSource("a/b/c/d")).toThrow(/not a Terraform provider address/);
    expect(() => qualifiedProviderSource("hashicorp/")).toThrow(/not a Terraform provider address/);
  });
});

const BUILT_IN = new Set(["terraform"]);

/** The provider local name a resource or data source type belongs to: its prefix up to the first "_". */
const providerOf = (type: string): string => type.split("_")[0];

describe.each(CLUSTERS)("%s", (cluster) => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize(planOf(cluster));
  });
  afterAll(() => rmSync(synthesized.outdir, { recursive: true, force: true }));

  test("every required provider has an exact version and a fully qualified source", () => {
    const prebuilt = prebuiltProviderVersions();
    const declared = synthesized.stacks.flatMap((s) => Object.keys(((s.json.terraform as Record<string, unknown>).required_providers ?? {}) as object));
    expect(declared.length).toBeGreaterThan(0);
    for (const stack of synthesized.stacks) {
      const required = ((stack.json.terraform as Record<string, unknown>).required_providers ?? {}) as Record<string, { source: string; version: string }>;
      for (const [name, requirement] of Object.entries(required)) {
        const where = `${stack.id}: ${name}`;
        expect({ where, source: requirement.source }).toEqual({ where, source: expect.stringMatching(/^registry\.terraform\.io\/[a-z0-9-]+\/[a-z0-9-]+$/) });
        expect({ where, version: requirement.version }).toEqual({ where, version: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
        const generatedFor = prebuilt.get(requirement.source);
        if (generatedFor) expect({ where, version: requirement.version }).toEqual({ where, version: generatedFor });
      }
    }
  });

  test("every provider a stack uses is in its required_providers (none left to the tool's default)", () => {
    for (const stack of synthesized.stacks) {
      const required = Object.keys(((stack.json.terraform as Record<string, unknown>).required_providers ?? {}) as object);
      const used = new Set(
        [...Object.keys((stack.json.resource ?? {}) as object), ...Object.keys((stack.json.data ?? {}) as object)].map(providerOf).filter((p) => !BUILT_IN.has(p)),
      );
      expect({ stack: stack.id, missing: [...used].filter((p) => !required.includes(p)).sort() }).toEqual({ stack: stack.id, missing: [] });
    }
  });
});
