/**
 * The API endpoint of a libvirt cluster, run for real in a NetnsLab: haproxy and keepalived (Debian's binaries)
 * with the configuration text the hosts get, rendered by the same Nix functions (nixos/lib/haproxy-config.nix,
 * nixos/lib/keepalived-config.nix), in front of stand-in API servers that hold a certificate with the apiserver
 * certificate's subject and SANs from the PKI table, and a client that counts failed new connections.
 *
 * What differs from the hosts, all arguments of the Nix functions or nixpkgs' frame around their text:
 * - paths: /bin/bash and /usr/bin/curl instead of store paths; the check script in the test directory;
 * - the check runs as `nobody` (hosts: the keepalived_script system user the api-vip module creates);
 * - nixpkgs' haproxy module puts `global` + `stats socket /run/haproxy/haproxy.sock ...` in front of the text and
 *   its keepalived module the `global_defs { enable_script_security ... }` frame around it: reproduced here, with
 *   the socket in the test directory;
 * - systemd's part (haproxy -Ws with reload, keepalived's unit) is replaced by starting the binaries directly;
 *   haproxy's maxconn is lowered on its command line (see startHaproxy).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import { issuedCertificates } from "../../src/pki/catalog";
import { evalJson, nixPathLiteral, REPO } from "../nix/eval";
import type { ProbeAttempt } from "./connection-probe";
import type { LabProcess, NetnsLab } from "./netns";

/** nixos/lib/haproxy-config.nix's `timing` (seconds). */
export interface HaproxyTiming {
  readonly connect: number;
  readonly check: number;
  readonly inter: number;
  readonly fastinter: number;
  readonly downinter: number;
  readonly fall: number;
  readonly rise: number;
  readonly retries: number;
}

/** nixos/lib/keepalived-config.nix's `timing` (seconds). */
export interface KeepalivedTiming {
  readonly interval: number;
  readonly fall: number;
  readonly rise: number;
  readonly timeout: number;
  readonly advertInt: number;
  readonly probeInterval: string;
  readonly checkFailsAfter: number;
}

const TSX_LOADER = pathToFileURL(path.join(REPO, "node_modules/tsx/dist/loader.mjs")).href;
const STAND_IN_APISERVER = path.join(REPO, "__tests__/helpers/stand-in-apiserver.ts");
const CONNECTION_PROBE = path.join(REPO, "__tests__/helpers/connection-probe.ts");

function hostFileLiteral(plan: ClusterPlan, host: string): string {
  return nixPathLiteral(path.join(REPO, "nixos/clusters", plan.cluster, "hosts", `${host}.nix`));
}

/** The generated host files' API VIP (every host of a cluster carries the same one). */
export interface HostFileVip {
  readonly address: string;
  readonly prefixLength: number;
  readonly routerId: number;
  readonly holders: readonly { readonly name: string; readonly address: string; readonly priority: number }[];
}

export function hostFileVip(plan: ClusterPlan): HostFileVip {
  const vip = evalJson<HostFileVip | null>(`(import ${hostFileLiteral(plan, plan.hosts[0].name)}).api.vip`);
  if (!vip) throw new Error(`cluster ${plan.cluster} has no API VIP`);
  return vip;
}

/** The haproxy.cfg a load balancer gets (nixpkgs' stats-socket `global` + haproxy-config.nix's text). */
export function renderHaproxy(plan: ClusterPlan, host: string, statsSocket: string): { text: string; timing: HaproxyTiming } {
  const rendered = evalJson<{ config: string; timing: HaproxyTiming }>(
    `let r = import ${nixPathLiteral(path.join(REPO, "nixos/lib/haproxy-config.nix"))} { hostFile = import ${hostFileLiteral(plan, host)}; }; in { inherit (r) config timing; }`,
  );
  const nixpkgsFrame = [
    "global",
    "  # needed for hot-reload to work without dropping packets in multi-worker mode",
    `  stats socket ${statsSocket} mode 600 expose-fd listeners level user`,
    "",
    "",
  ].join("\n");
  return { text: `${nixpkgsFrame}${rendered.config}\n`, timing: rendered.timing };
}

/** The keepalived.conf a VIP holder gets (nixpkgs' global_defs frame + keepalived-config.nix's text) and its check script. */
export function renderKeepalived(
  plan: ClusterPlan,
  host: string,
  checkScriptFile: string,
): { text: string; checkScript: string; timing: KeepalivedTiming } {
  const args = [
    `hostFile = import ${hostFileLiteral(plan, host)};`,
    `bash = "/bin/bash";`,
    `curl = "/usr/bin/curl";`,
    `scriptUser = "nobody";`,
    `checkScriptFile = ${JSON.stringify(checkScriptFile)};`,
    `interface = "eth0";`,
  ].join(" ");
  const r = evalJson<{ globalDefs: string; config: string; checkScript: string; timing: KeepalivedTiming }>(
    `let r = import ${nixPathLiteral(path.join(REPO, "nixos/lib/keepalived-config.nix"))} { ${args} }; in { inherit (r) globalDefs config checkScript timing; }`,
  );
  const text = `global_defs {\n  enable_script_security\n  \n  ${r.globalDefs}\n}\n\n\n\n${r.config}\n`;
  return { text, checkScript: r.checkScript, timing: r.timing };
}

function openssl(args: readonly string[]): void {
  const r = spawnSync("openssl", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed:\n${r.stderr}`);
}

/**
 * A test CA and a serving certificate with the apiserver certificate's common name and SANs (src/pki/catalog.ts),
 * so a client that verifies the VIP against the CA proves the VIP is among them. Keys 0600.
 */
export function apiServerCertificate(plan: ClusterPlan, dir: string): { ca: string; cert: string; key: string } {
  const spec = issuedCertificates(plan).find((c) => c.spec.id === "apiserver");
  if (!spec) throw new Error("the PKI table has no apiserver certificate");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const files = { ca: path.join(dir, "ca.crt"), caKey: path.join(dir, "ca.key"), cert: path.join(dir, "apiserver.crt"), key: path.join(dir, "apiserver.key") };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"];
  openssl(["req", "-x509", "-new", ...ec, "-keyout", files.caKey, "-out", files.ca, "-subj", "/CN=kubernetes"]);
  const sans = [...spec.dnsNames.map((n) => `DNS:${n}`), ...spec.ipAddresses.map((a) => `IP:${a}`)].join(",");
  openssl([
    "req", "-x509", "-new", ...ec, "-keyout", files.key, "-out", files.cert, "-subj", `/CN=${spec.commonName}`,
    "-addext", `subjectAltName=${sans}`, "-addext", "extendedKeyUsage=serverAuth", "-CA", files.ca, "-CAkey", files.caKey,
  ]);
  chmodSync(files.caKey, 0o600);
  chmodSync(files.key, 0o600);
  return { ca: files.ca, cert: files.cert, key: files.key };
}

/** Starts a stand-in API server in `host`'s namespace and waits until it listens. */
export async function startApiServer(
  lab: NetnsLab,
  host: string,
  tls: { cert: string; key: string },
  port: number,
  shutdownDelayMs: number,
): Promise<LabProcess> {
  const server = lab.spawn(host, ["node", "--import", TSX_LOADER, STAND_IN_APISERVER, host, tls.cert, tls.key, String(port), String(shutdownDelayMs)]);
  await server.waitFor(/^listening$/, 20_000);
  return server;
}

/**
 * Writes the files and starts haproxy (master-worker, foreground) in `host`'s namespace. `-n` lowers the text's
 * `maxconn` (it needs twice as many file descriptors, more than a test machine's hard limit may allow; NixOS'
 * units get systemd's 524288).
 */
export function startHaproxy(lab: NetnsLab, host: string, dir: string, text: string): LabProcess {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const cfg = path.join(dir, "haproxy.cfg");
  writeFileSync(cfg, text);
  return lab.spawn(host, ["haproxy", "-W", "-db", "-n", "4000", "-f", cfg]);
}

/** Writes the files and starts keepalived's VRRP process in `host`'s namespace (foreground, logging to stderr). */
export function startKeepalived(lab: NetnsLab, host: string, dir: string, rendered: { text: string; checkScript: string }, checkScriptFile: string): LabProcess {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const conf = path.join(dir, "keepalived.conf");
  writeFileSync(conf, rendered.text);
  writeFileSync(checkScriptFile, rendered.checkScript, { mode: 0o644 });
  const pid = (name: string) => path.join(dir, `${name}.pid`);
  return lab.spawn(host, ["keepalived", "-n", "-l", "-D", "--vrrp", "-f", conf, "-p", pid("keepalived"), "-r", pid("vrrp"), "-c", pid("checkers")]);
}

/** The hosts among `holders` whose eth0 carries `vip` now. */
export function vipHolders(lab: NetnsLab, holders: readonly string[], vip: string): string[] {
  return holders.filter((h) => lab.exec(h, ["ip", "-4", "-o", "addr", "show", "dev", "eth0"]).stdout.includes(` ${vip}/`));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls (every 25 ms, `timeoutMs` at most) until exactly `expected` holds the VIP; returns when it was seen (epoch ms). */
export async function waitForHolder(lab: NetnsLab, holders: readonly string[], vip: string, expected: string, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < until) {
    seen = vipHolders(lab, holders, vip);
    if (seen.length === 1 && seen[0] === expected) return Date.now();
    await sleep(25);
  }
  throw new Error(`the VIP ${vip} did not move to ${expected} within ${timeoutMs} ms (held by: ${seen.join(", ") || "nobody"})`);
}

/**
 * Waits until exactly one of `holders` holds the VIP and returns it. Which one is not fixed: every holder starts as
 * BACKUP without preemption, so the first to pass its check and win the election keeps the VIP (under load that
 * need not be the one with the highest priority).
 */
export async function waitForOneHolder(lab: NetnsLab, holders: readonly string[], vip: string, timeoutMs: number): Promise<string> {
  const until = Date.now() + timeoutMs;
  let seen: string[] = [];
  while (Date.now() < until) {
    seen = vipHolders(lab, holders, vip);
    if (seen.length === 1) return seen[0];
    await sleep(25);
  }
  throw new Error(`no single holder of the VIP ${vip} within ${timeoutMs} ms (held by: ${seen.join(", ") || "nobody"})`);
}

/** Samples the VIP's holders every 100 ms for `durationMs`; returns every distinct set seen. */
export async function holdersDuring(lab: NetnsLab, holders: readonly string[], vip: string, durationMs: number): Promise<string[]> {
  const seen = new Set<string>();
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    seen.add(vipHolders(lab, holders, vip).join(",") || "nobody");
    await sleep(100);
  }
  return [...seen];
}

/** A connection probe running in `host`'s namespace; `attempts` resolves when it has finished. */
export interface RunningProbe {
  /** Resolves once the first attempt has ended (the probe has started up). */
  readonly started: Promise<unknown>;
  readonly attempts: Promise<ProbeAttempt[]>;
}

export function startProbe(lab: NetnsLab, host: string, url: string, ca: string, intervalMs: number, durationMs: number): RunningProbe {
  const probe = lab.spawn(host, ["node", "--import", TSX_LOADER, CONNECTION_PROBE, url, ca, String(intervalMs), String(durationMs)]);
  const attempts = new Promise<ProbeAttempt[]>((resolve, reject) => {
    // "close", not "exit": every line it printed has been read by then.
    probe.once("close", (code) => {
      if (code !== 0) return reject(new Error(`connection probe exited with ${code}:\n${probe.log()}`));
      resolve(
        probe
          .lines()
          .filter((l) => l.text.startsWith("{"))
          .map((l) => JSON.parse(l.text) as ProbeAttempt),
      );
    });
  });
  return { started: probe.waitFor(/^\{/, 20_000), attempts };
}
