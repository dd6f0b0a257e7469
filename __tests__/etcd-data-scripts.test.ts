/**
 * The guest-side scripts of etcd's data disk (nixos/modules/etcd-data/), run for real:
 *   - format.sh formats a blank device only, never one with a file system or any other content, and never when
 *     the mount point on the root disk holds files (a regular file stands in for the disk: blkid and mkfs.ext4
 *     work on files);
 *   - check.sh refuses to start etcd off its data disk, and refuses a member whose data is gone, known from the
 *     marker on the root disk or from a real 3-member etcd cluster (Debian etcd-server, in network namespaces)
 *     that lists it as started; a member added by the replace procedure (etcdctl member add) may start.
 * The data directory is "mounted" as a tmpfs whose source names the stand-in device, in a private mount
 * namespace (unshare -m), so findmnt reports what it reports on a host.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { issue, makeCa } from "./helpers/etcd-lab";
import { haveCommand, NetnsLab, netnsLabAvailable } from "./helpers/netns";

jest.setTimeout(120_000);

const REPO = path.resolve(__dirname, "..");
const FORMAT = path.join(REPO, "nixos/modules/etcd-data/format.sh");
const CHECK = path.join(REPO, "nixos/modules/etcd-data/check.sh");
const temp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "etcd-data-")));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
const blkid = (dev: string, tag: string) => spawnSync("blkid", ["-p", "-o", "value", "-s", tag, dev], { encoding: "utf8" }).stdout.trim();

let cases = 0;
function fixture(): { dev: string; dir: string } {
  const base = path.join(temp, `case-${cases++}`);
  mkdirSync(path.join(base, "mnt"), { recursive: true });
  const dev = path.join(base, "disk.img");
  writeFileSync(dev, Buffer.alloc(0));
  execFileSync("truncate", ["-s", "64M", dev]);
  return { dev, dir: path.join(base, "mnt") };
}

function format(dev: string, dir: string) {
  const r = spawnSync("sh", [FORMAT], { encoding: "utf8", env: { PATH: process.env.PATH, ETCD_DATA_DEVICE: dev, ETCD_DATA_DIR: dir, ETCD_DATA_LABEL: "etcd-data" } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const formatTools = haveCommand("blkid") && haveCommand("mkfs.ext4") && haveCommand("mountpoint");
(formatTools ? describe : describe.skip)("format.sh (needs util-linux and e2fsprogs)", () => {
  it("formats a blank device once, with the label, and leaves it alone on every later run", () => {
    const { dev, dir } = fixture();
    const first = format(dev, dir);
    expect(first).toEqual({ status: 0, out: expect.stringContaining("is blank; creating its ext4 file system (label etcd-data)") });
    expect([blkid(dev, "TYPE"), blkid(dev, "LABEL")]).toEqual(["ext4", "etcd-data"]);
    const formatted = sha(dev);
    expect(format(dev, dir)).toEqual({ status: 0, out: expect.stringContaining("has a file system or other signature; not formatting it") });
    expect(sha(dev)).toBe(formatted);
  });

  it("never formats a device with another file system on it", () => {
    const { dev, dir } = fixture();
    execFileSync("mkfs.ext4", ["-q", "-F", "-L", "precious", dev]);
    const before = sha(dev);
    expect(format(dev, dir).status).toBe(0);
    expect([sha(dev), blkid(dev, "LABEL")]).toEqual([before, "precious"]);
  });

  it("refuses a device with content blkid does not recognize", () => {
    const { dev, dir } = fixture();
    writeFileSync(dev, Buffer.from("not a file system, but data all the same"), { flag: "r+" });
    const before = sha(dev);
    expect(format(dev, dir)).toEqual({ status: 1, out: expect.stringContaining("its first MiB is not blank; refusing to format it") });
    expect(sha(dev)).toBe(before);
  });

  it("refuses when the mount point on the root disk holds files (never mounts empty over existing data)", () => {
    const { dev, dir } = fixture();
    mkdirSync(path.join(dir, "member"));
    const r = format(dev, dir);
    expect(r.status).toBe(1);
    expect(r.out).toContain("holds files (etcd data from before the data disk?); refusing to mount");
    expect(r.out).toContain("scripts/etcd-move-data.sh");
    expect(blkid(dev, "TYPE")).toBe("");
  });

  it("refuses when the disk is not there", () => {
    const { dir } = fixture();
    expect(format(path.join(temp, "no-such-disk"), dir)).toEqual({ status: 1, out: expect.stringContaining("does not exist; is the data disk attached?") });
  });
});

// --- check.sh --------------------------------------------------------------------------------------------------

const lab = netnsLabAvailable();
const checkTools = lab.ok && haveCommand("etcd") && haveCommand("etcdctl") && haveCommand("openssl") && haveCommand("unshare") && haveCommand("findmnt");
const skipReason = !lab.ok ? lab.reason : "needs etcd, etcdctl, openssl, unshare and findmnt (etcd-server, etcd-client, openssl, util-linux)";
if (!checkTools) console.warn(`check.sh tests skipped: ${skipReason}`);

const MEMBERS = [
  { name: "etcd-1", address: "10.240.0.10" },
  { name: "etcd-2", address: "10.240.0.11" },
  { name: "etcd-3", address: "10.240.0.12" },
];
const clientUrl = (a: string) => `https://${a}:2379`;
const peerUrl = (a: string) => `https://${a}:2380`;

(checkTools ? describe : describe.skip)("check.sh with a real 3-member etcd cluster", () => {
  let netns: NetnsLab;
  const spawned = new Map<string, ReturnType<NetnsLab["spawn"]>>();
  let startMember: (m: (typeof MEMBERS)[number]) => void = () => undefined;
  const pki = path.join(temp, "pki");

  function etcdctl(host: string, endpoint: string, ...args: string[]) {
    return netns.exec(host, ["etcdctl", `--endpoints=${endpoint}`, `--cacert=${pki}/ca.crt`, `--cert=${pki}/client.crt`, `--key=${pki}/client.key`, "--dial-timeout=2s", "--command-timeout=5s", ...args]);
  }

  async function waitHealthy(host: string, endpoints: string): Promise<void> {
    for (let i = 0; i < 60; i++) {
      if (etcdctl(host, endpoints, "endpoint", "health").status === 0) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`etcd did not become healthy at ${endpoints}:\n${etcdctl(host, endpoints, "endpoint", "health").stderr}`);
  }

  /** check.sh on `host` as member `member`, data directory "mounted" from `dev` unless `mounted` is false. */
  function check(host: string, member: string, options: { dir: string; dev: string; marker: string; join?: string; peers: string; mounted?: boolean }) {
    const env = [
      `ETCD_DATA_DIR=${options.dir}`,
      `ETCD_DATA_DEVICE=${options.dev}`,
      `ETCD_DATA_MEMBER=${member}`,
      "ETCD_DATA_OWNER=root:root",
      `ETCD_DATA_MARKER=${options.marker}`,
      `ETCD_DATA_IDENTITY=cluster t member ${member}`,
      `ETCD_DATA_JOIN_ENV=${options.join ?? path.join(temp, "no-join.env")}`,
      `ETCD_DATA_PEERS=${options.peers}`,
      `ETCD_DATA_CA=${pki}/ca.crt`,
      `ETCD_DATA_CERT=${pki}/client.crt`,
      `ETCD_DATA_KEY=${pki}/client.key`,
    ];
    const mount = options.mounted === false ? "" : `mount -t tmpfs "$DEV" "$DIR" && { [ -z "$DATA" ] || mkdir "$DIR/member"; } && `;
    const script = `${mount}exec env ${env.map((e) => `'${e}'`).join(" ")} sh ${CHECK}`;
    const r = netns.exec(host, ["unshare", "-m", "--propagation", "private", "env", `DEV=${options.dev}`, `DIR=${options.dir}`, `DATA=${(options as { data?: string }).data ?? ""}`, "sh", "-c", script]);
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  }

  function place(name: string, withMarker: boolean) {
    const base = path.join(temp, `check-${name}`);
    mkdirSync(path.join(base, "data"), { recursive: true });
    const dev = path.join(base, "disk.img");
    writeFileSync(dev, "");
    const marker = path.join(base, "etcd-member");
    if (withMarker) writeFileSync(marker, "cluster t member x\n");
    return { dir: path.join(base, "data"), dev, marker };
  }

  const others = (name: string) => MEMBERS.filter((m) => m.name !== name).map((m) => clientUrl(m.address)).join(",");

  beforeAll(async () => {
    netns = new NetnsLab("t12a");
    makeCa(pki, "etcd-ca");
    issue(pki, "client", "client", [], "clientAuth");
    const initial = MEMBERS.map((m) => `${m.name}=${peerUrl(m.address)}`).join(",");
    for (const m of MEMBERS) {
      netns.addHost(m.name, [`${m.address}/24`]);
      issue(pki, m.name, m.name, [`IP:${m.address}`, "IP:127.0.0.1"], "serverAuth,clientAuth");
    }
    startMember = (m) =>
      spawned.set(m.name, netns.spawn(m.name, [
        "etcd",
        `--name=${m.name}`,
        `--data-dir=${path.join(temp, `etcd-data-${m.name}`)}`,
        `--listen-client-urls=${clientUrl(m.address)}`,
        `--advertise-client-urls=${clientUrl(m.address)}`,
        `--listen-peer-urls=${peerUrl(m.address)}`,
        `--initial-advertise-peer-urls=${peerUrl(m.address)}`,
        `--initial-cluster=${initial}`,
        "--initial-cluster-state=new",
        "--initial-cluster-token=t12a-etcd",
        "--client-cert-auth",
        `--trusted-ca-file=${pki}/ca.crt`,
        `--cert-file=${pki}/${m.name}.crt`,
        `--key-file=${pki}/${m.name}.key`,
        "--peer-client-cert-auth",
        `--peer-trusted-ca-file=${pki}/ca.crt`,
        `--peer-cert-file=${pki}/${m.name}.crt`,
        `--peer-key-file=${pki}/${m.name}.key`,
      ]));
    // A slow first bootstrap: etcd-2 and etcd-3 form the quorum, etcd-1 has not started yet.
    startMember(MEMBERS[1]);
    startMember(MEMBERS[2]);
    await waitHealthy("etcd-2", `${clientUrl("10.240.0.11")},${clientUrl("10.240.0.12")}`);
  });
  afterAll(async () => {
    await netns?.cleanup();
  });

  it("a member of the initial cluster that never started may start empty (a slow first bootstrap), then joins", async () => {
    // etcdctl lists it by name as "started", but with no client URLs: it never published them.
    expect(etcdctl("etcd-2", clientUrl("10.240.0.11"), "member", "list").stdout).toMatch(/, started, etcd-1, https:\/\/10\.240\.0\.10:2380, , false/);
    const r = check("etcd-1", "etcd-1", { ...place("slow-bootstrap", false), peers: others("etcd-1") });
    expect(r).toEqual({ status: 0, out: expect.stringContaining("member etcd-1 has not started before") });
    startMember(MEMBERS[0]);
    await waitHealthy("etcd-1", MEMBERS.map((m) => clientUrl(m.address)).join(","));
  });

  it("refuses to run etcd on a data directory that is not mounted", () => {
    const r = check("etcd-1", "etcd-1", { ...place("unmounted", false), peers: others("etcd-1"), mounted: false });
    expect(r.status).toBe(1);
    expect(r.out).toContain("is not mounted: etcd runs only on its data disk");
  });

  it("with data on the disk: passes and writes the marker on the root disk", () => {
    const where = place("with-data", false);
    const r = check("etcd-1", "etcd-1", { ...where, peers: others("etcd-1"), data: "yes" } as never);
    expect(r.status).toBe(0);
    expect(readFileSync(where.marker, "utf8")).toBe("cluster t member etcd-1\n");
  });

  it("an empty data disk of a member the other members list as started is refused, pointing at the replace procedure", () => {
    expect(etcdctl("etcd-2", clientUrl("10.240.0.11"), "member", "list").stdout).toMatch(/, started, etcd-1, https:\/\/10\.240\.0\.10:2380, https:\/\/10\.240\.0\.10:2379, false/);
    const r = check("etcd-1", "etcd-1", { ...place("lost", false), peers: others("etcd-1") });
    expect(r.status).toBe(1);
    expect(r.out).toContain("the other members list etcd-1 as a member that has started (it published its client URLs): its data is gone");
    expect(r.out).toContain("docs/day-2.md#replace-an-etcd-member (etcdctl member remove, etcdctl member add, then start it with ETCD_INITIAL_CLUSTER_STATE=existing)");
  });

  it("an empty data disk on a host whose root disk says it was a member is refused, also when no other member answers", () => {
    const r = check("etcd-1", "etcd-1", { ...place("marker", true), peers: "" });
    expect(r.status).toBe(1);
    expect(r.out).toContain("this host has been etcd member etcd-1 with data before");
  });

  it("the replace procedure: with the lost member stopped, removed and added again, it may start empty (join file on a host with the marker)", async () => {
    const endpoint = clientUrl("10.240.0.11");
    const line = etcdctl("etcd-2", endpoint, "member", "list").stdout.split("\n").find((l) => l.includes(", etcd-1, "));
    const id = line!.split(",")[0];
    await netns.stop(spawned.get("etcd-1")!);
    const removed = etcdctl("etcd-2", endpoint, "member", "remove", id);
    expect({ status: removed.status, err: removed.stderr }).toEqual({ status: 0, err: "" });
    // etcd accepts a new member only once the cluster has been healthy for a few seconds after the removal.
    let added = etcdctl("etcd-2", endpoint, "member", "add", "etcd-1", `--peer-urls=${peerUrl("10.240.0.10")}`);
    for (let i = 0; i < 30 && added.stderr.includes("unhealthy cluster"); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      added = etcdctl("etcd-2", endpoint, "member", "add", "etcd-1", `--peer-urls=${peerUrl("10.240.0.10")}`);
    }
    expect({ status: added.status, err: added.stderr.includes("Error") ? added.stderr : "" }).toEqual({ status: 0, err: "" });
    expect(etcdctl("etcd-2", endpoint, "member", "list").stdout).toMatch(/, unstarted, , https:\/\/10\.240\.0\.10:2380/);

    const where = place("replaced", true);
    // Without the join file the marker still refuses: the procedure's last step is what makes it a new member.
    expect(check("etcd-1", "etcd-1", { ...where, peers: others("etcd-1") }).status).toBe(1);
    const join = path.join(temp, "join.env");
    writeFileSync(join, "ETCD_INITIAL_CLUSTER_STATE=existing\n");
    const r = check("etcd-1", "etcd-1", { ...where, peers: others("etcd-1"), join });
    expect(r).toEqual({ status: 0, out: expect.stringContaining("member etcd-1 has not started before") });
  });
});
