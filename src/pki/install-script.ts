/**
 * The shell a delivery runs on a host (remote-exec): prepare a private staging directory, then install each
 * staged file with its owner and mode by an atomic same-directory rename and restart the units that read changed
 * files. Which units are owed a restart is written down on the host (RESTART_RECORD, atomically and fsync'd)
 * before the first file is installed, and a unit is struck off only once it restarted and passed its health
 * check, so a delivery that failed, was killed or was interrupted by a reboot is completed by the next run,
 * although every file is then already in place. A restarted etcd or kube-apiserver must pass its health check
 * (scripts/lib/health.sh, the project's one definition of healthy, embedded at synth) before the script goes on,
 * and before the next host's delivery starts, so a rolling restart keeps etcd's quorum and an API server serving.
 * POSIX sh; on NixOS every tool used (coreutils, diffutils, systemd, curl: base.nix) is on the system PATH.
 * Pure, no cdktf: the delivery construct embeds these lines, the tests run them in a scratch directory.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { API_PORT, ETCD_CLIENT_PORT } from "../cluster/plan";
import { UNITS, type BundleFile, type Unit } from "./bundle";
import { pkiPath } from "./paths";
import { APP_ROOT } from "../app-root";

/** tmpfs, root-owned and not world-writable: staged keys never touch a disk and no other user can pre-create it. */
export const STAGING_DIR = "/run/k8s-pki-staging";

/**
 * The host's record of units owed a restart: one unit name per line, in a root-only (0700) directory on the root
 * file system. Persistent on purpose, not under /run: a reboot between two runs does restart every unit, but it
 * does not prove the new files healthy, and a run after the reboot that found no record would see every file
 * unchanged and go on to the next host without a health check. Outside PKI_DIR, which holds only delivered files.
 */
export const RESTART_RECORD_DIR = "/var/lib/k8s-pki";
export const RESTART_RECORD = `${RESTART_RECORD_DIR}/restart-owed`;

/** The project's one definition of healthy, shared with the rollout script (scripts/deploy-cluster.sh). */
export const HEALTH_LIBRARY = path.join(APP_ROOT, "scripts", "lib", "health.sh");

/** The health.sh check that gates the restart of a unit others depend on; units without one are not waited for. */
export const HEALTH_CHECK_OF: Partial<Record<Unit, string>> = { etcd: "etcd-member", "kube-apiserver": "apiserver" };

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
 * health.sh as lines of the install script: read at synth (deterministic: the file in the repository), without
 * blank lines (terraform's remote-exec rejects empty inline commands), sourced as a library.
 */
export function healthLibraryLines(): string[] {
  return readFileSync(HEALTH_LIBRARY, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");
}

/** The K8S_* inputs of health.sh, from src/pki/paths.ts and the plan's ports (under destDir). */
export function healthEnvironment(options: ScriptOptions): string[] {
  const file = (id: Parameters<typeof pkiPath>[0]) => shellQuote((options.destDir ?? "") + pkiPath(id));
  return [
    "K8S_HEALTH_LIBRARY=1",
    `K8S_HEALTH_SUDO=${shellQuote(sudo(options))}`,
    `K8S_ETCD_CA=${file("etcdCaCert")}`,
    `K8S_ETCD_CERT=${file("etcdHealthcheckClientCert")}`,
    `K8S_ETCD_KEY=${file("etcdHealthcheckClientKey")}`,
    `K8S_ETCD_PORT=${ETCD_CLIENT_PORT}`,
    `K8S_CA=${file("kubernetesCaCert")}`,
    `K8S_API_PORT=${API_PORT}`,
  ];
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
 * Installs the staged bundle and restarts the units owed a restart, in UNITS order:
 * 1. every unit reading a staged file that differs from the installed one, plus every unit the host's record
 *    still lists (an earlier run that failed, was killed or was cut short by a reboot), is written to the record;
 * 2. the files are installed;
 * 3. each owed unit is restarted (a no-op while it is not installed or not running); after etcd or
 *    kube-apiserver the script waits (bounded) for `k8s_healthy etcd-member` / `k8s_healthy apiserver` and fails
 *    the delivery if it does not pass; a unit leaves the record only after that.
 */
export function installScript(files: readonly BundleFile[], options: ScriptOptions): string[] {
  const s = sudo(options);
  const dest = options.destDir ?? "";
  const timeout = options.healthTimeoutSeconds ?? HEALTH_TIMEOUT_SECONDS;
  if (!Number.isInteger(timeout) || timeout <= 0) throw new Error(`healthTimeoutSeconds must be a positive whole number (got ${timeout})`);
  const directories = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf("/"))))].sort();
  const units = UNITS.filter((u) => files.some((f) => f.units.includes(u)));
  const checked = units.filter((u) => HEALTH_CHECK_OF[u] !== undefined);
  const lines = [
    "#!/bin/sh",
    "set -eu",
    `staging=${shellQuote(options.stagingDir ?? STAGING_DIR)}`,
    `record_dir=${shellQuote(dest + RESTART_RECORD_DIR)}`,
    `record=${shellQuote(dest + RESTART_RECORD)}`,
    `trap '${s}rm -rf "$staging"' EXIT`,
    "# differs <staged name> <target>: the staged file is not what is installed (or nothing is)",
    "differs() {",
    `  ! ${s}cmp -s "$staging/$1" "$2"`,
    "}",
    "# put <staged name> <target> <mode> <uid> <gid>: write beside the target, then rename over it",
    "put() {",
    `  ${s}install -m "$3" -o "$4" -g "$5" "$staging/$1" "$2.new"`,
    `  ${s}mv -f "$2.new" "$2"`,
    "}",
    "# owed: the units still owed a restart, in restart order",
    "owed() {",
    ...units.map((u) => `  if [ "$${variable(u)}" = 1 ]; then echo ${u}; fi`),
    "  return 0",
    "}",
    "# write_record: replace the record by the owed units (none: remove it); durable before it returns",
    "write_record() {",
    '  list=$(owed)',
    '  if [ -z "$list" ]; then',
    `    ${s}rm -f "$record"`,
    "  else",
    `    printf '%s\\n' "$list" | ${s}tee "$record.new" >/dev/null`,
    `    ${s}chmod 0600 "$record.new"`,
    `    ${s}sync "$record.new"`,
    `    ${s}mv -f "$record.new" "$record"`,
    "  fi",
    `  ${s}sync "$record_dir"`,
    "}",
    ...(checked.length > 0
      ? [
          "# the project's definition of healthy (scripts/lib/health.sh), with this host's files",
          ...healthEnvironment(options),
          ...healthLibraryLines(),
          `# await_healthy <unit> <check>: wait up to ${timeout} s for the check; else stop the delivery (no further restarts here, none on the next host)`,
          "await_healthy() {",
          `  echo "k8s-pki: waiting for $1.service to pass its health check (k8s_healthy $2, up to ${timeout} s)"`,
          `  deadline=$(( $(date +%s) + ${timeout} ))`,
          '  until seen=$(k8s_healthy "$2"); do',
          '    if [ "$(date +%s)" -ge "$deadline" ]; then',
          `      echo "k8s-pki: $1.service was restarted for new PKI files but did not pass its health check (k8s_healthy $2: $seen) within ${timeout} s; stopping the delivery so no other member restarts; the restart stays owed in $record and a re-run retries it. See: journalctl -u $1.service" >&2`,
          "      exit 1",
          "    fi",
          `    sleep ${HEALTH_INTERVAL_SECONDS}`,
          "  done",
          '  echo "k8s-pki: $seen"',
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
    ...(checked.length > 0 ? ['  case "$1" in', ...checked.map((u) => `    ${u}) await_healthy "$1" ${HEALTH_CHECK_OF[u]} ;;`), "  esac"] : []),
    "}",
    `${s}install -d -m 0700 -o 0 -g 0 "$record_dir"`,
    `previous=" $(${s}cat "$record" 2>/dev/null | tr '\\n' ' ') "`,
    ...units.map((u) => `case "$previous" in *" ${u} "*) ${variable(u)}=1 ;; *) ${variable(u)}=0 ;; esac`),
  ];
  // Every file must have been staged before anything is owed or installed (the staging directory is the login user's).
  lines.push(
    `for f in ${files.map((f) => shellQuote(stagedName(f))).join(" ")}; do`,
    '  [ -f "$staging/$f" ] || { echo "k8s-pki: staged file $staging/$f is missing; nothing was installed" >&2; exit 1; }',
    "done",
  );
  for (const f of files) {
    if (f.units.length > 0) lines.push(`if differs ${shellQuote(stagedName(f))} ${shellQuote(dest + f.path)}; then ${f.units.map((u) => `${variable(u)}=1`).join("; ")}; fi`);
  }
  lines.push(
    "write_record",
    `${s}install -d -m 0755 -o 0 -g 0 ${directories.map((d) => shellQuote(dest + d)).join(" ")}`,
    ...files.map((f) => `put ${shellQuote(stagedName(f))} ${shellQuote(dest + f.path)} ${f.mode} ${f.uid} ${f.gid}`),
  );
  for (const u of units) lines.push(`if [ "$${variable(u)}" = 1 ]; then restart ${u}; ${variable(u)}=0; write_record; fi`);
  return lines;
}
