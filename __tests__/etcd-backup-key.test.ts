/**
 * scripts/etcd-backup-key.sh: places the GCP backup uploader's key (the compute stack's sensitive output) on every
 * etcd member and nowhere else: 0600 in a 0700 directory, never written or printed on the operator's machine;
 * refuses another cluster's synthesis and a cluster without a backup bucket. Stand-ins: terraform (the output)
 * and ssh (runs the command with the member's own /var/lib, a directory of this test bind-mounted there in a
 * private mount namespace). Needs root (mount namespaces) and nix-instantiate.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { writeClusterNixFiles } from "../src/nix/emit";
import { ETCD_BACKUP_WRITER_KEY } from "../src/nix/host-file";
import { changed, planFromObject } from "./helpers/descriptions";
import { synthGcp } from "./helpers/gcp-synth";
import { REPO } from "./nix/eval";

const root_ = typeof process.getuid === "function" && process.getuid() === 0;
const nix = spawnSync("sh", ["-c", "command -v nix-instantiate && command -v unshare"]).status === 0;
const describeRoot = root_ && nix ? describe : describe.skip;
if (!(root_ && nix)) console.warn("skipping the etcd backup key test: needs root, unshare and nix-instantiate");

const KEY_JSON = JSON.stringify({ type: "service_account", client_email: "gcp-etcd-backup@p.iam.gserviceaccount.com", private_key: "-----BEGIN PRIVATE KEY-----\nTESTKEYMATERIAL\n-----END PRIVATE KEY-----\n" });

const SHIMS: Readonly<Record<string, string>> = {
  terraform: `printf '%s\\n' "$*" >>"$CALLS"
case "$1" in
init) exit 0 ;;
output) [ "$2 $3" = "-raw etcd_backup_writer_key" ] && printf '%s' "$KEY_B64" ;;
esac`,
  // ssh [-o opt]... user@address command: the command as if on that host (its /var/lib is roots/<address>).
  ssh: `while [ $# -gt 0 ]; do case $1 in -o|-p|-i|-l|-F|-J) shift 2 ;; -*) shift ;; *) break ;; esac; done
address=\${1#*@}
shift
printf 'ssh %s\\n' "$address" >>"$CALLS"
mkdir -p "$ROOTS/$address"
exec unshare -m sh -c 'mount --bind "$1" /var/lib && shift && exec sh -c "$*"' sh "$ROOTS/$address" "$@"`,
};

describeRoot("scripts/etcd-backup-key.sh", () => {
  let root: string;
  const plan: ClusterPlan = planFromObject(changed("clusters/gcp.yaml", (d) => (d.backup = { bucket: "acme-etcd-backups" })), "clusters/gcp.yaml");
  const addressOf = (i: number) => `192.0.2.${10 + i}`;

  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "etcd-backup-key-"));
    mkdirSync(path.join(root, "scripts"));
    cpSync(path.join(REPO, "scripts/etcd-backup-key.sh"), path.join(root, "scripts/etcd-backup-key.sh"));
    cpSync(path.join(REPO, "scripts/lib"), path.join(root, "scripts/lib"), { recursive: true });
    writeClusterNixFiles(path.join(root, "nixos"), plan);
    const outputs = Object.fromEntries(plan.hosts.map((h, i) => [h.name, { address: h.address, external_address: addressOf(i), ssh_address: addressOf(i), roles: h.roles }]));
    writeFileSync(path.join(root, "nixos/clusters/gcp/outputs.json"), JSON.stringify(outputs));
    mkdirSync(path.join(root, "cdktf.out/stacks/compute"), { recursive: true });
    writeFileSync(path.join(root, "cdktf.out/stacks/compute/cdk.tf.json"), JSON.stringify(synthGcp(plan).compute));
    mkdirSync(path.join(root, "bin"));
    for (const [name, body] of Object.entries(SHIMS)) {
      writeFileSync(path.join(root, "bin", name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(path.join(root, "bin", name), 0o755);
    }
    mkdirSync(path.join(root, "roots"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  function run(cluster = "gcp") {
    const r = spawnSync(path.join(root, "scripts/etcd-backup-key.sh"), [cluster], {
      cwd: root,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        ...process.env,
        PATH: `${path.join(root, "bin")}:${process.env.PATH ?? ""}`,
        NIX_PATH: "",
        CALLS: path.join(root, "calls"),
        ROOTS: path.join(root, "roots"),
        KEY_B64: Buffer.from(KEY_JSON).toString("base64"),
      },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Every file under dir whose content holds the key material. */
  function filesWithKey(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name))
      .filter((f) => readFileSync(f, "utf8").includes("TESTKEYMATERIAL"));
  }

  it("writes the key 0600 in a root-only directory on every etcd member, and nowhere else", () => {
    const r = run();
    expect(r.stderr).toContain("placed the backup uploader's key on etcd-3");
    expect(r.status).toBe(0);
    const relative = path.relative("/var/lib", ETCD_BACKUP_WRITER_KEY);
    plan.hosts.forEach((host, i) => {
      const file = path.join(root, "roots", addressOf(i), relative);
      expect({ host: host.name, placed: existsSync(file) }).toEqual({ host: host.name, placed: host.runsEtcd });
      if (!host.runsEtcd) return;
      expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(JSON.parse(KEY_JSON));
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    });
    // Never on the operator's side: not in its output, not in any file outside the members' own trees.
    expect(r.stdout + r.stderr).not.toContain("TESTKEYMATERIAL");
    const local = filesWithKey(root).filter((f) => !f.startsWith(path.join(root, "roots") + path.sep));
    expect(local).toEqual([]);
  });

  it("refuses another cluster's synthesis, and a cluster without a backup bucket", () => {
    const stack = path.join(root, "cdktf.out/stacks/compute/cdk.tf.json");
    const other = planFromObject(changed("clusters/gcp.yaml", (d) => ((d.name = "prod"), (d.backup = { bucket: "acme-etcd-backups" }))), "clusters/prod.yaml");
    writeFileSync(stack, JSON.stringify(synthGcp(other).compute));
    const wrong = run();
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("cdktf.out holds another cluster's synthesis");
    expect(wrong.stderr).toContain("CLUSTER_CONFIG=clusters/gcp.yaml npx cdktf synth");

    const plain = planFromObject(changed("clusters/gcp.yaml", () => undefined), "clusters/gcp.yaml");
    writeFileSync(stack, JSON.stringify(synthGcp(plain).compute));
    const none = run();
    expect(none.status).toBe(1);
    expect(none.stderr).toContain("cluster gcp has no backup uploader: set backup.bucket in its description");
    expect(readdirSync(path.join(root, "roots"))).toEqual([]);
  });
});
