/**
 * A real dnsmasq serving the dynamic range the laptop example's network stylesheet writes: the range is read off
 * the XML that xsltproc makes of provider 0.8.3's network XML, dnsmasq gets it as libvirt passes it
 * (`dhcp-range=<start>,<end>,<netmask>`) plus the reservation a domain adds (`dhcp-host=<mac>,<ip>,<name>`).
 * A planned host's MAC gets its reserved address, which lies outside the range; a machine without a reservation
 * gets an address inside it, and asking for the API VIP does not get it the VIP.
 *
 * Everything runs in a NetnsLab (__tests__/helpers/netns.ts): the host running dnsmasq and two clients on the lab's
 * bridge; nothing is added to the root namespace.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseIp } from "../src/cluster/ipv4";
import { loadCluster } from "../src/cluster/load";
import { REPO_ROOT } from "./helpers/descriptions";
import { resourcesOf, synthLibvirt } from "./helpers/libvirt-synth";
import { haveCommand, NetnsLab, netnsLabAvailable, type LabProcess } from "./helpers/netns";

const lab = netnsLabAvailable();
const missing = ["dnsmasq", "busybox", "xsltproc"].filter((tool) => !haveCommand(tool));
const canRun = lab.ok && missing.length === 0;
if (!canRun) {
  // CI runs as root with these installed (.ci/run); elsewhere say why nothing ran.
  console.warn(`libvirt-dhcp-range.test.ts skipped: ${!lab.ok ? lab.reason : `missing ${missing.join(", ")}`}`);
}

function sh(command: string): string {
  const result = spawnSync("sh", ["-c", command], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command}: ${result.stderr}`);
  return result.stdout;
}

const plan = loadCluster("clusters/laptop.yaml", REPO_ROOT).plan;
const cp1 = plan.hosts.find((h) => h.name === "cp-1")!;

/** The range dnsmasq gets: the stylesheet of the synthesized network, applied by xsltproc to the provider's XML. */
function rangeFromStylesheet(work: string): { start: string; end: string } {
  const [, network] = resourcesOf(synthLibvirt(plan).network, "libvirt_network")[0];
  writeFileSync(path.join(work, "style.xsl"), network.xml.xslt as string);
  writeFileSync(
    path.join(work, "network.xml"),
    `<network><name>laptop</name><forward mode="nat"></forward><bridge name="k8s-laptop" stp="on"></bridge>
<ip address="10.242.0.1" family="ipv4" prefix="24"><dhcp><range start="10.242.0.2" end="10.242.0.254"></range></dhcp></ip></network>\n`,
  );
  const out = sh(`xsltproc ${path.join(work, "style.xsl")} ${path.join(work, "network.xml")}`);
  const match = /<range start="([\d.]+)" end="([\d.]+)"\/>/.exec(out);
  if (!match) throw new Error(`no <range> in the transformed XML:\n${out}`);
  return { start: match[1], end: match[2] };
}

(canRun ? describe : describe.skip)("dnsmasq with the planned dynamic range (real daemon, network namespaces)", () => {
  let work: string;
  let net: NetnsLab | undefined;
  let dnsmasq: LabProcess;
  let range: { start: string; end: string };

  const cleanup = async () => {
    await net?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  };

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "dhcp-range-"));
    try {
      range = rangeFromStylesheet(work);
      net = new NetnsLab("t10b");
      net.addHost("host", ["10.242.0.1/24"]);
      // The planned host with its planned MAC (the one its reservation names), and a machine with none.
      for (const [client, mac] of [["planned", cp1.mac], ["other", "52:54:00:aa:bb:cc"]] as const) {
        net.addHost(client, []);
        const set = net.exec(client, ["sh", "-c", `ip link set eth0 down && ip link set eth0 address ${mac} && ip link set eth0 up`]);
        if (set.status !== 0) throw new Error(`setting ${client}'s MAC: ${set.stderr}`);
      }
      dnsmasq = net.spawn("host", [
        "dnsmasq", "--keep-in-foreground", "--log-facility=-", "--user=root", "--conf-file=/dev/null", "--port=0", "--interface=eth0", "--bind-interfaces",
        "--dhcp-authoritative", "--dhcp-no-override", `--dhcp-range=${range.start},${range.end},255.255.255.0`,
        `--dhcp-host=${cp1.mac},${cp1.address},${cp1.name}`, `--dhcp-leasefile=${path.join(work, "leases")}`, `--pid-file=${path.join(work, "dnsmasq.pid")}`,
      ]);
      // Bounded wait for dnsmasq to write its pid file (it listens by then).
      for (let i = 0; i < 50 && !existsSync(path.join(work, "dnsmasq.pid")); i++) await new Promise((r) => setTimeout(r, 100));
      if (!existsSync(path.join(work, "dnsmasq.pid"))) throw new Error(`dnsmasq did not start: ${dnsmasq.log()}`);
      const script = path.join(work, "udhcpc.sh");
      writeFileSync(script, '#!/bin/sh\n[ "$1" = bound ] && echo "$ip" >"$LEASE_OUT"\nexit 0\n');
      chmodSync(script, 0o755);
    } catch (e) {
      await cleanup();
      throw e;
    }
  }, 30_000);
  afterAll(cleanup);

  /** One DHCP exchange from a lab host with busybox udhcpc (5 tries, 1 s apart); the address it was offered. */
  function lease(client: string, requested?: string): string {
    const out = path.join(work, `${client}.lease`);
    rmSync(out, { force: true });
    const args = ["netns", "exec", net!.namespace(client), "busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "1", "-s", path.join(work, "udhcpc.sh"), ...(requested ? ["-r", requested] : [])];
    const result = spawnSync("ip", args, { encoding: "utf8", env: { ...process.env, LEASE_OUT: out }, timeout: 20_000 });
    if (result.status !== 0 || !existsSync(out)) throw new Error(`udhcpc on ${client} got no lease: ${result.stderr}`);
    return readFileSync(out, "utf8").trim();
  }
  const inRange = (address: string) => parseIp(address)! >= parseIp(range.start)! && parseIp(address)! <= parseIp(range.end)!;

  it("the stylesheet gives dnsmasq the top quarter of the laptop subnet", () => {
    expect(range).toEqual({ start: "10.242.0.192", end: "10.242.0.254" });
  });

  it("a planned host gets its reserved address, which lies outside the dynamic range", () => {
    expect(lease("planned")).toBe("10.242.0.20");
    expect(inRange("10.242.0.20")).toBe(false);
  }, 30_000);

  it("a machine without a reservation gets an address from the dynamic range, and never the VIP it asks for", () => {
    const first = lease("other");
    expect(inRange(first)).toBe(true);
    const askedForVip = lease("other", plan.api.address);
    expect(askedForVip).not.toBe(plan.api.address);
    expect(inRange(askedForVip)).toBe(true);
  }, 60_000);
});
