/**
 * Backups and restore against a real 3-member etcd (TLS, at the planned addresses 10.240.0.10-12 in network
 * namespaces, each member with its own files at one common path):
 * - scripts/lib/etcd-snapshot.sh, the very file the NixOS backup timer runs, snapshots the running cluster with
 *   data written through the etcd API: complete, checked (status file), 0600 in a 0700 directory, keeping N;
 * - scripts/etcd-pull-snapshot.sh copies the newest one off a member (stand-in ssh into the member's namespace);
 * - scripts/etcd-restore.sh brings all three members back from it: API servers stopped first (stand-in
 *   systemctl records them; etcd's start/stop is real), every member restored as itself into a new cluster,
 *   all healthy, the data and the revision those of the snapshot, and the previous data kept.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { copyClusterFiles, EtcdLab, etcdLabUnavailable, issue, makeCa } from "./helpers/etcd-lab";
import { REPO } from "./nix/eval";

const unavailable = etcdLabUnavailable() || (spawnSync("sh", ["-c", "command -v nix-instantiate"]).status === 0 ? "" : "nix-instantiate is not installed");
const describeLab = unavailable ? describe.skip : describe;
if (unavailable) console.warn(`skipping the etcd backup/restore test: ${unavailable}`);

const MEMBERS = [
  { name: "etcd-1", address: "10.240.0.10" },
  { name: "etcd-2", address: "10.240.0.11" },
  { name: "etcd-3", address: "10.240.0.12" },
];
const API_HOSTS = [
  { name: "cp-1", address: "10.240.0.20" },
  { name: "cp-2", address: "10.240.0.21" },
  { name: "cp-3", address: "10.240.0.22" },
];

const RECORD = 'printf "%s" "$(basename "$0")" >>"$CALLS"; printf "\\t%s" "${LAB_HOST:-here}" "$@" >>"$CALLS"; echo >>"$CALLS"';
const SHIMS: Readonly<Record<string, string>> = {
  ssh: `${RECORD}
while [ $# -gt 0 ]; do case $1 in -o|-p|-i|-l|-F|-J) shift 2 ;; -*) shift ;; *) break ;; esac; done
address=\${1#*@}
shift
name=$(awk -v a="$address" '$1 == a {print $3}' "$LAB_HOSTS")
[ -n "$name" ] || { echo "ssh: connect to host $address port 22: No route to host" >&2; exit 255; }
LAB_HOST=$name exec "$IN_HOST" "$name" sh -c "$*"`,
  // systemd on the hosts: etcd is the real member (member.sh); the control-plane units are only recorded.
  systemctl: `${RECORD}
case "$1" in
stop | start)
  for unit in "$@"; do [ "$unit" != etcd ] || "$MEMBER" "$1" "$LAB_HOST"; done ;;
is-active)
  pid=$(cat "$LAB_DIR/members/$LAB_HOST/pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null ;;
esac`,
};

describeLab("etcd backups and restore with a real etcd cluster", () => {
  let root: string;
  let etcd: EtcdLab;
  let callsFile: string;
  let env: NodeJS.ProcessEnv;
  const backupDir = () => path.join(etcd.hostPath, "var/backups/etcd");

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "etcd-backup-"));
    mkdirSync(path.join(root, "scripts"), { recursive: true });
    for (const f of ["etcd-restore.sh", "etcd-pull-snapshot.sh", "lib"]) cpSync(path.join(REPO, "scripts", f), path.join(root, "scripts", f), { recursive: true });
    copyClusterFiles(REPO, root, "local");
    etcd = new EtcdLab(root, MEMBERS, "eb");
    makeCa(path.join(root, "pki"), "kubernetes-ca");
    issue(path.join(root, "pki"), "apiserver", "kube-apiserver", ["IP:127.0.0.1"], "serverAuth");
    mkdirSync(path.join(root, "www"));
    writeFileSync(path.join(root, "www/readyz"), "ok");
    for (const h of API_HOSTS) {
      etcd.addHost(h.name, h.address);
      etcd.lab.spawn(h.name, [
        "sh",
        "-c",
        `cd ${root}/www && exec openssl s_server -quiet -WWW -accept 127.0.0.1:6443 -cert ${root}/pki/apiserver.crt -key ${root}/pki/apiserver.key`,
      ]);
    }
    mkdirSync(path.join(root, "bin"));
    for (const [name, body] of Object.entries(SHIMS)) {
      writeFileSync(path.join(root, "bin", name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(path.join(root, "bin", name), 0o755);
    }
    callsFile = path.join(root, "calls");
    env = {
      ...process.env,
      PATH: `${path.join(root, "bin")}:${process.env.PATH ?? ""}`,
      NIX_PATH: "",
      CALLS: callsFile,
      MEMBER: etcd.memberScript,
      LAB_DIR: root,
      LAB_HOSTS: path.join(root, "hosts"),
      IN_HOST: etcd.inHostScript,
      HEALTH_INTERVAL: "1",
      HEALTH_TIMEOUT: "60",
      ETCD_DATA_DIR: etcd.dataDir,
      ETCD_RESTORE_DIR: path.join(etcd.hostPath, "var/lib/etcd-restore"),
      ETCD_BACKUP_DIR: path.join(etcd.hostPath, "var/backups/etcd"),
    };
    for (const m of MEMBERS) etcd.start(m.name);
    if (!(await etcd.waitHealthy(60))) throw new Error(`etcd did not start: ${readFileSync(path.join(root, "members/etcd-1/log"), "utf8").slice(-2000)}`);
  }, 180_000);

  afterAll(async () => {
    await etcd?.cleanup();
    if (root && !process.env.KEEP_LAB) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  const put = (key: string, value: string) => expect(etcd.etcdctl("etcd-2", ["put", key, value]).status).toBe(0);
  const get = (key: string): string => etcd.etcdctl("etcd-3", ["get", key, "--print-value-only"]).stdout.trim();
  const revision = (member: string): number => JSON.parse(etcd.etcdctl(member, ["get", "/", "--prefix", "--keys-only", "--write-out=json"]).stdout).header.revision;
  const clusterId = (member: string): string => JSON.parse(etcd.etcdctl(member, ["endpoint", "status", "--write-out=json"]).stdout)[0].Status.header.cluster_id;

  /** Runs the project's snapshot script on a member, with the environment the NixOS module gives it. */
  function snapshot(member: string, keep: number) {
    const r = spawnSync(
      etcd.inHostScript,
      [
        member,
        "env",
        `ETCDCTL_ENDPOINTS=https://127.0.0.1:2379`,
        `ETCDCTL_CACERT=${path.join(etcd.pkiDir, "ca.crt")}`,
        `ETCDCTL_CERT=${path.join(etcd.pkiDir, "healthcheck-client.crt")}`,
        `ETCDCTL_KEY=${path.join(etcd.pkiDir, "healthcheck-client.key")}`,
        `ETCD_BACKUP_DIR=${backupDir()}`,
        `ETCD_BACKUP_KEEP=${keep}`,
        `ETCD_BACKUP_NAME=${member}`,
        "sh",
        path.join(REPO, "scripts/lib/etcd-snapshot.sh"),
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it("snapshots, restores the whole cluster from the pulled snapshot, and checks health, data and revision", async () => {
    // Data written through the etcd API before the snapshot.
    for (let i = 0; i < 50; i++) put(`/registry/configmaps/default/cm-${i}`, `value-${i}`);
    put("/registry/secrets/default/kept", "before");
    const ownBackups = () => readdirSync(etcd.onHost("etcd-1", backupDir())).filter((f) => f.endsWith(".db")).sort();

    // Three runs keeping two: the oldest is removed; each kept one is complete, checked, 0600, in a 0700 dir.
    for (let run = 0; run < 3; run++) {
      if (run > 0) await new Promise((resolve) => setTimeout(resolve, 1100)); // names have a one-second resolution
      const r = snapshot("etcd-1", 2);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    }
    const kept = ownBackups();
    expect(kept).toHaveLength(2);
    for (const f of kept) expect(f).toMatch(/^etcd-1-\d{8}T\d{6}Z\.db$/);
    expect(statSync(etcd.onHost("etcd-1", backupDir())).mode & 0o777).toBe(0o700);
    const newest = kept[1];
    expect(statSync(etcd.onHost("etcd-1", path.join(backupDir(), newest))).mode & 0o777).toBe(0o600);
    const status = JSON.parse(readFileSync(etcd.onHost("etcd-1", path.join(backupDir(), `${newest}.status.json`)), "utf8"));
    const snapshotRevision: number = status.revision;
    expect(snapshotRevision).toBe(revision("etcd-1"));
    expect(status.totalKey).toBeGreaterThanOrEqual(51);
    expect(readdirSync(etcd.onHost("etcd-1", backupDir())).filter((f) => f.startsWith("."))).toEqual([]);

    // After the snapshot: a new key, a changed one, a deleted one; the restore must undo all three.
    put("/registry/configmaps/default/after", "later");
    put("/registry/secrets/default/kept", "changed");
    expect(etcd.etcdctl("etcd-1", ["del", "/registry/configmaps/default/cm-7"]).status).toBe(0);
    const idBefore = clusterId("etcd-1");

    // Pull it off the member (as an operator would on libvirt).
    const pulled = spawnSync(path.join(root, "scripts/etcd-pull-snapshot.sh"), ["local", "etcd-1"], { cwd: root, env, encoding: "utf8", timeout: 60_000 });
    expect(pulled.status).toBe(0);
    const localCopy = path.join(root, pulled.stdout.trim());
    expect(path.relative(root, localCopy)).toBe(`secrets/local/etcd-snapshots/${newest}`);
    expect(readFileSync(localCopy)).toEqual(readFileSync(etcd.onHost("etcd-1", path.join(backupDir(), newest))));
    expect(statSync(localCopy).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(localCopy)).mode & 0o777).toBe(0o700);

    // Restore all three members from it.
    rmSync(callsFile, { force: true });
    const restored = spawnSync(path.join(root, "scripts/etcd-restore.sh"), ["--yes", "local", localCopy], { cwd: root, env, encoding: "utf8", timeout: 240_000 });
    expect(restored.stderr).toContain("cluster local restored from");
    expect(restored.status).toBe(0);

    // Order: every API server stopped before any etcd member; etcd started before the API servers again.
    const calls = readFileSync(callsFile, "utf8").split("\n").filter((l) => l.startsWith("systemctl\t")).map((l) => l.split("\t").slice(1).join(" "));
    const first = (text: string) => calls.findIndex((c) => c.includes(text));
    const last = (text: string) => calls.map((c) => c.includes(text)).lastIndexOf(true);
    for (const cp of API_HOSTS) expect(calls).toContain(`${cp.name} stop kube-apiserver kube-controller-manager kube-scheduler`);
    expect(last("stop kube-apiserver")).toBeLessThan(first("stop etcd"));
    expect(last("start --no-block etcd")).toBeLessThan(first("start kube-apiserver"));
    expect(calls.filter((c) => c.endsWith("stop etcd")).map((c) => c.split(" ")[0])).toEqual(["etcd-1", "etcd-2", "etcd-3"]);

    // Healthy, one new cluster of the same three members, the snapshot's data and revision.
    expect(await etcd.waitHealthy(30)).toBe(true);
    const members = JSON.parse(etcd.etcdctl("etcd-2", ["member", "list", "--write-out=json"]).stdout).members;
    expect(members.map((m: { name: string; peerURLs: string[] }) => `${m.name} ${m.peerURLs.join(",")}`).sort()).toEqual(
      MEMBERS.map((m) => `${m.name} https://${m.address}:2380`),
    );
    expect(clusterId("etcd-1")).not.toBe(idBefore);
    expect(get("/registry/secrets/default/kept")).toBe("before");
    expect(get("/registry/configmaps/default/cm-7")).toBe("value-7");
    expect(get("/registry/configmaps/default/after")).toBe("");
    expect(JSON.parse(etcd.etcdctl("etcd-1", ["get", "/registry/configmaps/", "--prefix", "--keys-only", "--write-out=json"]).stdout).count).toBe(50);
    // etcd 3.4's etcdctl cannot bump revisions (the script says so); with etcdutl that can, they move forward.
    const bumped = restored.stderr.includes("revisions bumped by 1000000000");
    for (const m of MEMBERS) {
      if (bumped) expect(revision(m.name)).toBeGreaterThanOrEqual(snapshotRevision + 1000000000);
      else expect(revision(m.name)).toBe(snapshotRevision);
    }
    if (!bumped) expect(restored.stderr).toContain("cannot bump revisions");
    // The previous data stays on every member.
    for (const m of MEMBERS) {
      expect(readdirSync(etcd.onHost(m.name, etcd.dataDir)).filter((f) => f.startsWith("member.before-restore-"))).toHaveLength(1);
      expect(existsSync(etcd.onHost(m.name, path.join(etcd.hostPath, "var/lib/etcd-restore/snapshot.db")))).toBe(false);
    }
    // Writes work again.
    put("/registry/configmaps/default/after-restore", "ok");
    expect(get("/registry/configmaps/default/after-restore")).toBe("ok");
  }, 300_000);

  it("refuses a file that is not a snapshot before stopping anything", () => {
    const bogus = path.join(root, "not-a-snapshot.db");
    writeFileSync(bogus, "garbage");
    rmSync(callsFile, { force: true });
    const r = spawnSync(path.join(root, "scripts/etcd-restore.sh"), ["--yes", "local", bogus], { cwd: root, env, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("is not a valid snapshot");
    expect(existsSync(callsFile) ? readFileSync(callsFile, "utf8") : "").not.toContain("systemctl");
  });
});
