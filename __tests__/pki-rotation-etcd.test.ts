/**
 * An etcd CA rotation on a real 3-member etcd (Debian etcd-server), in network namespaces at the planned
 * addresses of clusters/local.yaml. For each phase (trust, reissue, drop) the certificates are realized with
 * openssl from the synthesized tls_* arguments, and delivered host by host as the pki stack's chain does: the
 * delivery's own install script (src/pki/install-script.ts: owed restarts, health.sh's etcd-member gate) runs in
 * the member's namespace against a scratch root, with a stand-in systemctl that restarts the real etcd process.
 * After every host: every member is healthy (health.sh etcd-cluster), the API server's etcd client works with the
 * files of the phase before and of this phase (its own host is delivered at its own pace), and a client holding
 * only credentials of the old CA (its certificate, signed by the old CA, and the trust bundle the trust phase
 * publishes as the etcd_ca_certificate output) works until the last phase and fails after it. A client that never
 * picked up that bundle (old CA only) works through the trust phase, and no longer once members serve
 * certificates of the new CA: why the trust phase exists, and docs/pki.md tells clients to fetch the bundle then.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { bundleFor, type BundleFile } from "../src/pki/bundle";
import { HEALTH_LIBRARY, installScript, prepareScript, stagedName } from "../src/pki/install-script";
import { pkiPath, type PkiFileId } from "../src/pki/paths";
import { changed, planFromObject, REPO_ROOT } from "./helpers/descriptions";
import { haveCommand, NetnsLab, netnsLabAvailable } from "./helpers/netns";
import { resources, synthPki, type Json } from "./helpers/pki-synth";
import { TlsRealizer } from "./helpers/tls-realize";

const FILE = "clusters/local.yaml";
const base = loadCluster(FILE, REPO_ROOT).plan;
const PHASES = ["trust", "reissue", "drop"] as const;
type Phase = "none" | (typeof PHASES)[number];
const planOf = (phase: Phase): ClusterPlan => (phase === "none" ? base : planFromObject(changed(FILE, (d) => (d.pki = { rotation: { etcd: phase } })), FILE));

const lab = netnsLabAvailable();
const ready = lab.ok && haveCommand("etcd") && haveCommand("etcdctl") && haveCommand("openssl") && haveCommand("curl");
if (!ready) console.warn(`skipping the etcd rotation test: ${lab.ok ? "etcd, etcdctl, openssl or curl missing" : lab.reason}`);

/** Stand-in systemctl: etcd.service is "loaded" once its start script exists, "active" while its pid lives. */
const SYSTEMCTL = `#!/bin/sh
alive() { [ -f "$HOST_DIR/etcd.pid" ] && kill -0 "$(cat "$HOST_DIR/etcd.pid")" 2>/dev/null; }
case "$1" in
  show)
    [ "$5" = etcd.service ] || { [ "$3" = LoadState ] && echo not-found || echo inactive; exit 0; }
    case "$3" in
      LoadState) [ -f "$HOST_DIR/start-etcd.sh" ] && echo loaded || echo not-found ;;
      ActiveState) alive && echo active || echo inactive ;;
    esac ;;
  try-restart)
    [ "$2" = etcd.service ] || exit 0
    echo "restart $2" >> "$HOST_DIR/events.log"
    if alive; then
      kill "$(cat "$HOST_DIR/etcd.pid")"
      i=0; while alive && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    fi
    setsid sh "$HOST_DIR/start-etcd.sh" </dev/null >/dev/null 2>&1 &
    ;;
esac
`;

(ready ? describe : describe.skip)("etcd CA rotation on a real 3-member etcd", () => {
  let netns: NetnsLab;
  let root: string;
  const members = base.hosts.filter((h) => h.runsEtcd);
  const apiHost = base.hosts.find((h) => h.runsControlPlane)!;
  const json = {} as Record<Phase, Json>;
  const realizer = () => tls;
  let tls: TlsRealizer;
  const hostDir = (host: string) => path.join(root, host);
  const at = (host: string, id: PkiFileId) => path.join(hostDir(host), "root", pkiPath(id));

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), "pki-rotation-etcd-"));
    tls = new TlsRealizer(root);
    for (const phase of ["none", ...PHASES] as const) json[phase] = synthPki(planOf(phase)).json;
    netns = new NetnsLab("t13r");
    const prefix = base.nodeCidr.split("/")[1];
    for (const h of [...members, apiHost]) netns.addHost(h.name, [`${h.address}/${prefix}`]);
    mkdirSync(path.join(root, "bin"));
    writeFileSync(path.join(root, "bin", "systemctl"), SYSTEMCTL);
    chmodSync(path.join(root, "bin", "systemctl"), 0o755);
  }, 60_000);

  afterAll(async () => {
    await netns?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** The files of `host`'s bundle in `phase`, evaluated from its delivery's file provisioners. */
  function filesOf(phase: Phase, host: string, only?: readonly PkiFileId[]): Map<BundleFile, string> {
    tls.phase(json[phase]);
    const d = Object.entries(resources(json[phase], "terraform_data")).find(([n]) => n.startsWith(`delivery-${host}_`))![1];
    const byName = new Map((d.provisioner as Json[]).filter((p) => p.file).map((p) => [String(p.file.destination).split("/").pop()!, p.file.content as string]));
    const wanted = bundleFor(planOf(phase), host).filter((f) => !only || only.includes(f.fileId));
    return new Map(wanted.map((f) => [f, realizer().evaluate(byName.get(stagedName(f))!)]));
  }

  /** Delivers like the pki stack's delivery: prepare, stage every file, run the install script in the host's namespace. */
  function deliver(phase: Phase, host: string): { status: number | null; restarted: boolean; output: string } {
    const files = filesOf(phase, host);
    const options = { sshUser: "root", stagingDir: path.join(hostDir(host), "staging"), destDir: path.join(hostDir(host), "root"), healthTimeoutSeconds: 60 };
    const env = { ...process.env, PATH: `${path.join(root, "bin")}:${process.env.PATH}`, HOST_DIR: hostDir(host) };
    rmSync(path.join(hostDir(host), "events.log"), { force: true });
    const sh = (lines: readonly string[]) => {
      const script = path.join(hostDir(host), "script.sh");
      writeFileSync(script, lines.join("\n") + "\n");
      return spawnSync("ip", ["netns", "exec", netns.namespace(host), "sh", script], { env, encoding: "utf8", timeout: 90_000 });
    };
    mkdirSync(hostDir(host), { recursive: true });
    expect(sh(prepareScript(options)).status).toBe(0);
    for (const [f, content] of files) writeFileSync(path.join(options.stagingDir, stagedName(f)), content);
    const r = sh(installScript([...files.keys()], options));
    const events = spawnSync("cat", [path.join(hostDir(host), "events.log")], { encoding: "utf8" }).stdout;
    return { status: r.status, restarted: events.includes("restart etcd.service"), output: `${r.stdout}${r.stderr}` };
  }

  function writeStartScript(host: string): void {
    const h = members.find((m) => m.name === host)!;
    const f = (id: PkiFileId) => at(host, id);
    const flags = [
      `--name=${h.name}`,
      `--data-dir=${path.join(hostDir(host), "data")}`,
      `--listen-client-urls=https://${h.address}:2379,https://127.0.0.1:2379`,
      `--advertise-client-urls=https://${h.address}:2379`,
      `--listen-peer-urls=https://${h.address}:2380`,
      `--initial-advertise-peer-urls=https://${h.address}:2380`,
      `--initial-cluster=${members.map((m) => `${m.name}=https://${m.address}:2380`).join(",")}`,
      "--initial-cluster-state=new",
      "--initial-cluster-token=t13r",
      `--cert-file=${f("etcdServerCert")}`,
      `--key-file=${f("etcdServerKey")}`,
      "--client-cert-auth",
      `--trusted-ca-file=${f("etcdCaCert")}`,
      `--peer-cert-file=${f("etcdPeerCert")}`,
      `--peer-key-file=${f("etcdPeerKey")}`,
      "--peer-client-cert-auth",
      `--peer-trusted-ca-file=${f("etcdCaCert")}`,
    ];
    writeFileSync(path.join(hostDir(host), "start-etcd.sh"), `echo $$ > ${hostDir(host)}/etcd.pid\nexec etcd ${flags.join(" ")} >> ${hostDir(host)}/etcd.log 2>&1\n`);
  }

  /** health.sh etcd-cluster, from the API server's namespace, with a client's CA, certificate and key. */
  function clusterHealth(client: { ca: string; cert: string; key: string }): { ok: boolean; said: string } {
    const dir = mkdtempSync(path.join(root, "client-"));
    const put = (name: string, content: string) => (writeFileSync(path.join(dir, name), content, { mode: 0o600 }), path.join(dir, name));
    const env = { ...process.env, K8S_ETCD_CA: put("ca.crt", client.ca), K8S_ETCD_CERT: put("client.crt", client.cert), K8S_ETCD_KEY: put("client.key", client.key) };
    const r = spawnSync("ip", ["netns", "exec", netns.namespace(apiHost.name), "sh", HEALTH_LIBRARY, "etcd-cluster", ...members.map((m) => `https://${m.address}:2379`)], { env, encoding: "utf8", timeout: 60_000 });
    return { ok: r.status === 0, said: r.stdout.trim() };
  }

  /** The API server host's etcd client files in a phase: its etcd CA bundle and kube-apiserver-etcd-client. */
  function apiServerClient(phase: Phase): { ca: string; cert: string; key: string } {
    const files = [...filesOf(phase, apiHost.name, ["etcdCaCert", "apiServerEtcdClientCert", "apiServerEtcdClientKey"])];
    const get = (id: PkiFileId) => files.find(([f]) => f.fileId === id)![1];
    return { ca: get("etcdCaCert"), cert: get("apiServerEtcdClientCert"), key: get("apiServerEtcdClientKey") };
  }

  /** A client that only ever got the files before the rotation: the old CA and a certificate it signed. */
  function oldOnlyClient(): { ca: string; cert: string; key: string } {
    const files = [...filesOf("none", members[0].name)];
    const get = (id: PkiFileId) => files.find(([f]) => f.fileId === id)![1];
    return { ca: get("etcdCaCert"), cert: get("etcdHealthcheckClientCert"), key: get("etcdHealthcheckClientKey") };
  }

  async function until(what: string, check: () => boolean, seconds: number): Promise<void> {
    for (let i = 0; i < seconds * 2; i++) {
      if (check()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  /** etcdctl put/get through the API server's client files: the data written before the rotation is still there. */
  function roundTrip(client: { ca: string; cert: string; key: string }, key: string, value: string): string {
    const dir = mkdtempSync(path.join(root, "etcdctl-"));
    const put = (name: string, content: string) => (writeFileSync(path.join(dir, name), content, { mode: 0o600 }), path.join(dir, name));
    const tlsArgs = [`--cacert=${put("ca.crt", client.ca)}`, `--cert=${put("c.crt", client.cert)}`, `--key=${put("c.key", client.key)}`, `--endpoints=${members.map((m) => `https://${m.address}:2379`).join(",")}`];
    const env = { ...process.env, ETCDCTL_API: "3" };
    const ctl = (args: string[]) => spawnSync("ip", ["netns", "exec", netns.namespace(apiHost.name), "etcdctl", ...tlsArgs, ...args], { env, encoding: "utf8", timeout: 30_000 });
    if (value !== "") expect(ctl(["put", key, value]).status).toBe(0);
    return ctl(["get", key, "--print-value-only"]).stdout.trim();
  }

  it(
    "stays healthy at every step of trust, reissue and drop, delivered host by host",
    async () => {
      // The cluster before the rotation: first delivery (units not installed: nothing restarts), then etcd starts.
      for (const m of members) {
        expect(deliver("none", m.name)).toMatchObject({ status: 0, restarted: false });
        writeStartScript(m.name);
        spawnSync("ip", ["netns", "exec", netns.namespace(m.name), "sh", "-c", `setsid sh ${hostDir(m.name)}/start-etcd.sh </dev/null >/dev/null 2>&1 &`]);
      }
      await until("the etcd cluster to form", () => clusterHealth(apiServerClient("none")).ok, 60);
      expect(roundTrip(apiServerClient("none"), "/registry/t13r", "written before the rotation")).toBe("written before the rotation");
      const oldOnly = oldOnlyClient();
      tls.phase(json.trust);
      const oldCredentials = { ...oldOnly, ca: tls.evaluate(json.trust.output.etcd_ca_certificate.value) };
      const log: string[] = [];

      let before: Phase = "none";
      for (const phase of PHASES) {
        for (const m of members) {
          const d = deliver(phase, m.name);
          expect([phase, m.name, d.status, d.restarted]).toEqual([phase, m.name, 0, true]);
          expect(d.output).toContain("etcd-member: healthy");
          const previousFiles = clusterHealth(apiServerClient(before));
          const theseFiles = clusterHealth(apiServerClient(phase));
          expect([phase, m.name, "api server client, files of the phase before", previousFiles]).toEqual([phase, m.name, "api server client, files of the phase before", { ok: true, said: "etcd-cluster: all 3 members healthy" }]);
          expect([phase, m.name, "api server client, files of this phase", theseFiles.ok]).toEqual([phase, m.name, "api server client, files of this phase", true]);
          const old = clusterHealth(oldCredentials);
          log.push(`${phase} ${m.name}: old credentials ${old.ok ? "work" : "refused"}`);
          if (phase !== "drop") expect([phase, m.name, old]).toEqual([phase, m.name, { ok: true, said: "etcd-cluster: all 3 members healthy" }]);
          if (phase === "trust") expect([phase, m.name, clusterHealth(oldOnly).ok]).toEqual([phase, m.name, true]);
        }
        expect(roundTrip(apiServerClient(phase), "/registry/t13r", "")).toBe("written before the rotation");
        before = phase;
      }
      // After the drop reached every member, nothing of the old CA is accepted, nor does the old CA accept the members.
      const old = clusterHealth(oldCredentials);
      expect(old.ok).toBe(false);
      expect(old.said.split("\n").filter((l) => l.includes("not healthy"))).toHaveLength(3);
      expect(log.filter((l) => l.startsWith("drop ")).at(-1)).toBe(`drop ${members.at(-1)!.name}: old credentials refused`);
      expect(clusterHealth(oldOnly).ok).toBe(false);
      // The new CA is the only one trusted on the members.
      const trusted = readFileSync(at(members[0].name, "etcdCaCert"), "utf8");
      expect(trusted.match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    },
    600_000,
  );
});
