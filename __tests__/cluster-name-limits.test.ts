/**
 * Property: for every cluster name length from 1 to one past the longest name the schema allows (63), on both
 * targets, the description is either refused with a report on `name` or synthesizes; nothing in between (no
 * exception from a construct, no name the provider would refuse). Names mix letters, digits and '-'.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Testing } from "cdktf";
import { DescriptionError, parseDescription } from "../src/cluster/load";
import { gcpDerivedNames, meetsRule } from "../src/gcp/derived-names";
import { GCE_NAME_MAX } from "../src/gcp/names";
import { MACHINE_NAME_MAX } from "../src/cluster/names";
import { buildClusterStacks } from "../stacks/app";
import { withoutTokenStackTraces } from "../stacks/token-traces";
import { stringify } from "yaml";
import { exampleObject, REPO_ROOT } from "./helpers/descriptions";

jest.setTimeout(120_000);

/** The schema's limit for `name` (an RFC 1123 label). */
const SCHEMA_LIMIT = 63;

/** A deterministic name of `length` characters: a first character, then letters, digits and single '-'. */
function nameOfLength(length: number, seed: number, first: string): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let state = seed * 7919 + length;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31);
  let name = first;
  while (name.length < length) {
    const c = alphabet[next() % alphabet.length];
    // A '-' now and then, never twice in a row nor last.
    name += name.length < length - 1 && !name.endsWith("-") && next() % 5 === 0 ? "-" : c;
  }
  return name.slice(0, length);
}

/** A small description of the target (one host per pool), so each accepted name is synthesized quickly. */
function small(target: "libvirt" | "gcp", name: string): Record<string, any> {
  const d = exampleObject(target === "gcp" ? "clusters/gcp.yaml" : "clusters/local.yaml");
  d.name = name;
  for (const pool of Object.keys(d.pools)) d.pools[pool].count = pool === "loadBalancer" ? 2 : 1;
  return d;
}

type Outcome = { kind: "refused"; report: string } | { kind: "synthesized" };

function attempt(target: "libvirt" | "gcp", name: string): Outcome {
  let plan;
  try {
    plan = parseDescription(stringify(small(target, name)), "clusters/test.yaml").plan;
  } catch (e) {
    if (!(e instanceof DescriptionError)) throw e;
    return { kind: "refused", report: e.message };
  }
  // Anything thrown from here on is the crash the property forbids.
  let compute: Record<string, any> = {};
  withoutTokenStackTraces(() => {
    const stacks = buildClusterStacks(Testing.app(), plan);
    for (const stack of [stacks.network, stacks.compute, stacks.pki]) stack.prepareStack();
    const [, synthesized] = [stacks.network, stacks.compute, stacks.pki].map((stack) => JSON.parse(Testing.synth(stack)));
    compute = synthesized;
  });
  for (const derived of gcpDerivedNames(plan)) expect(meetsRule(derived.name, derived.rule)).toBe(true);
  if (target === "libvirt") {
    // Domains are machine names; volumes and config disks are files in the pool's folder (src/cluster/names.ts).
    const names = (type: string) => Object.values((compute.resource?.[type] ?? {}) as Record<string, { name: string }>).map((r) => r.name);
    for (const domain of names("libvirt_domain")) expect([domain, domain.length <= MACHINE_NAME_MAX]).toEqual([domain, true]);
    for (const file of [...names("libvirt_volume"), ...names("libvirt_cloudinit_disk")]) {
      expect([file, Buffer.byteLength(file) <= 255 && !file.includes("/")]).toEqual([file, true]);
    }
  }
  return { kind: "synthesized" };
}

const lengths = Array.from({ length: SCHEMA_LIMIT + 1 }, (_, i) => i + 1);

describe.each(["libvirt", "gcp"] as const)("%s: cluster names of every length", (target) => {
  const outcomes = new Map<number, Outcome>();
  beforeAll(() => {
    for (const length of lengths) outcomes.set(length, attempt(target, nameOfLength(length, 1, "k")));
  });

  it("are refused with a report on `name` (or, for host machine names, the pool's namePrefix), or synthesize", () => {
    for (const [length, outcome] of outcomes) {
      if (outcome.kind === "refused") expect([length, outcome.report]).toEqual([length, expect.stringMatching(/^ {2}- (?:name|pools\.\w+\.namePrefix)(?: \(line \d+\))?: /m)]);
    }
  });

  it("are accepted up to one limit and refused from there on, the limit being what the docs state", () => {
    const accepted = lengths.filter((l) => outcomes.get(l)!.kind === "synthesized");
    const limit = Math.max(...accepted);
    expect(accepted).toEqual(lengths.slice(0, limit));
    // docs/description.md: 63 for the name itself; libvirt: host machine names "<name>-<host>" (here "-worker-1");
    // GCP: the longest derived name, the firewall rule "<name>-kubelet-from-control-plane".
    expect(limit).toBe(target === "gcp" ? 36 : 54);
    expect(outcomes.get(limit + 1)!.kind).toBe("refused");
  });

  it("starting with a digit: refused on GCP (RFC 1035), accepted on libvirt", () => {
    const outcome = attempt(target, nameOfLength(8, 2, "4"));
    if (target === "gcp") {
      expect(outcome).toEqual({ kind: "refused", report: expect.stringMatching(/name(?: \(line \d+\))?: "4[a-z0-9-]+" starts with a digit, but Compute Engine names built from it must start with a letter .*; start name with a letter/) });
    } else {
      expect(outcome.kind).toBe("synthesized");
    }
  });
});

describe("GCP hostnames are RFC 1035 names", () => {
  const refusalOf = (change: (d: Record<string, any>) => void) => {
    const d = small("gcp", "k8s");
    change(d);
    try {
      parseDescription(stringify(d), "clusters/test.yaml");
    } catch (e) {
      return (e as Error).message;
    }
    return "";
  };

  it("refuses a domain label starting with a digit", () => {
    expect(refusalOf((d) => (d.network.domain = "k8s.1internal"))).toMatch(
      /network\.domain(?: \(line \d+\))?: "k8s\.1internal" has the label "1internal", which starts with a digit: GCE hostnames need RFC 1035 labels \(a letter first\)/,
    );
  });

  it("refuses a host name prefix starting with a digit", () => {
    expect(refusalOf((d) => (d.pools.worker.namePrefix = "2w"))).toMatch(/pools\.worker\.namePrefix(?: \(line \d+\))?: "2w" starts with a digit: GCE hostnames need RFC 1035 labels/);
  });

  it("accepts both on libvirt, whose hostnames are RFC 1123", () => {
    const d = small("libvirt", "lab");
    d.network.domain = "k8s.1internal";
    d.pools.worker.namePrefix = "2w";
    expect(() => parseDescription(stringify(d), "clusters/test.yaml")).not.toThrow();
  });
});

describe("docs/description.md states the limits the property finds", () => {
  const docs = readFileSync(path.join(REPO_ROOT, "docs", "description.md"), "utf8");
  it("GCP: the firewall rule <name>-kubelet-from-control-plane, name at most 36 characters", () => {
    expect(GCE_NAME_MAX - "-kubelet-from-control-plane".length).toBe(36);
    expect(docs).toContain("the firewall rule `<name>-kubelet-from-control-plane`: **`name` at most 36 characters**");
  });
  it("libvirt: machine names <name>-worker-N, name at most 54 characters", () => {
    expect(GCE_NAME_MAX - "-worker-1".length).toBe(54);
    expect(docs).toContain("`<name>-worker-N`: `name` at most 54 characters");
  });
});

describe("GCP names built from a host name", () => {
  it("refuses an etcd pool prefix whose data disk name would be too long, naming the prefix (no crash at synth)", () => {
    const d = small("gcp", "k8s");
    d.pools.etcd.namePrefix = `e${"x".repeat(49)}`;
    // The instance name (56 characters) fits; "<instance>-etcd-data" (66) does not.
    let report = "";
    try {
      parseDescription(stringify(d), "clusters/test.yaml");
    } catch (e) {
      report = (e as Error).message;
    }
    expect(report).toMatch(
      /pools\.etcd\.namePrefix(?: \(line \d+\))?: the etcd data disk of host ex+-1 name "k8s-ex+-1-etcd-data" \(cluster name, host name and suffix\) has 66 characters, the limit is 63; shorten name or pools\.etcd\.namePrefix by 3/,
    );
  });
});
