/**
 * A small network lab for tests that run real daemons (etcd, haproxy, keepalived, sshd) at the planned addresses:
 * one "switch" namespace holding a bridge, and one namespace per host, each joined to the bridge by a veth pair
 * whose host end is called eth0. Every address lives inside the lab's namespaces, never in the root namespace, so
 * parallel runs cannot collide and no traffic leaves the machine. Needs root and iproute2.
 *
 *   const lab = new NetnsLab("t14");             // names start with the tag and this process id
 *   lab.addHost("lb-1", ["10.240.0.5/24"]);
 *   const daemon = lab.spawn("lb-1", ["haproxy", "-db", "-f", cfg]);
 *   lab.exec("lb-1", ["ip", "-4", "addr"]).stdout;
 *   lab.cleanup();                              // kills every spawned process, deletes every namespace
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";

/** A line a spawned process printed, with the time (epoch ms) the lab received it. */
export interface OutputLine {
  readonly at: number;
  readonly text: string;
}

/** A process started with NetnsLab.spawn. */
export type LabProcess = ChildProcess & {
  /** Everything it printed so far (stdout and stderr). */
  log(): string;
  /** The same, line by line, with arrival times. */
  lines(): readonly OutputLine[];
  /**
   * Resolves with the first line matching `pattern` that arrived at or after `since` (epoch ms; default: any, also
   * one printed before the call); rejects after `timeoutMs` or when the process exits without printing one.
   */
  waitFor(pattern: RegExp, timeoutMs: number, since?: number): Promise<OutputLine>;
};

export interface ExecResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Whether this machine can run a lab: root, iproute2, and network namespaces that can be created. */
export function netnsLabAvailable(): { readonly ok: boolean; readonly reason: string } {
  if (typeof process.getuid === "function" && process.getuid() !== 0) return { ok: false, reason: "not root" };
  const ip = spawnSync("ip", ["-V"], { encoding: "utf8" });
  if (ip.error || ip.status !== 0) return { ok: false, reason: "iproute2 (ip) is not installed" };
  return { ok: true, reason: "" };
}

/** Whether `command` is on PATH. */
export function haveCommand(command: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" }).status === 0;
}

function run(argv: readonly string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(argv[0], argv.slice(1), { encoding: "utf8", input, timeout: 30_000 });
}

function must(argv: readonly string[]): void {
  const r = run(argv);
  if (r.status !== 0) throw new Error(`netns lab: ${argv.join(" ")} failed: ${r.stderr || r.error?.message}`);
}

export class NetnsLab {
  /** Prefix of every namespace and interface name of this lab (short: interface names are at most 15 chars). */
  readonly prefix: string;
  readonly switchNamespace: string;
  private readonly hosts = new Map<string, string>();
  private readonly processes: ChildProcess[] = [];
  private hostCount = 0;

  constructor(tag: string) {
    if (!/^[a-z][a-z0-9]{0,4}$/.test(tag)) throw new Error(`netns lab: tag "${tag}" must be 1-5 lower-case letters/digits`);
    this.prefix = `${tag}${process.pid % 100000}`;
    this.switchNamespace = `${this.prefix}-sw`;
    // A leftover of an earlier run with the same pid would make `ip netns add` fail.
    this.removeNamespaces();
    // Should the test process end without cleanup() (a crash, a timeout), still leave nothing behind.
    process.once("exit", () => this.removeNamespaces());
    must(["ip", "netns", "add", this.switchNamespace]);
    must(["ip", "-n", this.switchNamespace, "link", "add", "br0", "type", "bridge"]);
    must(["ip", "-n", this.switchNamespace, "link", "set", "br0", "up"]);
    must(["ip", "-n", this.switchNamespace, "link", "set", "lo", "up"]);
  }

  /** The namespace of a host added with addHost. */
  namespace(host: string): string {
    const ns = this.hosts.get(host);
    if (!ns) throw new Error(`netns lab: no host "${host}"`);
    return ns;
  }

  /** Adds a host namespace with eth0 on the lab's bridge and the given addresses ("10.240.0.5/24"). */
  addHost(host: string, addresses: readonly string[]): string {
    if (this.hosts.has(host)) throw new Error(`netns lab: host "${host}" added twice`);
    const ns = `${this.prefix}-${host}`;
    const port = `${this.prefix}p${this.hostCount++}`.slice(0, 15);
    must(["ip", "netns", "add", ns]);
    this.hosts.set(host, ns);
    must(["ip", "link", "add", "name", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", this.switchNamespace]);
    must(["ip", "-n", this.switchNamespace, "link", "set", port, "master", "br0", "up"]);
    must(["ip", "-n", ns, "link", "set", "lo", "up"]);
    for (const address of addresses) must(["ip", "-n", ns, "addr", "add", address, "dev", "eth0"]);
    must(["ip", "-n", ns, "link", "set", "eth0", "up"]);
    return ns;
  }

  /** Runs a command in a host's namespace and waits for it (30 s at most). */
  exec(host: string, argv: readonly string[], input?: string): ExecResult {
    const r = run(["ip", "netns", "exec", this.namespace(host), ...argv], input);
    return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? r.error?.message ?? "" };
  }

  /** Starts a long-running process in a host's namespace; cleanup() kills it. Its output is kept (see LabProcess). */
  spawn(host: string, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): LabProcess {
    const child = spawn("ip", ["netns", "exec", this.namespace(host), ...argv], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    const lines: OutputLine[] = [];
    const waiters = new Set<() => void>();
    // One line buffer per stream, so lines of stdout and stderr never run into each other.
    const collect = (stream: NodeJS.ReadableStream | null) => {
      let partial = "";
      const add = (texts: string[]) => {
        const at = Date.now();
        for (const text of texts) lines.push({ at, text });
        for (const check of waiters) check();
      };
      stream?.on("data", (d: Buffer) => {
        output += d.toString();
        const parts = (partial + d.toString()).split("\n");
        partial = parts.pop() ?? "";
        add(parts);
      });
      stream?.on("end", () => partial && add([partial]));
    };
    collect(child.stdout);
    collect(child.stderr);
    this.processes.push(child);
    const waitFor = (pattern: RegExp, timeoutMs: number, since = 0) =>
      new Promise<OutputLine>((resolve, reject) => {
        const finish = (error?: Error, line?: OutputLine) => {
          waiters.delete(check);
          child.off("close", exited);
          clearTimeout(timer);
          if (line) resolve(line);
          else reject(error);
        };
        const check = () => {
          const line = lines.find((l) => l.at >= since && pattern.test(l.text));
          if (line) finish(undefined, line);
        };
        const exited = () => {
          check();
          finish(new Error(`netns lab: ${argv.join(" ")} exited before printing ${pattern}:\n${output}`));
        };
        const timer = setTimeout(() => finish(new Error(`netns lab: ${argv.join(" ")} did not print ${pattern} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
        waiters.add(check);
        // "close": the process has exited and everything it printed has been read.
        child.once("close", exited);
        check();
      });
    return Object.assign(child, { log: () => output, lines: () => lines, waitFor });
  }

  /** Kills one spawned process (and its process group) and waits until it is gone (5 s at most). */
  async stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    try {
      process.kill(-child.pid, signal);
    } catch {
      return;
    }
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 5000).unref());
    await Promise.race([gone, timeout]);
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }

  /** Kills every spawned process, then every process left in the lab's namespaces, then deletes them. */
  async cleanup(): Promise<void> {
    await Promise.all(this.processes.map((p) => this.stop(p, "SIGKILL")));
    this.removeNamespaces();
  }

  private removeNamespaces(): void {
    const list = run(["ip", "netns", "list"]).stdout ?? "";
    const mine = list
      .split("\n")
      .map((line) => line.split(" ")[0])
      .filter((ns) => ns.startsWith(`${this.prefix}-`));
    for (const ns of mine) {
      const pids = (run(["ip", "netns", "pids", ns]).stdout ?? "").split("\n").filter(Boolean);
      for (const pid of pids) run(["kill", "-9", pid]);
      run(["ip", "netns", "delete", ns]);
    }
  }
}
