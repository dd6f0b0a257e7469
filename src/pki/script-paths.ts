/**
 * Where a delivery's remote-exec scripts land on a host. Terraform uploads each script (scp), `chmod 0777`s it and
 * then runs it, so its directory decides who else could read or rewrite it before it runs as root: Terraform's
 * default, /tmp, lets any local user do both. Here every script goes below the login user's home directory, where
 * an SSH session starts (hence the relative paths, which also work for a non-root ssh.user whose home the stacks do
 * not know). Pure data, no cdktf.
 */

/** Private directory for the scripts, relative to the home directory; created 0700 by the first script. */
export const REMOTE_SCRIPT_DIR = ".cache/k8s-pki";

/**
 * script_path of the first remote-exec, which creates REMOTE_SCRIPT_DIR: straight in the home directory, the one
 * private directory that exists before any delivery, also on hosts not redeployed yet (NixOS creates /root and
 * every users.users home 0700).
 */
export const FIRST_SCRIPT_PATH = "./.k8s-pki-prepare-%RAND%.sh";

/** script_path of every later remote-exec (the connection's default). */
export const SCRIPT_PATH = `./${REMOTE_SCRIPT_DIR}/terraform_%RAND%.sh`;

/**
 * Shell lines the first script runs (in the home directory): (re)create REMOTE_SCRIPT_DIR, owned by the login user
 * and 0700, and remove the scripts of earlier deliveries. After running a script Terraform overwrites it with an
 * empty file, so what a delivery leaves is empty files: its own first script in the home, the others in the folder.
 */
export function privateScriptDirCommands(): string[] {
  const dir = REMOTE_SCRIPT_DIR;
  return [
    `rm -f ./${FIRST_SCRIPT_PATH.slice(2).replace("%RAND%", "*")}`,
    `(umask 077 && mkdir -p ${dir})`,
    `if [ -L ${dir} ] || [ ! -O ${dir} ]; then echo "k8s-pki: ~/${dir} is not a directory owned by $(id -un); remove it and retry" >&2; exit 1; fi`,
    `chmod 0700 ${dir}`,
    `rm -f ${dir}/terraform_*.sh`,
  ];
}
