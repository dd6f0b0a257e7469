/**
 * Scaling a pool on libvirt touches only the host that comes or goes: its disk, its config disk, its domain and its
 * SSH host key, plus its DNS records (an in-place update of the network) and its line of the known_hosts file. Every
 * other resource keeps its address and its configuration, so terraform plans no change for any other VM.
 */
import { changed, planFromObject } from "./helpers/descriptions";
import { resourceAddresses, resourceAt, synthLibvirt, type Json } from "./helpers/libvirt-synth";

type Pool = "loadBalancer" | "etcd" | "controlPlane" | "worker";

function synthWithCount(file: string, pool: Pool, count: number): { network: Json; compute: Json } {
  return synthLibvirt(planFromObject(changed(file, (d) => (d.pools[pool].count = count)), file));
}

/** The compute resources that belong to `host`: its disk, config disk, domain and SSH host key (and an etcd member's data volume), as synthesized. */
function hostAddresses(compute: Json, host: string): string[] {
  const own = [`compute/compute/disk-${host}`, `compute/compute/config-disk-${host}`, `compute/compute/domain-${host}`, `compute/compute/etcd-data-${host}`, `compute/host-keys/ssh-host-key-${host}`];
  return resourceAddresses(compute).filter((address) => own.includes(resourceAt(compute, address)["//"].metadata.path as string));
}

/** The known_hosts file: one line per host, so it changes with every host that comes or goes. */
const KNOWN_HOSTS = "compute/known-hosts/file";
function isKnownHosts(compute: Json, address: string): boolean {
  return resourceAt(compute, address)["//"].metadata.path === KNOWN_HOSTS;
}

function dnsNames(network: Json): string[] {
  const [config] = Object.values(network.resource.libvirt_network as Record<string, Json>);
  return (config.dns.hosts as Json[]).map((h) => `${h.hostname as string}=${h.ip as string}`).sort();
}

function withoutDnsHosts(network: Json): Json {
  const copy = structuredClone(network.resource) as Json;
  for (const config of Object.values(copy.libvirt_network as Record<string, Json>)) delete config.dns.hosts;
  return copy;
}

describe.each<[string, Pool, number, string]>([
  ["clusters/local.yaml", "worker", 2, "worker-2"],
  ["clusters/local.yaml", "controlPlane", 3, "cp-3"],
  ["clusters/local.yaml", "etcd", 3, "etcd-3"],
  ["clusters/local.yaml", "loadBalancer", 2, "lb-2"],
  ["clusters/local-stacked.yaml", "worker", 2, "worker-2"],
])("%s: pools.%s.count %i, one less, removes %s", (file, pool, count, removed) => {
  const before = synthWithCount(file, pool, count);
  const after = synthWithCount(file, pool, count - 1);

  it("removes exactly that host's disk and domain (and an etcd member's data volume) from the compute stack", () => {
    const gone = resourceAddresses(before.compute).filter((a) => !resourceAddresses(after.compute).includes(a));
    expect(gone.sort()).toEqual(hostAddresses(before.compute, removed).sort());
    const types = ["libvirt_cloudinit_disk", "libvirt_domain", "libvirt_volume", ...(removed.startsWith("etcd-") ? ["libvirt_volume"] : []), "tls_private_key"];
    expect(gone.map((a) => a.split(".")[0]).sort()).toEqual(types);
    expect(resourceAddresses(after.compute).filter((a) => !resourceAddresses(before.compute).includes(a))).toEqual([]);
  });

  it("leaves every other compute resource exactly as it was, but for the known_hosts file", () => {
    for (const address of resourceAddresses(after.compute).filter((a) => !isKnownHosts(after.compute, a))) {
      expect([address, resourceAt(after.compute, address)]).toEqual([address, resourceAt(before.compute, address)]);
    }
  });

  it("changes the network only by the host's two DNS records", () => {
    expect(resourceAddresses(after.network)).toEqual(resourceAddresses(before.network));
    expect(withoutDnsHosts(after.network)).toEqual(withoutDnsHosts(before.network));
    const lost = dnsNames(before.network).filter((n) => !dnsNames(after.network).includes(n));
    expect(lost.map((n) => n.split("=")[0]).sort()).toEqual([removed, `${removed}.${file.includes("stacked") ? "k8s-stacked.internal" : "k8s.internal"}`].sort());
    expect(dnsNames(after.network).filter((n) => !dnsNames(before.network).includes(n))).toEqual([]);
  });
});

describe.each<[string, Pool, number, string]>([
  ["clusters/local.yaml", "worker", 2, "worker-3"],
  ["clusters/local.yaml", "controlPlane", 3, "cp-4"],
  ["clusters/local-stacked.yaml", "worker", 2, "worker-3"],
])("%s: pools.%s.count %i, one more, adds %s", (file, pool, count, added) => {
  const before = synthWithCount(file, pool, count);
  const after = synthWithCount(file, pool, count + 1);

  it("adds only the new host's disks, domain and host key, and changes no other resource but the known_hosts file", () => {
    const beforeAddresses = resourceAddresses(before.compute);
    const fresh = resourceAddresses(after.compute).filter((a) => !beforeAddresses.includes(a));
    expect(fresh.sort()).toEqual(hostAddresses(after.compute, added).sort());
    expect(fresh).toHaveLength(4);
    for (const address of beforeAddresses.filter((a) => !isKnownHosts(before.compute, a))) {
      expect([address, resourceAt(after.compute, address)]).toEqual([address, resourceAt(before.compute, address)]);
    }
  });

  it("adds the new host's DNS records and changes nothing else of the network", () => {
    expect(withoutDnsHosts(after.network)).toEqual(withoutDnsHosts(before.network));
    expect(dnsNames(before.network).every((n) => dnsNames(after.network).includes(n))).toBe(true);
    expect(dnsNames(after.network).filter((n) => !dnsNames(before.network).includes(n)).map((n) => n.split("=")[0].split(".")[0])).toEqual([added, added]);
  });
});
