/**
 * scripts/etcd-move-data.sh's order of work, with stand-in `ssh` and deploy script (the hosts are simulated): one
 * member at a time, each checked healthy before it is touched, moved, checked, deployed and checked again before the
 * next; it stops at the first member that does not become healthy and names it. Host facts come from the committed
 * host files of clusters/local.yaml (nix-instantiate). The on-host part (format, copy, mount) uses the same rules as
 * nixos/modules/etcd-data/format.sh, tested for real in etcd-data-scripts.test.ts.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { haveCommand } from "./helpers/netns";

const REPO = path.resolve(__dirname, "..");
const SCRIPT = path.join(REPO, "scripts/etcd-move-data.sh");
const temp = mkdtempSync(path.join(os.tmpdir(), "etcd-move-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

// The stand-in ssh: logs "<address> <what>", answers health checks from marker files, and "moves" (records) data.
const SSH = `#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in -o) shift 2 ;; *) break ;; esac; done
target=$1; shift
address=\${target#*@}
command="$*"
cat >/dev/null
case "$command" in
*"sh -s -- etcd-member"*|*"sh -s -- etcd-cluster"*)
  check=$(printf '%s' "$command" | sed 's/.*sh -s -- \\([a-z-]*\\).*/\\1/')
  echo "$address health $check" >>"$STATE/log"
  if [ -e "$STATE/unhealthy-$address" ]; then echo "$check: not healthy"; exit 1; fi
  echo "$check: healthy"; exit 0 ;;
*"sh -s -- /dev/disk/by-id/"*)
  echo "$address move $(printf '%s' "$command" | sed 's/.*sh -s -- \\([^ ]*\\) \\([^ ]*\\).*/\\1 \\2/')" >>"$STATE/log"
  [ -e "$STATE/break-on-move-$address" ] && touch "$STATE/unhealthy-$address"
  exit 0 ;;
esac
echo "unexpected ssh command: $command" >&2; exit 97
`;
const DEPLOY = `#!/bin/sh
echo "deploy $*" >>"$STATE/log"
`;

function setup(name: string): string {
  const state = path.join(temp, name);
  mkdirSync(path.join(state, "bin"), { recursive: true });
  writeFileSync(path.join(state, "bin", "ssh"), SSH);
  writeFileSync(path.join(state, "deploy"), DEPLOY);
  chmodSync(path.join(state, "bin", "ssh"), 0o755);
  chmodSync(path.join(state, "deploy"), 0o755);
  writeFileSync(path.join(state, "log"), "");
  return state;
}

function move(state: string, args: string[]) {
  const r = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    env: { PATH: `${path.join(state, "bin")}:${process.env.PATH}`, STATE: state, DEPLOY_SCRIPT: path.join(state, "deploy"), TIMEOUT: "1", HOME: process.env.HOME ?? "/tmp" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, log: readFileSync(path.join(state, "log"), "utf8").trim().split("\n").filter(Boolean) };
}

const ready = haveCommand("nix-instantiate") && haveCommand("jq");
if (!ready) console.warn("etcd-move-data tests skipped: needs nix-instantiate and jq");

(ready ? describe : describe.skip)("scripts/etcd-move-data.sh", () => {
  it("moves the named members one after the other: healthy first, move, healthy, deploy, healthy, then the next", () => {
    const state = setup("in-order");
    const r = move(state, ["local", "etcd-1", "etcd-2"]);
    // Nix's own warning on machines without a nixbld group is not the script's.
    const stderr = r.stderr.split("\n").filter((l) => l !== "" && !l.includes("build-users-group"));
    expect({ status: r.status, stderr }).toEqual({ status: 0, stderr: [] });
    const perMember = (address: string, host: string) => [
      `${address} health etcd-cluster`,
      `${address} move /dev/disk/by-id/virtio-etcd-data etcd-data`,
      `${address} health etcd-member`,
      `${address} health etcd-cluster`,
      `deploy local ${host}`,
      `${address} health etcd-member`,
      `${address} health etcd-cluster`,
    ];
    expect(r.log).toEqual([...perMember("10.240.0.10", "etcd-1"), ...perMember("10.240.0.11", "etcd-2")]);
    expect(r.stdout).toContain("etcd-move-data: etcd-2: done");
  });

  it("stops at the first member that does not become healthy after its move, names it, and touches no other", () => {
    const state = setup("unhealthy-after");
    writeFileSync(path.join(state, "break-on-move-10.240.0.10"), "");
    const r = move(state, ["local", "etcd-1", "etcd-2"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("etcd-move-data: etcd-1 did not become healthy within 1s (etcd-member: not healthy); stopping here. Members after it were not touched");
    expect(r.log.filter((l) => l.includes("move"))).toEqual(["10.240.0.10 move /dev/disk/by-id/virtio-etcd-data etcd-data"]);
    expect(r.log.filter((l) => l.startsWith("deploy"))).toEqual([]);
    expect(r.log.some((l) => l.startsWith("10.240.0.11"))).toBe(false);
  });

  it("changes nothing when the cluster is not healthy to begin with", () => {
    const state = setup("unhealthy-before");
    writeFileSync(path.join(state, "unhealthy-10.240.0.10"), "");
    const r = move(state, ["local", "etcd-1"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the cluster is not healthy before moving etcd-1 (etcd-cluster: not healthy); nothing was changed");
    expect(r.log).toEqual(["10.240.0.10 health etcd-cluster"]);
  });

  it("refuses a host that runs no etcd member, and an unknown host, before connecting anywhere", () => {
    const state = setup("not-a-member");
    expect(move(state, ["local", "cp-1"]).stderr).toContain("etcd-move-data: cp-1 runs no etcd member");
    expect(move(state, ["local", "etcd-9"]).stderr).toContain('cluster local has no host "etcd-9"');
    expect(readFileSync(path.join(state, "log"), "utf8")).toBe("");
    expect(existsSync(SCRIPT)).toBe(true);
  });
});
