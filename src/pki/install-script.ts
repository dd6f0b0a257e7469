/**
 * The shell a delivery runs on a host (remote-exec): prepare a private staging directory, then install each
 * staged file with its owner and mode by an atomic same-directory rename and restart exactly the units whose
 * files changed. POSIX sh; on NixOS every tool used (coreutils, diffutils, systemd) is on the system PATH.
 * Pure, no cdktf: the delivery construct embeds these lines, the tests run them in a scratch directory.
 */
import { UNITS, type BundleFile, type Unit } from "./bundle";

/** tmpfs, root-owned and not world-writable: staged keys never touch a disk and no other user can pre-create it. */
export const STAGING_DIR = "/run/k8s-pki-staging";

export interface ScriptOptions {
  /** The SSH login user; any user but root runs every command through `sudo -n` (passwordless sudo needed). */
  readonly sshUser: string;
  /** Default STAGING_DIR. */
  readonly stagingDir?: string;
  /** Prefix of every installed path; default "" (the host's root). Lets the script be tried in a scratch directory. */
  readonly destDir?: string;
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

/** Installs the staged bundle and restarts the units whose files changed, in UNITS order. */
export function installScript(files: readonly BundleFile[], options: ScriptOptions): string[] {
  const s = sudo(options);
  const dest = options.destDir ?? "";
  const directories = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf("/"))))].sort();
  const units = UNITS.filter((u) => files.some((f) => f.units.includes(u)));
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
    "# restart <unit>: like systemctl try-restart, and a no-op while the unit is not installed yet (first delivery)",
    "restart() {",
    `  if [ "$(${s}systemctl show -p LoadState --value "$1.service")" = loaded ]; then`,
    `    ${s}systemctl try-restart "$1.service"`,
    "  fi",
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
