/**
 * Backends: each stack's state where the description says (local relative file or GCS object), cross-stack
 * references reading the producing stack's state from that same place, and no two clusters or stacks sharing one.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { App } from "cdktf";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { readSynthesizedStacks, type SynthesizedStack } from "../src/export/manifest";
import { reconcileBackendCaches } from "../src/postsynth/backend-cache";
import { buildClusterStacks } from "../stacks/app";
import { CLUSTERS, planChanged, planOf, REPO_ROOT, synthesize, type Synthesized } from "./output-support";

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
    expect(() => withGcs(CLUSTERS[0], { prefix: "/k8s/" })).toThrow(/backend\.prefix \(line \d+\): must be an object name prefix without leading or trailing "\/"/);
  });
});

describe("terraform's cached backend when several clusters share cdktf.out", () => {
  // Every stack folder of cdktf.out is shared by all clusters of the checkout; `terraform init` leaves the backend it
  // initialized in <stack>/.terraform/terraform.tfstate (the layout terraform 1.x writes, unset settings as null).
  const GCS_UNSET = ["credentials", "access_token", "impersonate_service_account", "impersonate_service_account_delegates", "encryption_key", "kms_encryption_key", "storage_custom_endpoint"];
  const outdirs: string[] = [];
  afterAll(() => outdirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A fresh, empty output folder outside the repository. */
  function newOutdir(): string {
    const outdir = mkdtempSync(path.join(os.tmpdir(), "backend-cache-test-"));
    outdirs.push(outdir);
    return outdir;
  }

  /** `cdktf synth` of `plan` into `outdir` (which may hold an earlier synth), then the backend check; its log lines. */
  function synthInto(outdir: string, plan: ClusterPlan): string[] {
    const app = new App({ outdir, stackTraces: false, skipValidation: true });
    buildClusterStacks(app, plan);
    app.synth();
    const lines: string[] = [];
    reconcileBackendCaches({ plan, root: REPO_ROOT, outdir, nixosDir: path.join(outdir, "nixos") }, (line) => lines.push(line));
    return lines;
  }

  const cacheFile = (outdir: string, stack: string): string => path.join(outdir, "stacks", stack, ".terraform", "terraform.tfstate");

  /** What `terraform init` would leave in every stack folder for the synth now in `outdir`, plus a provider marker. */
  function fakeInit(outdir: string): void {
    for (const stack of readSynthesizedStacks(outdir)) {
      const { type, config } = backendOf(stack);
      const recorded = type === "gcs" ? { ...Object.fromEntries(GCS_UNSET.map((k) => [k, null])), ...config } : { ...config, workspace_dir: null };
      const file = cacheFile(outdir, stack.id);
      mkdirSync(path.join(path.dirname(file), "providers"), { recursive: true });
      writeFileSync(path.join(path.dirname(file), "providers", "marker"), "provider binaries");
      writeFileSync(path.join(path.dirname(file), "environment"), "default");
      writeFileSync(file, JSON.stringify({ version: 3, terraform_version: "1.11.4", backend: { type, config: recorded, hash: 1 } }, null, 2));
    }
  }

  const STACKS = ["compute", "network", "pki"];
  const LOCAL_A = "clusters/local.yaml";
  const LOCAL_B = "clusters/local-stacked.yaml";

  test("synthesizing another cluster (local state) removes each stack's cached backend, and only that file", () => {
    const outdir = newOutdir();
    synthInto(outdir, planOf(LOCAL_A));
    fakeInit(outdir);
    const lines = synthInto(outdir, planOf(LOCAL_B));
    for (const stack of STACKS) {
      expect(existsSync(cacheFile(outdir, stack))).toBe(false);
      // Provider binaries and the selected workspace stay: they are not cluster-specific.
      expect(readFileSync(path.join(outdir, "stacks", stack, ".terraform", "providers", "marker"), "utf8")).toBe("provider binaries");
      expect(existsSync(path.join(outdir, "stacks", stack, ".terraform", "environment"))).toBe(true);
    }
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes("stacks/network/"))).toMatch(
      /removed terraform's cached backend \(local \.\.\/\.\.\/\.\.\/state\/local\/network\.tfstate, not cluster "local-stacked"'s\); the next init uses local \.\.\/\.\.\/\.\.\/state\/local-stacked\/network\.tfstate/,
    );
  });

  test("synthesizing another cluster with the same GCS bucket and prefix removes the cached backend", () => {
    const outdir = newOutdir();
    synthInto(outdir, withGcs(LOCAL_A));
    fakeInit(outdir);
    const lines = synthInto(outdir, withGcs(LOCAL_B));
    for (const stack of STACKS) expect(existsSync(cacheFile(outdir, stack))).toBe(false);
    expect(lines.find((l) => l.includes("stacks/compute/"))).toContain("(gcs acme-terraform-state/k8s/local/compute, not cluster \"local-stacked\"'s)");
  });

  test("synthesizing the same cluster again keeps the cached backend and says nothing", () => {
    const outdir = newOutdir();
    synthInto(outdir, planOf(LOCAL_A));
    fakeInit(outdir);
    const before = STACKS.map((stack) => readFileSync(cacheFile(outdir, stack), "utf8"));
    expect(synthInto(outdir, planOf(LOCAL_A))).toEqual([]);
    expect(STACKS.map((stack) => readFileSync(cacheFile(outdir, stack), "utf8"))).toEqual(before);
  });

  test("the same cluster moved to another backend keeps the cache, so `--migrate-state` moves its own state", () => {
    const outdir = newOutdir();
    synthInto(outdir, planOf(LOCAL_A));
    fakeInit(outdir);
    const lines = synthInto(outdir, withGcs(LOCAL_A));
    for (const stack of STACKS) expect(existsSync(cacheFile(outdir, stack))).toBe(true);
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes("stacks/pki/"))).toMatch(
      /cluster "local" moved from backend local \.\.\/\.\.\/\.\.\/state\/local\/pki\.tfstate to gcs acme-terraform-state\/k8s\/local\/pki; .*npx cdktf deploy --migrate-state pki/,
    );
  });

  test("a stack folder never initialized is left alone", () => {
    const outdir = newOutdir();
    synthInto(outdir, planOf(LOCAL_A));
    expect(synthInto(outdir, planOf(LOCAL_B))).toEqual([]);
    for (const stack of STACKS) expect(existsSync(path.join(outdir, "stacks", stack, ".terraform"))).toBe(false);
  });
});
