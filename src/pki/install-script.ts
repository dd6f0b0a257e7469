/**
 * The shell a delivery runs on a host (remote-exec): prepare a private staging directory, then install each
 * staged file with its owner and mode by an atomic same-directory rename and restart exactly the units whose
 * files changed. A restarted etcd or kube-apiserver must answer its health check on this host before the script
 * goes on (and before the next host's delivery starts), so a rolling restart keeps etcd's quorum and an API
 * server serving. POSIX sh; on NixOS every tool used (coreutils, diffutils, systemd, curl: base.nix) is on the
 * system PATH. Pure, no cdktf: the delivery construct embeds these lines, the tests run them in a scratch directory.
 */
import { API_PORT, ETCD_CLIENT_PORT } from "../cluster/plan";
import { UNITS, type BundleFile, type Unit } from "./bundle";
import { pkiPath } from "./paths";

/** tmpfs, root-owned and not world-writable: staged keys never touch a disk and no other user can pre-create it. */
export const STAGING_DIR = "/run/k8s-pki-staging";

export interface ScriptOptions {
  /** The SSH login user; any user but root runs every command through `sudo -n` (passwordless sudo needed). */
  readonly sshUser: string;
  /** Default STAGING_DIR. */
  readonly stagingDir?: string;
  /** Prefix of every installed path; default "" (the host's root). Lets the script be tried in a scratch directory. */
  readonly destDir?: string;
  /** How long a restarted etcd or kube-apiserver may take to pass its health check; default HEALTH_TIMEOUT_SECONDS. */
  readonly healthTimeoutSeconds?: number;
}

/** Default bound on the wait for a restarted unit's health check: an etcd member rejoins, an API server syncs its caches. */
export const HEALTH_TIMEOUT_SECONDS = 120;

/** Seconds between two health probes. */
const HEALTH_INTERVAL_SECONDS = 2;

/**
 * The health check of a unit that others depend on, run on the host itself over loopback (both serve 127.0.0.1,
 * and their serving certificates carry it): the probe command (sh) and what it must print.
 * - etcd: GET /health with the health-check client certificate (etcd requires client certificates); true only
 *   when the member has a leader, i.e. it rejoined the cluster.
 * - kube-apiserver: GET /readyz, served to anonymous clients, verified against the cluster CA; "ok" once ready.
 */
export function healthCheck(unit: Unit, options: ScriptOptions): { readonly url: string; readonly probe: string; readonly expect: string } | undefined {
  const s = sudo(options);
  const file = (id: Parameters<typeof pkiPath>[0]) => shellQuote((options.destDir ?? "") + pkiPath(id));
  switch (unit) {
    case "etcd": {
      const url = `https://127.0.0.1:${ETCD_CLIENT_PORT}/health`;
      const tls = `--cacert ${file("etcdCaCert")} --cert ${file("etcdHealthcheckClientCert")} --key ${file("etcdHealthcheckClientKey")}`;
      return { url, probe: `${s}curl --silent --max-time 5 ${tls} ${url}`, expect: `*'"health":"true"'*` };
    }
    case "kube-apiserver": {
      const url = `https://127.0.0.1:${API_PORT}/readyz`;
      return { url, probe: `${s}curl --silent --fail --max-time 5 --cacert ${file("kubernetesCaCert")} ${url}`, expect: "ok" };
    }
    default:
      return undefined;
  }
}

/** Single-quotes a word for sh. */
export function shellQuote(word: string): string {
  return `'${word.split("'").join(`'\\''`)}'`;
}

/** The name a file is staged under (flat, unique per bundle). */
export function stagedName(file: BundleFile): string {
  return file.fileId;
}

export function stagedPath(file: BundleFile, options: ScriptOptions): string {
  return `${options.stagingDir ?? STAGING_DIR}/${stagedName(file)}`;
}

function sudo(options: ScriptOptions): string {
  return options.sshUser === "root" ? "" : "sudo -n ";
}

const variable = (unit: Unit) => `restart_${unit.replace(/-/g, "_")}`;

/** Recreates the empty staging directory, owned by the login user so the file provisioners can write to it. */
export function prepareScript(options: ScriptOptions): string[] {
  const s = sudo(options);
  const staging = shellQuote(options.stagingDir ?? STAGING_DIR);
  return ["#!/bin/sh", "set -eu", `${s}rm -rf ${staging}`, `${s}install -d -m 0700 -o "$(id -u)" -g "$(id -g)" ${staging}`];
}

/**
 * Installs the staged bundle and restarts the units whose files changed, in UNITS order; after restarting etcd or
 * kube-apiserver, waits (bounded) until it is healthy again and fails the delivery if it is not.
 */
export function installScript(files: readonly BundleFile[], options: ScriptOptions): string[] {
  const s = sudo(options);
  const dest = options.destDir ?? "";
  const timeout = options.healthTimeoutSeconds ?? HEALTH_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout <= 0) throw new Error(`healthTimeoutSeconds must be a positive whole number (got ${timeout})`);
  const directories = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf("/"))))].sort();
  const units = UNITS.filter((u) => files.some((f) => f.units.includes(u)));
  const checked = units.flatMap((u) => {
    const check = healthCheck(u, options);
    return check ? [{ unit: u, ...check }] : [];
  });
  const lines = [
    "#!/bin/sh",
    "set -eu",
    `staging=${shellQuote(options.stagingDir ?? STAGING_DIR)}`,
    `trap '${s}rm -rf "$staging"' EXIT`,
    "# put <staged name> <target> <mode> <uid> <gid>: write beside the target, then rename over it; changed=1 if the content differs",
    "put() {",
    "  changed=0",
    `  ${s}install -m "$3" -o "$4" -g "$5" "$staging/$1" "$2.new"`,
    `  ${s}cmp -s "$2.new" "$2" || changed=1`,
    `  ${s}mv -f "$2.new" "$2"`,
    "}",
    ...(checked.length > 0
      ? [
          "# healthy <unit>: succeeds when the unit answers its health check on this host",
          "healthy() {",
          '  case "$1" in',
          ...checked.map((c) => `    ${c.unit}) case "$(${c.probe} 2>/dev/null)" in ${c.expect}) return 0 ;; esac ;;`),
          "  esac",
          "  return 1",
          "}",
          `# await_healthy <unit> <url>: wait up to ${timeout} s for the health check; else stop the delivery (no further restarts here, none on the next host)`,
          "await_healthy() {",
          `  echo "k8s-pki: waiting for $1.service to pass its health check ($2, up to ${timeout} s)"`,
          `  deadline=$(( $(date +%s) + ${timeout} ))`,
          '  until healthy "$1"; do',
          '    if [ "$(date +%s)" -ge "$deadline" ]; then',
          `      echo "k8s-pki: $1.service was restarted for new PKI files but did not pass its health check ($2) within ${timeout} s; stopping the delivery so no other member restarts. See: journalctl -u $1.service" >&2`,
          "      exit 1",
          "    fi",
          `    sleep ${HEALTH_INTERVAL_SECONDS}`,
          "  done",
          "}",
        ]
      : []),
    "# restart <unit>: like systemctl try-restart (only a running or starting unit), a no-op while the unit is not",
    "# installed yet (first delivery); a restarted etcd or kube-apiserver must be healthy again before the script goes on",
    "restart() {",
    `  [ "$(${s}systemctl show -p LoadState --value "$1.service")" = loaded ] || return 0`,
    `  case "$(${s}systemctl show -p ActiveState --value "$1.service")" in`,
    "    active | activating | reloading | refreshing) ;;",
    "    *) return 0 ;;",
    "  esac",
    `  ${s}systemctl try-restart "$1.service"`,
    ...(checked.length > 0 ? ['  case "$1" in', ...checked.map((c) => `    ${c.unit}) await_healthy "$1" ${shellQuote(c.url)} ;;`), "  esac"] : []),
    "}",
    ...units.map((u) => `${variable(u)}=0`),
    `${s}install -d -m 0755 -o 0 -g 0 ${directories.map((d) => shellQuote(dest + d)).join(" ")}`,
  ];
  for (const f of files) {
    lines.push(`put ${shellQuote(stagedName(f))} ${shellQuote(dest + f.path)} ${f.mode} ${f.uid} ${f.gid}`);
    if (f.units.length > 0) lines.push(`if [ "$changed" = 1 ]; then ${f.units.map((u) => `${variable(u)}=1`).join("; ")}; fi`);
  }
  for (const u of units) lines.push(`if [ "$${variable(u)}" = 1 ]; then restart ${u}; fi`);
  return lines;
}
