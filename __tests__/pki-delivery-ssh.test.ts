/**
 * A real delivery over SSH: the synthesized terraform_data of a worker, applied by the bare terraform binary (no
 * provider needed) from one network namespace against a real sshd in another. The tls/compute tokens are replaced by
 * literals (the address, the host key, each file's content); the connection, the scripts and the provisioners are
 * the synthesized ones. sshd runs in a private mount namespace whose /root, /home, /tmp, /run and /var/lib are
 * folders of the test, so every file the delivery writes lands there and nothing of this machine is touched.
 *
 * It shows: a host answering with another key is refused before anything is uploaded; with the right key every file
 * lands at its path with its mode and owner, the first script lands in the login user's 0700 home and every other
 * one in a 0700 folder it makes there (none in /tmp), the staging folder is gone afterwards; and for a non-root
 * ssh.user the same private script folder is made in its home; a bastion answering with another key is refused
 * (and before Terraform 1.16 even the right one: it checks the bastion against host_key). With the same sshd: ssh with the cluster's
 * known_hosts stops with "REMOTE HOST IDENTIFICATION HAS CHANGED" when the host serves another key, and
 * scripts/pin-host-keys.sh pins a pre-existing host's key (only when confirmed) and drops the pin once it is not needed.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { bundleFor } from "../src/pki/bundle";
import { changed, planFromObject } from "./helpers/descriptions";
import { resourcesOf, synthLibvirt } from "./helpers/libvirt-synth";
import { haveCommand, NetnsLab, netnsLabAvailable } from "./helpers/netns";
import { resources, synthPki, type Json } from "./helpers/pki-synth";

const NODE = "10.213.0.10";
const OPERATOR = "10.213.0.2";
const BASTION = "10.213.0.3";
const HOST = "worker-1";
/** The non-root login user of the second case, known only to sshd's mount namespace. */
const USER = { name: "k8sop", uid: 4242 };

const lab = netnsLabAvailable();
const tools = ["terraform", "ssh-keygen", "ssh-agent", "ssh-add", "unshare"].filter((c) => !haveCommand(c));
const sshd = existsSync("/usr/sbin/sshd");
const ready = lab.ok && tools.length === 0 && sshd;
const describeReal = ready ? describe : describe.skip;
if (!ready) {
  const why = !lab.ok ? lab.reason : !sshd ? "/usr/sbin/sshd is missing (openssh-server)" : `missing ${tools.join(", ")}`;
  process.stderr.write(`pki-delivery-ssh: skipped (${why})\n`);
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8).padStart(4, "0");
const listing = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
/** /run of sshd's namespace, without mount(8)'s own /run/mount. */
const runListing = (dir: string) => listing(dir).filter((n) => n !== "mount");
/** Terraform overwrites a script with an empty file once it ran: what stays on the host. */
const PREPARE_LEFTOVER = /^\.k8s-pki-prepare-\d+\.sh$/;

function plan(user: string): ClusterPlan {
  return planFromObject(changed("clusters/local.yaml", (d) => (d.ssh.user = user)), "clusters/local.yaml");
}

/** The host's synthesized delivery resource. */
function deliveryOf(json: Json, host: string): Json {
  const entry = Object.entries(resources(json, "terraform_data")).find(([id]) => id.startsWith(`delivery-${host}_delivery_`));
  if (!entry) throw new Error(`no delivery for ${host}`);
  return entry[1];
}

/**
 * A terraform configuration with just this delivery, its tokens replaced by literals: the lab address, `hostKey`,
 * and per staged file a known content. `keep` limits the provisioners (by index) for the non-root case; `timeout`
 * bounds Terraform's connection retries (a refused key is retried until then).
 */
function testConfig(
  delivery: Json,
  hostKey: string,
  options: { keep?: (p: Json, i: number) => boolean; timeout?: string } = {},
): { config: Json; contents: Record<string, string> } {
  const { keep, timeout = "60s" } = options;
  const literal = (c: Json) => ({ ...c, host: NODE, host_key: hostKey, timeout });
  const contents: Record<string, string> = {};
  const provisioners = (delivery.provisioner as Json[])
    .filter((p, i) => (keep ? keep(p, i) : true))
    .map((p) => {
      if (p.file) {
        const text = `content of ${String(p.file.destination)}\n`;
        contents[String(p.file.destination)] = text;
        return { file: { ...p.file, content: text } };
      }
      const exec = p["remote-exec"];
      return { "remote-exec": { ...exec, ...(exec.connection ? { connection: literal(exec.connection) } : {}) } };
    });
  const config = { resource: { terraform_data: { delivery: { connection: literal(delivery.connection), provisioner: provisioners } } } };
  const text = JSON.stringify(config);
  if (/\$\{/.test(text)) throw new Error(`an unresolved reference is left in the test configuration: ${/.{40}\$\{.{60}/.exec(text)?.[0]}`);
  return { config, contents };
}

/**
 * The host's known_hosts line as the compute stack synthesizes it, with the lab's address for the planned one and
 * "KEY" for the public key Terraform makes.
 */
function knownHostsTemplate(): string {
  const planned = plan("root").hosts.find((h) => h.name === HOST)!;
  const [, file] = resourcesOf(synthLibvirt(plan("root")).compute, "local_sensitive_file")[0];
  const line = String(file.content)
    .split("\n")
    .find((l) => l.startsWith(`${HOST},`))!;
  return line.replaceAll(planned.address, NODE).replace(/\$\{trimspace\(tls_private_key\.host-keys_ssh-host-key-[^}]+\)\}$/, "KEY");
}

describe("the known_hosts line the real ssh below is given", () => {
  it("is the compute stack's: name, FQDN and address once, then the host's public key", () => {
    expect(knownHostsTemplate()).toBe(`${HOST},${HOST}.k8s.internal,${NODE} KEY`);
  });
});

describeReal("a real delivery over SSH (terraform_data, sshd in a network namespace)", () => {
  let net: NetnsLab;
  let dir: string;
  let agent: ChildProcess | undefined;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, SSH_AUTH_SOCK: path.join(dir, "agent.sock"), TF_CLI_CONFIG_FILE: "/dev/null", CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" });
  const fs = (p: string) => path.join(dir, "fs", p);
  const pubKey = (name: string) => readFileSync(path.join(dir, `${name}.pub`), "utf8").trim().split(" ").slice(0, 2).join(" ");

  /** terraform init + apply of `config` in a fresh folder, run in the operator's namespace. */
  function apply(name: string, config: Json): { status: number | null; output: string } {
    const work = path.join(dir, "tf", name);
    mkdirSync(work, { recursive: true });
    writeFileSync(path.join(work, "main.tf.json"), JSON.stringify(config, null, 2));
    const inNs = (args: string[]) =>
      spawnSync("ip", ["netns", "exec", net.namespace("operator"), "terraform", `-chdir=${work}`, ...args], { env: env(), encoding: "utf8", timeout: 90_000 });
    const init = inNs(["init", "-input=false", "-no-color"]);
    if (init.status !== 0) throw new Error(`terraform init failed: ${init.stdout}${init.stderr}`);
    const r = inNs(["apply", "-auto-approve", "-input=false", "-no-color"]);
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }

  beforeAll(async () => {
    // Not below /tmp: sshd's namespace gets its own /tmp, and it must still see its configuration and keys here.
    dir = mkdtempSync(path.join("/var/tmp", "pki-delivery-ssh-"));
    chmodSync(dir, 0o755);
    const sh = (command: string) => {
      const r = spawnSync("sh", ["-c", command], { cwd: dir, encoding: "utf8" });
      if (r.status !== 0) throw new Error(`${command}: ${r.stderr}`);
    };
    sh("ssh-keygen -q -t ed25519 -N '' -C operator -f user && ssh-keygen -q -t ed25519 -N '' -f host && ssh-keygen -q -t ed25519 -N '' -f impostor");
    sh("cp user.pub authorized_keys && chmod 0644 authorized_keys");
    // A bastion of yours, with the usual two host key types.
    sh("ssh-keygen -q -t ecdsa -N '' -f bastion-ecdsa && ssh-keygen -q -t ed25519 -N '' -f bastion-ed25519");
    mkdirSync(path.join(dir, "bastion-run", "sshd"), { recursive: true });
    // The host's private file system: homes 0700 (as NixOS makes them), /run with the privilege separation folder,
    // /tmp and /var/lib empty; accounts: this machine's plus the non-root user.
    for (const d of ["root", `home/${USER.name}`, "tmp", "run/sshd", "var-lib", "bin"]) mkdirSync(fs(d), { recursive: true });
    chmodSync(fs("root"), 0o700);
    chmodSync(fs(`home/${USER.name}`), 0o700);
    chownSync(fs(`home/${USER.name}`), USER.uid, USER.uid);
    chmodSync(fs("tmp"), 0o1777);
    chmodSync(fs("run"), 0o1777);
    writeFileSync(fs("passwd"), `${readFileSync("/etc/passwd", "utf8")}${USER.name}:x:${USER.uid}:${USER.uid}::/home/${USER.name}:/bin/sh\n`);
    writeFileSync(fs("group"), `${readFileSync("/etc/group", "utf8")}${USER.name}:x:${USER.uid}:\n`);
    writeFileSync(fs("shadow"), `${existsSync("/etc/shadow") ? readFileSync("/etc/shadow", "utf8") : ""}${USER.name}:*:19000:0:99999:7:::\n`, { mode: 0o640 });
    // A stand-in sudo for the non-root user (the prepare step runs `sudo -n`): runs the command as that user.
    writeFileSync(fs("bin/sudo"), '#!/bin/sh\n[ "$1" = -n ] && shift\nexec "$@"\n', { mode: 0o755 });
    writeFileSync(
      path.join(dir, "sshd_config"),
      [
        `ListenAddress ${NODE}`,
        `HostKey ${path.join(dir, "host")}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        "PidFile none",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        // As on the hosts (nixos/modules/access.nix): Terraform forwards the operator's agent to every host it
        // delivers to (agent = true); the hosts' sshd refuses it.
        "AllowAgentForwarding no",
        "",
      ].join("\n"),
    );

    net = new NetnsLab("t13b");
    net.addHost("node", [`${NODE}/24`]);
    net.addHost("operator", [`${OPERATOR}/24`]);
    net.addHost("bastion", [`${BASTION}/24`]);
    const binds = [
      ["root", "/root"],
      ["home", "/home"],
      ["tmp", "/tmp"],
      ["run", "/run"],
      ["var-lib", "/var/lib"],
      ["bin", "/usr/local/bin"],
      ["passwd", "/etc/passwd"],
      ["group", "/etc/group"],
      ["shadow", "/etc/shadow"],
    ]
      .map(([from, to]) => `mount --bind ${fs(from)} ${to}`)
      .join(" && ");
    const daemon = net.spawn("node", ["unshare", "-m", "--propagation", "private", "sh", "-c", `${binds} && exec /usr/sbin/sshd -D -e -f ${path.join(dir, "sshd_config")}`]);
    const bastionConfig = path.join(dir, "bastion_config");
    writeFileSync(
      bastionConfig,
      [
        `ListenAddress ${BASTION}`,
        `HostKey ${path.join(dir, "bastion-ecdsa")}`,
        `HostKey ${path.join(dir, "bastion-ed25519")}`,
        `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
        "PidFile none",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "",
      ].join("\n"),
    );
    const bastion = net.spawn("bastion", ["unshare", "-m", "--propagation", "private", "sh", "-c", `mount --bind ${path.join(dir, "bastion-run")} /run && exec /usr/sbin/sshd -D -e -f ${bastionConfig}`]);
    agent = spawn("ssh-agent", ["-D", "-a", path.join(dir, "agent.sock")], { stdio: "ignore", detached: true });
    for (let i = 0; i < 50 && !(daemon.log().includes("Server listening") && existsSync(path.join(dir, "agent.sock"))); i++) await new Promise((r) => setTimeout(r, 100));
    if (!daemon.log().includes("Server listening")) throw new Error(`sshd did not start: ${daemon.log()}`);
    for (let i = 0; i < 50 && !bastion.log().includes("Server listening"); i++) await new Promise((r) => setTimeout(r, 100));
    if (!bastion.log().includes("Server listening")) throw new Error(`the bastion's sshd did not start: ${bastion.log()}`);
    const add = spawnSync("ssh-add", ["-q", path.join(dir, "user")], { env: env(), encoding: "utf8" });
    if (add.status !== 0) throw new Error(`ssh-add: ${add.stderr}`);
  }, 60_000);

  afterAll(async () => {
    if (agent?.pid) {
      try {
        process.kill(-agent.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await net?.cleanup();
    if (dir && !process.env.KEEP_LAB) rmSync(dir, { recursive: true, force: true });
  });

  const root = deliveryOf(synthPki(plan("root")).json, HOST);

  it("refuses a host that answers with another key, before anything is uploaded", () => {
    const { config } = testConfig(root, pubKey("impostor"), { timeout: "5s" });
    const r = apply("impostor", config);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/knownhosts: key mismatch/);
    // Nothing reached the host: no script in the home or /tmp, no staging folder, no PKI file.
    expect(listing(fs("root"))).toEqual([]);
    expect(listing(fs("tmp"))).toEqual([]);
    expect(runListing(fs("run"))).toEqual(["sshd"]);
    expect(listing(fs("var-lib"))).toEqual([]);
  }, 90_000);

  it("with the host's key, installs every file with its mode and owner, and keeps every script in a private folder below the home", () => {
    const { config, contents } = testConfig(root, pubKey("host"));
    const r = apply("root", config);
    expect([r.status, r.output]).toEqual([0, expect.stringContaining("Apply complete! Resources: 1 added")]);
    const files = bundleFor(plan("root"), plan("root").hosts.find((h) => h.name === HOST)!);
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) {
      const onHost = fs(`var-lib/${f.path.slice("/var/lib/".length)}`);
      const st = statSync(onHost);
      expect([f.path, mode(onHost), st.uid, st.gid]).toEqual([f.path, f.mode, f.uid, f.gid]);
      expect(readFileSync(onHost, "utf8")).toBe(contents[`/run/k8s-pki-staging/${f.fileId}`]);
    }
    // The first script went straight into the home; the others into ~/.cache/k8s-pki (0700, root's); none to /tmp.
    // Once run, Terraform left each of them empty.
    const home = listing(fs("root"));
    expect(home).toHaveLength(2);
    expect(home[0]).toBe(".cache");
    expect(home[1]).toMatch(PREPARE_LEFTOVER);
    expect(statSync(fs(`root/${home[1]}`)).size).toBe(0);
    expect(mode(fs("root/.cache/k8s-pki"))).toBe("0700");
    expect(statSync(fs("root/.cache/k8s-pki")).uid).toBe(0);
    const scripts = listing(fs("root/.cache/k8s-pki"));
    expect(scripts.length).toBeGreaterThan(0);
    for (const name of scripts) expect([name, statSync(fs(`root/.cache/k8s-pki/${name}`)).size]).toEqual([expect.stringMatching(/^terraform_\d+\.sh$/), 0]);
    expect(listing(fs("tmp"))).toEqual([]);
    // The staging folder (the keys' only other copy) is gone.
    expect(runListing(fs("run"))).toEqual(["sshd"]);
  }, 90_000);

  /** ssh from the operator's namespace with only `knownHosts` trusted. */
  function sshWith(knownHosts: string): { status: number | null; output: string } {
    const r = spawnSync(
      "ip",
      ["netns", "exec", net.namespace("operator"), "ssh", "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", `root@${NODE}`, "true"],
      { env: env(), encoding: "utf8", timeout: 30_000 },
    );
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }
  const template = knownHostsTemplate();
  const knownHostsLine = (key: string) => `${template.replace("KEY", key)}\n`;

  it("makes ssh with the cluster's known_hosts stop when the host serves another key than the one Terraform made", () => {
    const file = path.join(dir, "known_hosts.changed");
    writeFileSync(file, knownHostsLine(pubKey("impostor")), { mode: 0o600 });
    const r = sshWith(file);
    expect(r.status).toBe(255);
    expect(r.output).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");
    writeFileSync(file, knownHostsLine(pubKey("host")), { mode: 0o600 });
    expect(sshWith(file)).toEqual({ status: 0, output: "" });
  }, 60_000);

  it("pins a pre-existing host's key only when confirmed, beside its Terraform key, and drops the pin when no longer needed", () => {
    const file = path.join(dir, "known_hosts.pin");
    // The host still serves the key it made itself ("host"); Terraform made another one ("impostor" here).
    writeFileSync(file, knownHostsLine(pubKey("impostor")), { mode: 0o644 });
    const pin = (args: string[]) =>
      spawnSync("ip", ["netns", "exec", net.namespace("operator"), "scripts/pin-host-keys.sh", "local", ...args], {
        env: { ...env(), KNOWN_HOSTS: file },
        encoding: "utf8",
        timeout: 60_000,
        stdio: ["ignore", "pipe", "pipe"],
      });
    const unconfirmed = pin([]);
    expect(unconfirmed.status).toBe(1);
    expect(unconfirmed.stderr).toContain(`${HOST}: not pinned`);
    expect(sshWith(file).output).toContain("REMOTE HOST IDENTIFICATION HAS CHANGED");

    const confirmed = pin(["--accept", HOST]);
    expect([confirmed.status, confirmed.stdout]).toEqual([0, expect.stringContaining("1 pinned key(s)")]);
    expect(mode(file)).toBe("0600");
    expect(readFileSync(file, "utf8")).toContain(knownHostsLine(pubKey("impostor")));
    expect(sshWith(file)).toEqual({ status: 0, output: "" });

    // Once the host serves its Terraform key, a second run drops the pin.
    writeFileSync(file, readFileSync(file, "utf8").replace(pubKey("impostor"), pubKey("host")));
    const again = pin([]);
    expect([again.status, again.stdout]).toEqual([0, expect.stringContaining("0 pinned key(s)")]);
    expect(readFileSync(file, "utf8")).toBe(knownHostsLine(pubKey("host")));
  }, 90_000);

  /** The local terraform's version, e.g. [1, 11, 4]. */
  function terraformVersion(): number[] {
    const r = spawnSync("terraform", ["version", "-json"], { env: env(), encoding: "utf8" });
    return String((JSON.parse(r.stdout) as { terraform_version: string }).terraform_version)
      .split(/[.-]/)
      .slice(0, 3)
      .map(Number);
  }

  it("refuses a bastion with another key; checks the real one against bastion_host_key only from Terraform 1.16 on (why the pki stack requires it with a bastion)", () => {
    const through = (name: string, bastionKey: string) => {
      const { config } = testConfig(root, pubKey("host"), { keep: (_p, i) => i === 0, timeout: "5s" });
      const viaBastion = (c: Json) => ({ ...c, bastion_host: BASTION, bastion_user: "root", bastion_host_key: bastionKey });
      const resource = config.resource.terraform_data.delivery;
      resource.connection = viaBastion(resource.connection);
      resource.provisioner[0]["remote-exec"].connection = viaBastion(resource.provisioner[0]["remote-exec"].connection);
      return apply(`bastion-${name}`, config);
    };
    const impostor = through("impostor", pubKey("impostor"));
    expect(impostor.status).not.toBe(0);
    expect(impostor.output).toMatch(/Error connecting to bastion: ssh: handshake failed:\s+knownhosts: key mismatch/);
    const [major, minor] = terraformVersion();
    const ecdsa = through("ecdsa", pubKey("bastion-ecdsa"));
    if (major > 1 || minor >= 16) {
      // The bastion also has an Ed25519 key, but Terraform's client asks for ECDSA first: only that one matches.
      expect([ecdsa.status, ecdsa.output]).toEqual([0, expect.stringContaining("Apply complete!")]);
      expect(through("ed25519", pubKey("bastion-ed25519")).output).toMatch(/Error connecting to bastion: .*key mismatch/s);
    } else {
      // hashicorp/terraform#38318: this Terraform checks the bastion against host_key, the target's key.
      expect(ecdsa.status).not.toBe(0);
      expect(ecdsa.output).toMatch(/Error connecting to bastion: ssh: handshake failed:\s+knownhosts: key mismatch/);
    }
  }, 120_000);

  it("makes the same private script folder in a non-root ssh.user's home", () => {
    const delivery = deliveryOf(synthPki(plan(USER.name)).json, HOST);
    // The prepare step (through the stand-in sudo), one file, and a probe run like every later script.
    const { config } = testConfig(delivery, pubKey("host"), { keep: (p, i) => i === 0 || (p.file !== undefined && i === 1) });
    const probe = { "remote-exec": { inline: ['stat -c "%a %U %n" "$0" "$(dirname "$0")" > probe.txt', 'echo "agent: [$SSH_AUTH_SOCK]" >> probe.txt'] } };
    config.resource.terraform_data.delivery.provisioner.push(probe);
    const r = apply("user", config);
    expect([r.status, r.output]).toEqual([0, expect.stringContaining("Apply complete!")]);
    const home = fs(`home/${USER.name}`);
    const lines = readFileSync(path.join(home, "probe.txt"), "utf8").trim().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^777 ${USER.name} \\./\\.cache/k8s-pki/terraform_\\d+\\.sh$`));
    expect(lines[1]).toBe(`700 ${USER.name} ./.cache/k8s-pki`);
    // The operator's agent never reached the host.
    expect(lines[2]).toBe("agent: []");
    expect(listing(home).filter((n) => !PREPARE_LEFTOVER.test(n))).toEqual([".cache", "probe.txt"]);
    expect(mode(home)).toBe("0700");
    expect(listing(fs("tmp"))).toEqual([]);
  }, 90_000);
});
