/**
 * Backends: each stack's state where the description says (local relative file or GCS object), cross-stack
 * references reading the producing stack's state from that same place, and no two clusters or stacks sharing one.
 */
import { rmSync } from "node:fs";
import * as path from "node:path";
import type { ClusterPlan } from "../src/cluster/plan-types";
import type { SynthesizedStack } from "../src/export/manifest";
import { CLUSTERS, planChanged, planOf, synthesize, type Synthesized } from "./output-support";

jest.setTimeout(60_000);

type Block = Record<string, unknown>;

function backendOf(stack: SynthesizedStack): { type: string; config: Block } {
  const backend = ((stack.json.terraform as Block).backend ?? {}) as Record<string, Block>;
  const types = Object.keys(backend);
  expect({ stack: stack.id, backends: types.length }).toEqual({ stack: stack.id, backends: 1 });
  return { type: types[0], config: backend[types[0]] };
}

/** The terraform_remote_state data sources of a stack: backend type and config. */
function remoteStates(stack: SynthesizedStack): Array<{ type: string; config: Block }> {
  const data = ((stack.json.data ?? {}) as Record<string, Record<string, Block>>).terraform_remote_state ?? {};
  return Object.values(data).map((source) => {
    // The reader's workspace: stacks of one cluster always run in the same one.
    expect(source.workspace).toBe("${terraform.workspace}");
    return { type: source.backend as string, config: source.config as Block };
  });
}

/** Where a local state file lands, relative to the repository root (terraform runs in cdktf.out/<workingDirectory>). */
function localStateFile(stack: SynthesizedStack, statePath: unknown): string {
  expect(typeof statePath).toBe("string");
  expect(path.isAbsolute(statePath as string)).toBe(false);
  return path.posix.normalize(`cdktf.out/${stack.workingDirectory}/${statePath as string}`);
}

const stateKey = (b: { type: string; config: Block }): string =>
  b.type === "gcs" ? `gcs:${String(b.config.bucket)}/${String(b.config.prefix)}` : `local:${String(b.config.path)}`;

const withGcs = (file: string, extra: Block = {}): ClusterPlan =>
  planChanged(file, (d) => {
    d.backend = { type: "gcs", bucket: "acme-terraform-state", prefix: "k8s", ...extra };
  });

/** Checks every cross-stack read against the backend of the stack it reads. */
function expectReferencesFollowBackends(synthesized: Synthesized): void {
  const byKey = new Map(synthesized.stacks.map((s) => [stateKey(backendOf(s)), s.id]));
  for (const stack of synthesized.stacks) {
    for (const remote of remoteStates(stack)) {
      const origin = byKey.get(stateKey(remote));
      // It reads the exact backend config of a stack it depends on.
      expect({ reader: stack.id, origin: origin && stack.dependsOn.includes(origin) }).toEqual({ reader: stack.id, origin: true });
      const originStack = synthesized.stacks.find((s) => s.id === origin)!;
      expect(remote).toEqual(backendOf(originStack));
    }
  }
  // The compute stack's machines are attached to the network stack's network: it reads that state.
  const compute = synthesized.stacks.find((s) => s.id === "compute")!;
  const network = synthesized.stacks.find((s) => s.id === "network")!;
  expect(remoteStates(compute)).toContainEqual(backendOf(network));
}

const KMS_KEY = "projects/acme/locations/europe/keyRings/state/cryptoKeys/terraform";
/** Every example synthesized once with its own (local) backend and once with GCS; shared by all tests. */
const local = new Map<string, { plan: ClusterPlan; synthesized: Synthesized }>();
const gcs = new Map<string, { plan: ClusterPlan; synthesized: Synthesized }>();

beforeAll(() => {
  for (const cluster of CLUSTERS) {
    const localPlan = planOf(cluster);
    local.set(cluster, { plan: localPlan, synthesized: synthesize(localPlan) });
    const gcsPlan = withGcs(cluster, { kmsEncryptionKey: KMS_KEY });
    gcs.set(cluster, { plan: gcsPlan, synthesized: synthesize(gcsPlan) });
  }
});
afterAll(() => {
  for (const { synthesized } of [...local.values(), ...gcs.values()]) rmSync(synthesized.outdir, { recursive: true, force: true });
});

describe.each(CLUSTERS)("%s with the default local backend", (cluster) => {
  test("each stack keeps its state in state/<cluster>/<stack>.tfstate under the repository, by a relative path", () => {
    const { plan, synthesized } = local.get(cluster)!;
    for (const stack of synthesized.stacks) {
      const { type, config } = backendOf(stack);
      expect(type).toBe("local");
      expect(localStateFile(stack, config.path)).toBe(`state/${plan.cluster}/${stack.id}.tfstate`);
    }
  });

  test("cross-stack references read the producing stack's local state file", () => {
    const { plan, synthesized } = local.get(cluster)!;
    expectReferencesFollowBackends(synthesized);
    for (const stack of synthesized.stacks) {
      for (const remote of remoteStates(stack)) {
        expect(localStateFile(stack, remote.config.path)).toMatch(new RegExp(`^state/${plan.cluster}/[^/]+\\.tfstate$`));
      }
    }
  });
});

describe.each(CLUSTERS)("%s with a GCS backend", (cluster) => {
  test("each stack keeps its state under <prefix>/<cluster>/<stack> in the bucket, encrypted with the KMS key", () => {
    const { plan, synthesized } = gcs.get(cluster)!;
    for (const stack of synthesized.stacks) {
      expect(backendOf(stack)).toEqual({
        type: "gcs",
        config: { bucket: "acme-terraform-state", prefix: `k8s/${plan.cluster}/${stack.id}`, kms_encryption_key: KMS_KEY },
      });
    }
  });

  test("cross-stack references read the producing stack's GCS state, not a local file", () => {
    const { synthesized } = gcs.get(cluster)!;
    expectReferencesFollowBackends(synthesized);
    for (const stack of synthesized.stacks) {
      for (const remote of remoteStates(stack)) expect(remote.type).toBe("gcs");
    }
  });
});

describe("state locations", () => {
  test("no two stacks of the example clusters share a state location, with either backend", () => {
    for (const variant of [local, gcs]) {
      const keys = [...variant.values()].flatMap(({ synthesized }) =>
        synthesized.stacks.map((s) => {
          const b = backendOf(s);
          return b.type === "local" ? `local:${localStateFile(s, b.config.path)}` : stateKey(b);
        }),
      );
      expect(new Set(keys).size).toBe(keys.length);
      expect(keys.length).toBeGreaterThanOrEqual(variant.size * 3);
    }
  });

  test("a GCS prefix must not start or end with a slash (it would break the per-stack object layout)", () => {
    expect(() => withGcs(CLUSTERS[0], { prefix: "/k8s/" })).toThrow(/backend.prefix: must be an object name prefix/);
  });
});
