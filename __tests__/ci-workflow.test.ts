/**
 * The example GitHub workflow (.github/workflows/ci.yml): it parses, passes action-validator (GitHub's workflow
 * schema and job references, run here from npm), and does the checks a user's CI can do: tests and synth, `nix flake
 * check --no-build` on the flake plus every deploy node, each NixOS VM test built on a KVM runner, and `init
 * -backend=false` + `validate` with terraform and with OpenTofu on every synthesized stack of every description.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { REPO } from "./nix/eval";

const WORKFLOW = path.join(REPO, ".github/workflows/ci.yml");
const VALIDATOR = path.join(REPO, "node_modules/@action-validator/cli/cli.mjs");

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  if?: string;
}
interface Job {
  needs?: string | string[];
  "runs-on": string;
  strategy?: { matrix: Record<string, unknown> };
  steps: Step[];
}
const workflow = parse(readFileSync(WORKFLOW, "utf8")) as { jobs: Record<string, Job> };
const runs = (job: Job) => job.steps.map((s) => s.run ?? "").join("\n");

function validate(file: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [VALIDATOR, file], { encoding: "utf8" });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

it("passes action-validator (workflow schema, job references)", () => {
  const { status, output } = validate(WORKFLOW);
  expect({ status, output }).toEqual({ status: 0, output: "" });
});

it("is refused by action-validator when a job needs one that does not exist (the linter really runs)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "ci-workflow-"));
  try {
    const broken = path.join(dir, "ci.yml");
    writeFileSync(broken, readFileSync(WORKFLOW, "utf8").replace("needs: nix-eval", "needs: nix-evaluation"));
    const { status, output } = validate(broken);
    expect(status).not.toBe(0);
    expect(output).toContain("unresolved job nix-evaluation");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it("tests exactly as .ci/run does, as root (network namespaces), with a terraform binary for the apply tests", () => {
  const job = workflow.jobs.test;
  expect(job.steps.some((s) => s.uses?.startsWith("hashicorp/setup-terraform@"))).toBe(true);
  expect(runs(job)).toContain('sudo env "PATH=$PATH" CI=true bash .ci/run');
  expect(runs(job)).not.toMatch(/npm (ci|install|test)/);
});

it("evaluates the flake with Nix without building, and every deploy node", () => {
  const job = workflow.jobs["nix-eval"];
  expect(job.steps.some((s) => s.uses?.startsWith("cachix/install-nix-action@"))).toBe(true);
  expect(runs(job)).toContain("nix flake check ./nixos --no-build");
  expect(runs(job)).toContain("nix eval --json ./nixos#deploy.nodes");
});

it("builds each NixOS VM test of the flake on a runner with KVM", () => {
  const job = workflow.jobs["vm-tests"];
  const tests = readFileSync(path.join(REPO, "nixos/tests/default.nix"), "utf8");
  expect(tests).toContain("import ./cluster.nix");
  expect(job.strategy?.matrix.check).toEqual(["vm-stacked", "vm-external"]);
  expect(runs(job)).toContain("nix build ./nixos#checks.x86_64-linux.${{ matrix.check }}");
  expect(runs(job)).toContain('KERNEL=="kvm", GROUP="kvm", MODE="0666"');
  const nix = job.steps.find((s) => s.uses?.startsWith("cachix/install-nix-action@"));
  expect(String(nix?.with?.extra_nix_config)).toMatch(/system-features = .*\bkvm\b/);
  expect(String(nix?.with?.extra_nix_config)).toMatch(/\bnixos-test\b/);
});

it("runs init -backend=false and validate with terraform and OpenTofu on every synthesized stack", () => {
  const job = workflow.jobs["terraform-validate"];
  expect(job.needs).toEqual(["descriptions", "synth"]);
  expect(job.strategy?.matrix).toEqual({ cluster: "${{ fromJSON(needs.descriptions.outputs.clusters) }}", tool: ["terraform", "tofu"] });
  expect(job.steps.find((s) => s.uses?.startsWith("actions/download-artifact@"))?.with).toEqual({ name: "synth-${{ matrix.cluster }}", path: "cdktf.out" });
  expect(job.steps.map((s) => s.uses).filter(Boolean)).toEqual(expect.arrayContaining([expect.stringMatching(/^hashicorp\/setup-terraform@/), expect.stringMatching(/^opentofu\/setup-opentofu@/)]));
  expect(runs(job)).toContain("for stack in \"${stacks[@]}\"");
  expect(runs(job)).toContain('"$TOOL" init -backend=false -input=false');
  expect(runs(job)).toContain('"$TOOL" validate');
  // The synth job uploads exactly what this job downloads.
  const upload = workflow.jobs.synth.steps.find((s) => s.uses?.startsWith("actions/upload-artifact@") && s.with?.path === "cdktf.out/");
  expect(upload?.with?.name).toBe("synth-${{ matrix.cluster }}");
});
