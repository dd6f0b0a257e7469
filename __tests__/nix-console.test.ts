/**
 * The serial console for recovery (nixos/modules/console.nix) as every host and base image of every example gets
 * it: GRUB and the kernel on ttyS0, a getty there, root's password from a root-only file outside the Nix store;
 * and scripts/console-password.sh, run against the generated files with a stand-in ssh that executes the remote
 * command as root in a private mount namespace (tmpfs /var/lib and /run), so the file's mode, content and the
 * re-activation are checked for real, without touching this machine.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { evalJson, nixPathLiteral, REPO } from "./nix/eval";

const WALKER = path.join(REPO, "__tests__/nix/module-option-paths.nix");
const CONSOLE = evalJson<{ device: string; speed: number; passwordHashFile: string; credentialDir: string }>(`import ${nixPathLiteral(path.join(REPO, "nixos/lib/console.nix"))}`);
const PLANS: ClusterPlan[] = ["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/gcp.yaml", "clusters/laptop.yaml"].map((f) => loadCluster(f, REPO).plan);
const COLLECT = [
  "boot.kernelParams",
  "boot.loader.grub.extraConfig",
  "boot.loader.timeout",
  "users.users.<name>.hashedPasswordFile",
  "systemd.services.<name>.enable",
  "systemd.services.<name>.wantedBy",
  "systemd.tmpfiles.rules",
] as const;

interface Walk {
  unknown: string[];
  collected: Record<string, unknown[]>;
  /** By the path as set, each definition with its override priority. */
  collectedAt: Record<string, { value: unknown; priority: number }[]>;
}

function walk(modules: string[], args: string): Walk {
  const list = modules.map((m) => nixPathLiteral(path.join(REPO, m))).join(" ");
  const collect = COLLECT.map((p) => JSON.stringify(p)).join(" ");
  return evalJson<Walk>(`import ${nixPathLiteral(WALKER)} { modules = [ ${list} ]; collect = [ ${collect} ]; ${args} }`);
}

const cases = PLANS.flatMap((plan) => {
  const hardware = `nixos/modules/hardware/${plan.target}.nix`;
  const index = nixPathLiteral(path.join(REPO, "nixos/clusters", plan.cluster, "default.nix"));
  const image = [`${plan.cluster} base image`, plan, walk(["nixos/modules/base.nix", "nixos/modules/access.nix", hardware], `access = (import ${index}).ssh;`)] as const;
  const hosts = plan.hosts.map((host) => {
    const file = nixPathLiteral(path.join(REPO, "nixos/clusters", plan.cluster, "hosts", `${host.name}.nix`));
    return [`${plan.cluster}/${host.name}`, plan, walk(["nixos/modules", hardware], `hostFile = import ${file};`)] as const;
  });
  return [image, ...hosts];
});

describe.each(cases)("%s", (_name, plan, result) => {
  const values = (option: (typeof COLLECT)[number]) => result.collected[option] ?? [];
  const at = (option: string) => (result.collectedAt[option] ?? []).map((d) => d.value);

  it("puts the kernel's console on ttyS0 at 115200 baud", () => {
    expect(values("boot.kernelParams").flat()).toContain("console=ttyS0,115200n8");
  });

  it("puts GRUB's menu on the first serial port, input and output", () => {
    const grub = values("boot.loader.grub.extraConfig").join("\n");
    expect(grub).toContain("serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1");
    expect(grub).toMatch(/^terminal_input serial console$/m);
    expect(grub).toMatch(/^terminal_output serial console$/m);
  });

  it("runs a getty on ttyS0, whatever the headless profile defaults to", () => {
    expect(at("systemd.services.serial-getty@ttyS0.enable")).toEqual([true]);
    expect(at("systemd.services.serial-getty@ttyS0.wantedBy").flat()).toContain("getty.target");
  });

  it("takes root's console password from a root-only file outside the Nix store, and from nowhere else", () => {
    expect(values("users.users.<name>.hashedPasswordFile")).toEqual(["/var/lib/console-credentials/root-password-hash"]);
    expect(at("users.users.root.hashedPasswordFile")).toEqual(["/var/lib/console-credentials/root-password-hash"]);
    expect(values("systemd.tmpfiles.rules").flat()).toContain("d /var/lib/console-credentials 0700 root root -");
    // No password option is set anywhere: the walker reports any option outside option-paths.json as unknown,
    // and none of hashedPassword, password, initialPassword, initialHashedPassword is listed there.
    expect(result.unknown).toEqual([]);
    const listed = Object.keys((JSON.parse(readFileSync(path.join(REPO, "nixos/option-paths.json"), "utf8")) as { options: object }).options);
    expect(listed.filter((o) => /users\.users\.<name>\.(hashedPassword|password|initialPassword|initialHashedPassword)$/.test(o))).toEqual([]);
  });

  if (plan.target === "gcp") {
    it("shows GRUB's menu for 3 seconds (the GCE module's 0 would leave no way to boot an older generation)", () => {
      // mkForce (priority 50), over the GCE module's plain 0 (the real-module evaluation, nixos-eval, reads 3 on
      // every GCP host).
      expect(result.collectedAt["boot.loader.timeout"]).toEqual([{ value: 3, priority: 50 }]);
    });
  }
});

it("nixos/lib/console.nix names the same file and device the module and the script use", () => {
  expect(CONSOLE).toMatchObject({ device: "ttyS0", speed: 115200, credentialDir: "/var/lib/console-credentials", passwordHashFile: "/var/lib/console-credentials/root-password-hash" });
  const script = readFileSync(path.join(REPO, "scripts/console-password.sh"), "utf8");
  expect(script).toContain(`dir=${CONSOLE.credentialDir}\n`);
  expect(script).toContain("file=$dir/root-password-hash\n");
});

describe("scripts/console-password.sh", () => {
  const isRoot = process.getuid?.() === 0;
  const HASH = "$6$rounds=5000$saltsalt$Gk2TUQqsNkP0Jq1pVXxvZx2yQbJ5w6OOo7wp8nVQ9cZcD4Y1x7Vq8Wf3l9m4hY0ZmF6QnR5e2S3aT1uB0cXyz.";
  let work: string;
  let results: string;

  // The stand-in ssh: records the destination, then runs the remote command as root in a private mount namespace
  // where /var/lib and /run are empty tmpfs, with a stand-in activate that reports what it finds.
  const SSH = `#!/usr/bin/env bash
set -eu
dest="\${@: -2:1}"; cmd="\${@: -1}"
out="$RESULTS/\${dest#*@}"
mkdir -p "$out"
printf '%s\\n' "$@" >"$out/args"
exec unshare -m --propagation private bash -c '
  set -eu
  mount -t tmpfs none /var/lib; mount -t tmpfs none /run
  mkdir -p /run/current-system
  printf "%s\\n" "#!/bin/sh" "stat -c \\"%a %U\\" /var/lib/console-credentials >\\"$1/dir\\" 2>/dev/null || echo none >\\"$1/dir\\"" "stat -c \\"%a %U\\" /var/lib/console-credentials/root-password-hash >\\"$1/file\\" 2>/dev/null || echo none >\\"$1/file\\"" "cat /var/lib/console-credentials/root-password-hash >\\"$1/content\\" 2>/dev/null || true" "echo activated >\\"$1/activated\\"" "echo setting up /etc..." >/run/current-system/activate
  chmod +x /run/current-system/activate
  if [ "\${2:-}" = "existing" ]; then mkdir -p /var/lib/console-credentials; echo old >/var/lib/console-credentials/root-password-hash; fi
  sh -c "$0"
' "$cmd" "$out" "\${EXISTING:-}"
`;

  beforeEach(() => {
    work = mkdtempSync(path.join(tmpdir(), "console-password-"));
    results = path.join(work, "results");
    mkdirSync(path.join(work, "scripts"), { recursive: true });
    cpSync(path.join(REPO, "scripts/console-password.sh"), path.join(work, "scripts/console-password.sh"));
    cpSync(path.join(REPO, "scripts/lib"), path.join(work, "scripts/lib"), { recursive: true });
    cpSync(path.join(REPO, "nixos/clusters"), path.join(work, "nixos/clusters"), { recursive: true });
    cpSync(path.join(REPO, "nixos/lib"), path.join(work, "nixos/lib"), { recursive: true });
    rmSync(path.join(work, "nixos/clusters/gcp/outputs.json"), { force: true });
    mkdirSync(path.join(work, "bin"));
    writeFileSync(path.join(work, "bin/ssh"), SSH);
    writeFileSync(path.join(work, "bin/sudo"), '#!/usr/bin/env bash\n[ "$1" = "-n" ] && shift\necho sudo >>"$RESULTS/sudo-calls"\nexec "$@"\n');
    chmodSync(path.join(work, "bin/ssh"), 0o755);
    chmodSync(path.join(work, "bin/sudo"), 0o755);
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  const run = (args: string[], input: string, env: Record<string, string> = {}) =>
    spawnSync("bash", [path.join(work, "scripts/console-password.sh"), ...args], {
      cwd: work,
      input,
      encoding: "utf8",
      env: { ...process.env, PATH: `${path.join(work, "bin")}:${process.env.PATH}`, RESULTS: results, ...env },
    });
  const state = (address: string, what: string) => readFileSync(path.join(results, address, what), "utf8").trim();

  (isRoot ? it : it.skip)("writes the hash to every host of the cluster, 0600 in a 0700 directory, and re-activates", () => {
    const result = run(["local"], `${HASH}\n`);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const addresses = ["10.240.0.5", "10.240.0.6", "10.240.0.10", "10.240.0.11", "10.240.0.12", "10.240.0.20", "10.240.0.21", "10.240.0.22", "10.240.0.50", "10.240.0.51"];
    expect(readdirSync(results).sort()).toEqual([...addresses].sort());
    for (const address of addresses) {
      const args = state(address, "args").split("\n");
      expect(args.slice(0, 2)).toEqual(["-o", "BatchMode=yes"]);
      expect(args.at(-2)).toBe(`root@${address}`);
      // No known_hosts file in this checkout: the user's own SSH configuration decides.
      expect(args.join(" ")).not.toContain("UserKnownHostsFile");
      // The hash is on stdin only, never on a command line.
      expect(state(address, "args")).not.toContain(HASH);
      expect(state(address, "dir")).toBe("700 root");
      expect(state(address, "file")).toBe("600 root");
      expect(state(address, "content")).toBe(HASH);
      expect(state(address, "activated")).toBe("activated");
    }
    expect(result.stdout.split("\n").filter(Boolean)).toEqual(["lb-1", "lb-2", "etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "worker-1", "worker-2"].map((h) => `local/${h}: console password set`));
  }, 60_000);

  (isRoot ? it : it.skip)("rotates on the hosts named only, and removes the file with --remove", () => {
    const rotated = run(["local-stacked", "cp-2"], `${HASH}\n`, { EXISTING: "existing" });
    expect(rotated.status).toBe(0);
    expect(readdirSync(results)).toEqual(["10.241.0.21"]);
    expect(state("10.241.0.21", "content")).toBe(HASH);
    rmSync(results, { recursive: true, force: true });
    const removed = run(["--remove", "local-stacked", "cp-2"], "", { EXISTING: "existing" });
    expect(removed.stderr).toBe("");
    expect(removed.status).toBe(0);
    expect(state("10.241.0.21", "file")).toBe("none");
    expect(state("10.241.0.21", "activated")).toBe("activated");
    expect(removed.stdout).toBe("local-stacked/cp-2: console password removed (root locked)\n");
  }, 60_000);

  (isRoot ? it : it.skip)("checks host keys against the cluster's known_hosts when it exists", () => {
    mkdirSync(path.join(work, "secrets/local-stacked"), { recursive: true });
    writeFileSync(path.join(work, "secrets/local-stacked/known_hosts"), "10.241.0.21 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBkeyplaceholderkeyplaceholderkeyplaceholder\n", { mode: 0o600 });
    const result = run(["local-stacked", "cp-2"], `${HASH}\n`);
    expect(result.status).toBe(0);
    const args = state("10.241.0.21", "args").split("\n");
    expect(args).toEqual(expect.arrayContaining(["UserKnownHostsFile=secrets/local-stacked/known_hosts", "StrictHostKeyChecking=yes"]));
  }, 60_000);

  it("refuses a plain password, naming how to make a hash, and contacts no host", () => {
    const result = run(["local"], "correct horse battery staple\n");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      `${path.join(work, "scripts/console-password.sh")}: stdin is not one crypt(3) password hash (such as $6$... or $y$...); a plain password is refused. Make a hash with \`mkpasswd -m sha-512\` (Debian: package whois) or \`openssl passwd -6\`\n`,
    );
    expect(() => readdirSync(results)).toThrow();
  });

  it("refuses an unknown host or cluster, naming what exists", () => {
    const host = run(["local", "cp-9"], `${HASH}\n`);
    expect(host.status).toBe(1);
    expect(host.stderr).toContain('cluster local has no host "cp-9" (hosts: lb-1 lb-2 etcd-1 etcd-2 etcd-3 cp-1 cp-2 cp-3 worker-1 worker-2)');
    const cluster = run(["nope"], `${HASH}\n`);
    expect(cluster.status).toBe(1);
    expect(cluster.stderr).toContain('no generated files for cluster "nope" (nixos/clusters/nope/default.nix)');
  });

  it("on GCP before the outputs are saved, says which command gives the addresses", () => {
    const result = run(["gcp"], `${HASH}\n`);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("nixos/clusters/gcp/outputs.json is missing");
    expect(result.stderr).toContain("npm run outputs -- clusters/gcp.yaml");
  });
});
