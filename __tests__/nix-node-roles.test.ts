/**
 * k8s-node-roles (nixos/modules/node-roles.nix): its script, as the module renders it for a control-plane host of
 * clusters/local.yaml, run for real with bash and jq against a stand-in kubectl (__tests__/nix/fake-kubectl.sh, nodes
 * in a JSON file). It labels its own node node-role.kubernetes.io/control-plane="", removes exactly the stale
 * taint unschedulable=true:NoSchedule from every node (leaving other taints, also ones with the same key but another
 * value, and the positions of the rest), does that once (stamp in its state directory), and fails (so systemd
 * restarts it) when a node's taints changed between listing and patching.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { evalJson, nixPathLiteral, REPO } from "./nix/eval";

const WALKER = path.join(REPO, "__tests__/nix/module-option-paths.nix");
const HOST_FILE = path.join(REPO, "nixos/clusters/local/hosts/cp-1.nix");

function renderedScript(): string {
  const result = evalJson<{ collected: Record<string, string[]> }>(
    `import ${nixPathLiteral(WALKER)} { modules = [ ${nixPathLiteral(path.join(REPO, "nixos/modules/node-roles.nix"))} ]; hostFile = import ${nixPathLiteral(HOST_FILE)}; collect = [ "systemd.services.<name>.script" ]; }`,
  );
  const scripts = result.collected["systemd.services.<name>.script"];
  expect(scripts).toHaveLength(1);
  return scripts[0];
}

const CP_TAINT = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };
const STALE = { key: "unschedulable", value: "true", effect: "NoSchedule" };
interface Node {
  metadata: { name: string; labels: Record<string, string> };
  spec: { taints: object[] };
}
const node = (name: string, taints: object[]): Node => ({ metadata: { name, labels: { "kubernetes.io/hostname": name } }, spec: { taints } });

let work: string;
let env: NodeJS.ProcessEnv;
let script: string;
beforeAll(() => {
  script = renderedScript();
});
beforeEach(() => {
  work = mkdtempSync(path.join(tmpdir(), "node-roles-"));
  const bin = path.join(work, "bin");
  mkdirSync(bin);
  copyFileSync(path.join(REPO, "__tests__/nix/fake-kubectl.sh"), path.join(bin, "kubectl"));
  chmodSync(path.join(bin, "kubectl"), 0o755);
  mkdirSync(path.join(work, "state"));
  writeFileSync(path.join(work, "script.sh"), script);
  env = { PATH: `${bin}:${process.env.PATH}`, FAKE_NODES: path.join(work, "nodes.json"), FAKE_LOG: path.join(work, "calls.log"), STATE_DIRECTORY: path.join(work, "state") };
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const writeNodes = (items: object[]) => writeFileSync(env.FAKE_NODES!, JSON.stringify({ items }));
const readNodes = () => JSON.parse(readFileSync(env.FAKE_NODES!, "utf8")).items as Node[];
// As NixOS runs a unit's script: bash with errexit (the script adds nounset and pipefail).
const run = () => spawnSync("bash", ["-e", path.join(work, "script.sh")], { env, encoding: "utf8", timeout: 20_000 });

it("labels its node and removes exactly the stale taint from every node, keeping the others", () => {
  const other = { key: "dedicated", value: "gpu", effect: "NoExecute" };
  const sameKey = { key: "unschedulable", value: "false", effect: "NoSchedule" };
  writeNodes([
    node("cp-1", [CP_TAINT, STALE]),
    node("cp-2", [STALE, CP_TAINT]),
    node("worker-1", [STALE]),
    node("worker-2", [STALE, other, STALE]),
    node("worker-3", [sameKey]),
    node("worker-4", []),
  ]);
  const result = run();
  expect({ status: result.status, stderr: result.stderr }).toMatchObject({ status: 0 });
  const byName = Object.fromEntries(readNodes().map((n) => [n.metadata.name, n]));
  expect(Object.fromEntries(Object.entries(byName).map(([name, n]) => [name, n.spec.taints]))).toEqual({
    "cp-1": [CP_TAINT],
    "cp-2": [CP_TAINT],
    "worker-1": [],
    "worker-2": [other],
    "worker-3": [sameKey],
    "worker-4": [],
  });
  // Only its own node gets the label (every control-plane host labels itself).
  expect(Object.entries(byName).filter(([, n]) => "node-role.kubernetes.io/control-plane" in n.metadata.labels).map(([name]) => name)).toEqual(["cp-1"]);
  expect(byName["cp-1"].metadata.labels["node-role.kubernetes.io/control-plane"]).toBe("");
  expect(result.stderr).toContain("removing the stale taint unschedulable=true:NoSchedule from node worker-2");
  expect(existsSync(path.join(work, "state/stale-unschedulable-taint-removed"))).toBe(true);
});

it("removes the stale taint only once per host: a later taint of that name is left alone", () => {
  writeNodes([node("cp-1", [CP_TAINT]), node("worker-1", [STALE])]);
  expect(run().status).toBe(0);
  writeNodes([node("cp-1", [CP_TAINT]), node("worker-1", [STALE])]);
  expect(run().status).toBe(0);
  expect(readNodes().find((n) => n.metadata.name === "worker-1")!.spec.taints).toEqual([STALE]);
  expect(readFileSync(env.FAKE_LOG!, "utf8").split("\n").filter((l) => l.includes("get nodes"))).toHaveLength(1);
});

it("fails without writing the stamp when a node's taints changed under it, so the restarted unit starts over", () => {
  writeNodes([node("cp-1", [CP_TAINT]), node("worker-1", [STALE])]);
  // A kubectl whose `get` reports the stale taint at index 0 of a node where index 0 now holds another taint.
  const bin = path.join(work, "bin", "kubectl");
  writeFileSync(
    bin,
    `#!/usr/bin/env bash\nif [ "$1 $2" = "get nodes" ]; then echo '${JSON.stringify({ items: [node("cp-1", [CP_TAINT]), node("worker-1", [STALE])] })}'; exit 0; fi\nexec ${path.join(REPO, "__tests__/nix/fake-kubectl.sh")} "$@"\n`,
  );
  writeNodes([node("cp-1", [CP_TAINT]), node("worker-1", [{ key: "dedicated", value: "x", effect: "NoSchedule" }, STALE])]);
  const result = run();
  expect(result.status).not.toBe(0);
  expect(result.stderr).toContain("the JSON patch test failed");
  expect(existsSync(path.join(work, "state/stale-unschedulable-taint-removed"))).toBe(false);
});
