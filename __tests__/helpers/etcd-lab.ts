/**
 * A real etcd cluster for tests: TLS certificates made with openssl (an etcd CA, one server/peer certificate per
 * member with its address and 127.0.0.1, the health-check client certificate), members at the planned addresses
 * in a NetnsLab, each started and stopped by a small shell script (`member.sh start|stop <name>`) that stand-in
 * commands (deploy-rs, systemctl) can call too. Needs root, iproute2, openssl, etcd and etcdctl (Debian
 * etcd-server and etcd-client).
 *
 * Every host sees its own files at one common path, `hostPath` (its directory roots/<name> bind-mounted there in
 * a private mount namespace, made by `in-host.sh <name> <command...>`): so etcd's data directory is the same
 * path on every member (<hostPath>/var/lib/etcd), as on real hosts.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { haveCommand, netnsLabAvailable, NetnsLab } from "./netns";

export interface EtcdMemberSpec {
  readonly name: string;
  readonly address: string;
}

/** Why an etcd lab cannot run here ("" when it can). */
export function etcdLabUnavailable(): string {
  const lab = netnsLabAvailable();
  if (!lab.ok) return lab.reason;
  for (const tool of ["openssl", "etcd", "etcdctl", "curl"]) if (!haveCommand(tool)) return `${tool} is not installed`;
  return "";
}

function sh(script: string, cwd: string): void {
  const r = spawnSync("sh", ["-euc", script], { cwd, encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`etcd lab: ${script} failed: ${r.stderr}`);
}

/** Makes a CA (ca.crt/ca.key) in dir. */
/**
 * Copies the committed generated files of `cluster` (nixos/clusters/<cluster>) under `root`, with the hosts' PKI
 * directory moved to `<root>/pki`, where the lab's certificates are: the operator scripts read paths from them.
 */
export function copyClusterFiles(repo: string, root: string, cluster: string): void {
  const clusterDir = path.join(root, "nixos/clusters", cluster);
  cpSync(path.join(repo, "nixos/clusters", cluster), clusterDir, { recursive: true });
  for (const file of readdirSync(path.join(clusterDir, "hosts"))) {
    const p = path.join(clusterDir, "hosts", file);
    writeFileSync(p, readFileSync(p, "utf8").replaceAll("/var/lib/kubernetes/pki", path.join(root, "pki")));
  }
}

export function makeCa(dir: string, commonName: string): void {
  mkdirSync(dir, { recursive: true });
  sh(
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -subj "/CN=${commonName}" -days 2 2>/dev/null`,
    dir,
  );
}

/** Issues <name>.crt/<name>.key in dir, signed by dir/ca.*, with the given SANs and extended key usages. */
export function issue(dir: string, name: string, commonName: string, sans: readonly string[], usages: string): void {
  const ext = path.join(dir, `${name}.ext`);
  writeFileSync(ext, `${sans.length ? `subjectAltName=${sans.join(",")}\n` : ""}extendedKeyUsage=${usages}\nkeyUsage=digitalSignature,keyEncipherment\n`);
  sh(
    [
      `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ${name}.key -out ${name}.csr -subj "/CN=${commonName}" 2>/dev/null`,
      `openssl x509 -req -in ${name}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ${name}.ext -out ${name}.crt 2>/dev/null`,
      `chmod 600 ${name}.key`,
    ].join(" && "),
    dir,
  );
}

export class EtcdLab {
  readonly lab: NetnsLab;
  /** The etcd CA and the health-check client certificate: etcdCa/ca.crt, healthcheck-client.{crt,key}. */
  readonly pkiDir: string;
  /** `member.sh start|stop <name>`: starts a member in its namespace in the background / stops it. */
  readonly memberScript: string;
  readonly token: string;
  /** `in-host.sh <name> <command...>`: runs a command in a host's namespace, with its own files at hostPath. */
  readonly inHostScript: string;
  /** Where each host sees its own files (roots/<name>). */
  readonly hostPath: string;
  private readonly hostLines: string[] = [];

  constructor(
    readonly dir: string,
    readonly members: readonly EtcdMemberSpec[],
    tag: string,
  ) {
    this.lab = new NetnsLab(tag);
    this.token = `${tag}-etcd`;
    this.pkiDir = path.join(dir, "pki", "etcd");
    this.hostPath = path.join(dir, "host");
    mkdirSync(this.hostPath);
    this.inHostScript = path.join(dir, "in-host.sh");
    writeFileSync(
      this.inHostScript,
      `#!/bin/sh
# in-host.sh <name> <command...>: the command in the host's network namespace, its own files at <lab>/host.
set -eu
dir=${JSON.stringify(dir)}
ns=$(awk -v n="$1" '$3 == n {print $2}' "$dir/hosts")
[ -n "$ns" ] || { echo "in-host.sh: no host $1" >&2; exit 1; }
root="$dir/roots/$1"
shift
exec ip netns exec "$ns" unshare -m sh -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh "$root" "$dir/host" "$@"
`,
    );
    chmodSync(this.inHostScript, 0o755);
    makeCa(this.pkiDir, "etcd-ca");
    issue(this.pkiDir, "healthcheck-client", "kube-etcd-healthcheck-client", [], "clientAuth");
    for (const m of members) {
      this.addHost(m.name, m.address);
      issue(this.pkiDir, m.name, m.name, [`IP:${m.address}`, "IP:127.0.0.1", "DNS:localhost"], "serverAuth,clientAuth");
      mkdirSync(path.join(dir, "members", m.name), { recursive: true });
      writeFileSync(path.join(dir, "members", m.name, "args"), this.memberArgs(m).join("\n") + "\n");
    }
    this.memberScript = path.join(dir, "member.sh");
    writeFileSync(
      this.memberScript,
      `#!/bin/sh
# member.sh start|stop <name>: one etcd member of the lab (its flags in members/<name>/args).
set -eu
dir=${JSON.stringify(dir)}
m="$dir/members/$2"
case $1 in
start)
  [ -f "$m/pid" ] && kill -0 "$(cat "$m/pid")" 2>/dev/null && exit 0
  # shellcheck disable=SC2046
  # A clean environment: etcd reads every ETCD_* variable as a flag.
  env -i PATH="$PATH" "$dir/in-host.sh" "$2" etcd $(cat "$m/args") >>"$m/log" 2>&1 </dev/null &
  echo $! >"$m/pid"
  ;;
stop)
  [ -f "$m/pid" ] || exit 0
  pid=$(cat "$m/pid")
  kill "$pid" 2>/dev/null || true
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$m/pid"
  ;;
esac
`,
    );
    chmodSync(this.memberScript, 0o755);
  }

  /**
   * Adds a host namespace with its own file tree (roots/<name>, seen at hostPath by in-host.sh) and records it in
   * the "hosts" file ("<address> <namespace> <name>" lines) that member.sh, in-host.sh and stand-in ssh read.
   */
  addHost(name: string, address: string): void {
    this.lab.addHost(name, [`${address}/24`]);
    mkdirSync(path.join(this.dir, "roots", name), { recursive: true });
    this.hostLines.push(`${address} ${this.lab.namespace(name)} ${name}`);
    writeFileSync(path.join(this.dir, "hosts"), this.hostLines.join("\n") + "\n");
  }

  /** A path on a host as the host sees it (under hostPath) and as this test reads it (under roots/<name>). */
  onHost(name: string, hostAbsolute: string): string {
    return path.join(this.dir, "roots", name, path.relative(this.hostPath, hostAbsolute));
  }

  /** etcd's --data-dir, the same path on every member. */
  get dataDir(): string {
    return path.join(this.hostPath, "var/lib/etcd");
  }

  clientUrl(m: EtcdMemberSpec): string {
    return `https://${m.address}:2379`;
  }

  peerUrl(m: EtcdMemberSpec): string {
    return `https://${m.address}:2380`;
  }

  private memberArgs(m: EtcdMemberSpec): string[] {
    const crt = path.join(this.pkiDir, `${m.name}.crt`);
    const key = path.join(this.pkiDir, `${m.name}.key`);
    const ca = path.join(this.pkiDir, "ca.crt");
    return [
      `--name=${m.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${this.clientUrl(m)},https://127.0.0.1:2379`,
      `--advertise-client-urls=${this.clientUrl(m)}`,
      `--listen-peer-urls=${this.peerUrl(m)}`,
      `--initial-advertise-peer-urls=${this.peerUrl(m)}`,
      `--initial-cluster=${this.members.map((o) => `${o.name}=${this.peerUrl(o)}`).join(",")}`,
      "--initial-cluster-state=new",
      `--initial-cluster-token=${this.token}`,
      "--client-cert-auth",
      `--trusted-ca-file=${ca}`,
      `--cert-file=${crt}`,
      `--key-file=${key}`,
      "--peer-client-cert-auth",
      `--peer-trusted-ca-file=${ca}`,
      `--peer-cert-file=${crt}`,
      `--peer-key-file=${key}`,
      // Small and quick for a test machine shared with other runs.
      "--heartbeat-interval=100",
      "--election-timeout=1000",
      "--quota-backend-bytes=104857600",
      "--logger=zap",
    ];
  }

  start(name: string): void {
    sh(`${this.memberScript} start ${name}`, this.dir);
  }

  stop(name: string): void {
    sh(`${this.memberScript} stop ${name}`, this.dir);
  }

  /**
   * etcdctl (v3 API) in a member's namespace with the health-check client: against its loopback client URL, or
   * the --endpoints=... among args.
   */
  etcdctl(name: string, args: readonly string[], input?: string) {
    return this.lab.exec(
      name,
      [
        "env",
        "ETCDCTL_API=3",
        "etcdctl",
        ...(args.some((a) => a.startsWith("--endpoints=")) ? [] : ["--endpoints=https://127.0.0.1:2379"]),
        `--cacert=${path.join(this.pkiDir, "ca.crt")}`,
        `--cert=${path.join(this.pkiDir, "healthcheck-client.crt")}`,
        `--key=${path.join(this.pkiDir, "healthcheck-client.key")}`,
        "--dial-timeout=3s",
        "--command-timeout=5s",
        ...args,
      ],
      input,
    );
  }

  /** Waits (bounded) until every member answers `endpoint health`; false when they do not within `seconds`. */
  async waitHealthy(seconds = 30): Promise<boolean> {
    const endpoints = this.members.map((m) => this.clientUrl(m)).join(",");
    for (let i = 0; i < seconds * 2; i++) {
      const r = this.etcdctl(this.members[0].name, [`--endpoints=${endpoints}`, "endpoint", "health"]);
      if (r.status === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    return false;
  }

  async cleanup(): Promise<void> {
    for (const m of this.members) spawnSync(this.memberScript, ["stop", m.name], { timeout: 20_000 });
    await this.lab.cleanup();
  }
}
