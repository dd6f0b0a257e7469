/**
 * The change review (src/day2/review.ts): what an edit of the description does to running hosts, compared with
 * the committed machine record; refused when it would make more than one etcd member (or every control-plane
 * host, or every load balancer) unavailable; ALLOW_DISRUPTION rolls it one host at a time; what is held shows as pending. Checked in the
 * review's preview and in the JSON synthesized from its effective plan.
 */
import type { ClusterPlan } from "../src/cluster/plan-types";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { machineRecord, machineRecordText, readMachineRecord } from "../src/day2/record";
import { reviewChange, type ReviewedChange } from "../src/day2/review";
import { synthSummaryLines } from "../src/day2/summary";
import { changed, planFromObject } from "./helpers/descriptions";
import { resourcesOf, synthGcp, type Json } from "./helpers/gcp-synth";
import { synthLibvirt } from "./helpers/libvirt-synth";

const LOCAL = "clusters/local.yaml";
const GCP = "clusters/gcp.yaml";
const STACKED = "clusters/local-stacked.yaml";

const original = (file: string): ClusterPlan => planFromObject(changed(file, () => undefined));
const edited = (file: string, edit: (d: Record<string, any>) => void): ClusterPlan => planFromObject(changed(file, edit));

function review(before: ClusterPlan, after: ClusterPlan, allow?: string): ReviewedChange {
  return reviewChange({ plan: after, record: machineRecord(before), existingHosts: [], allowDisruption: allow });
}

function refusal(before: ClusterPlan, after: ClusterPlan, allow?: string): string {
  try {
    review(before, after, allow);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the change to be refused");
}

/** host -> kind, for the hosts the preview lists as applied. */
function kinds(change: ReviewedChange): Record<string, string | undefined> {
  return Object.fromEntries(change.hosts.filter((h) => h.kind).map((h) => [h.host, h.kind]));
}
function pendingFields(change: ReviewedChange): Record<string, string[]> {
  return Object.fromEntries(change.hosts.filter((h) => h.pending.length > 0).map((h) => [h.host, h.pending.map((p) => p.field)]));
}

function instances(compute: Json): Record<string, Json> {
  return Object.fromEntries(resourcesOf(compute, "google_compute_instance").map(([, c]) => [c.name as string, c]));
}
function domains(compute: Json): Record<string, Json> {
  return Object.fromEntries(resourcesOf(compute, "libvirt_domain").map(([, c]) => [c.name as string, c]));
}

describe("no change", () => {
  it.each([LOCAL, STACKED, GCP])("%s: nothing to report, every protection in place", (file) => {
    const change = review(original(file), original(file));
    expect(change.hosts).toEqual([]);
    // Every etcd member and control-plane host protected (no destroy, no stop), every other host not.
    for (const h of change.plan.hosts) {
      const critical = h.roles.includes("etcd") || h.roles.includes("control-plane");
      expect([h.name, h.guard]).toEqual([h.name, { preventDestroy: critical, allowStopping: !critical, applyImage: false }]);
    }
    expect(synthSummaryLines(change.plan, change)).toContain("  none");
  });
});

describe("growth and shrink", () => {
  it("a larger worker pool adds hosts and touches no other", () => {
    const change = review(original(LOCAL), edited(LOCAL, (d) => (d.pools.worker.count = 4)));
    expect(kinds(change)).toEqual({ "worker-3": "added", "worker-4": "added" });
    expect(Object.keys(change.record.hosts)).toContain("worker-4");
  });

  it("a smaller worker pool removes its last hosts, and says so", () => {
    const change = review(original(GCP), edited(GCP, (d) => (d.pools.worker.count = 1)));
    expect(kinds(change)).toEqual({ "worker-2": "removed", "worker-3": "removed" });
    expect(synthSummaryLines(change.plan, change)).toContain("  removed   worker-2     (its machine is destroyed)");
  });

  it("removing two etcd members at once is refused; naming them (after etcdctl member remove) allows it", () => {
    const five = edited(LOCAL, (d) => (d.pools.etcd.count = 5));
    const message = refusal(five, original(LOCAL));
    expect(message).toContain("2 of 5 etcd members would be unavailable at once");
    expect(message).toContain("etcd-4: removed from the description");
    expect(message).toContain("ALLOW_DISRUPTION=etcd-4,etcd-5");
    expect(kinds(review(five, original(LOCAL), "etcd-4,etcd-5"))).toEqual({ "etcd-4": "removed", "etcd-5": "removed" });
  });
});

describe("a replacement-forcing edit of one pool field", () => {
  it("libvirt workers' memory: both workers replaced, naming the field and the provider attribute", () => {
    const change = review(original(LOCAL), edited(LOCAL, (d) => (d.pools.worker.memoryMiB = 6144)));
    expect(kinds(change)).toEqual({ "worker-1": "replaced", "worker-2": "replaced" });
    const lines = synthSummaryLines(change.plan, change);
    expect(lines).toContain("  replaced  worker-1     pools.worker.memoryMiB: 4096 -> 6144 (libvirt_domain.memory forces a new domain)");
    expect(domains(synthLibvirt(change.plan).compute)["local-worker-1"].memory).toBe(6144);
  });

  it("GCP etcd boot disk +10 GiB would replace three members: refused, naming the field and the one-host-at-a-time way", () => {
    const message = refusal(original(GCP), edited(GCP, (d) => (d.pools.etcd.diskGiB = 30)));
    expect(message).toMatch(/^clusters\/test\.yaml: this change is refused; nothing was written: 3 of 3 etcd members would be unavailable at once/);
    for (const host of ["etcd-1", "etcd-2", "etcd-3"]) {
      expect(message).toContain(`${host}: pools.etcd.diskGiB 20 -> 30 (google_compute_instance boot_disk.initialize_params.size forces a new instance)`);
    }
    expect(message).toContain("ALLOW_DISRUPTION=etcd-1 npm run synth");
    expect(message).toContain("npx cdktf deploy --skip-synth compute pki");
    expect(message).toContain("then ALLOW_DISRUPTION=etcd-2, then ALLOW_DISRUPTION=etcd-3");
    expect(message).toContain("To rebuild them together on purpose (they are all unavailable meanwhile): ALLOW_DISRUPTION=etcd-1,etcd-2,etcd-3");
  });

  it("with ALLOW_DISRUPTION=etcd-1 only etcd-1 gets the new size and loses its protection; the others stay, pending", () => {
    const change = review(original(GCP), edited(GCP, (d) => (d.pools.etcd.diskGiB = 30)), "etcd-1");
    expect(kinds(change)).toEqual({ "etcd-1": "replaced" });
    expect(pendingFields(change)).toEqual({ "etcd-2": ["pools.etcd.diskGiB"], "etcd-3": ["pools.etcd.diskGiB"] });
    const json = instances(synthGcp(change.plan).compute);
    expect(json["gcp-etcd-1"].boot_disk.initialize_params.size).toBe(30);
    expect(json["gcp-etcd-1"].lifecycle.prevent_destroy).toBe(false);
    for (const held of ["gcp-etcd-2", "gcp-etcd-3"]) {
      expect(json[held].boot_disk.initialize_params.size).toBe(20);
      expect(json[held].lifecycle.prevent_destroy).toBe(true);
    }
    // The record follows what was synthesized: the next synth, still without the others named, is refused again.
    expect(change.record.hosts["etcd-1"].diskGiB).toBe(30);
    expect(change.record.hosts["etcd-2"].diskGiB).toBe(20);
    const next = () => reviewChange({ plan: edited(GCP, (d) => (d.pools.etcd.diskGiB = 30)), record: change.record, existingHosts: [], allowDisruption: undefined });
    expect(next).toThrow("2 of 3 etcd members would be unavailable at once");
  });

  it("stacked control plane's memory: every control-plane host (all etcd members) would go, refused", () => {
    const message = refusal(original(STACKED), edited(STACKED, (d) => (d.pools.controlPlane.memoryMiB = 5120)));
    expect(message).toContain("3 of 3 etcd members would be unavailable at once");
    expect(message).toContain("every control-plane host (3) would be unavailable at once: the API would be down");
    expect(message).toContain("cp-1: pools.controlPlane.memoryMiB 4096 -> 5120 (libvirt_domain.memory forces a new domain)");
  });

  it("the load balancers' memory: both would go at once (the API address answers nothing), refused; rolled with ALLOW_DISRUPTION", () => {
    const after = edited(LOCAL, (d) => (d.pools.loadBalancer.memoryMiB = 1536));
    const message = refusal(original(LOCAL), after);
    expect(message).toContain("every load balancer (2) would be unavailable at once: the API address would answer nothing");
    expect(message).toContain("lb-1: pools.loadBalancer.memoryMiB 1024 -> 1536 (libvirt_domain.memory forces a new domain)");
    expect(message).toContain("ALLOW_DISRUPTION=lb-1 npm run synth");
    const change = review(original(LOCAL), after, "lb-1");
    expect(kinds(change)).toEqual({ "lb-1": "replaced" });
    expect(pendingFields(change)).toEqual({ "lb-2": ["pools.loadBalancer.memoryMiB"] });
    const json = domains(synthLibvirt(change.plan).compute);
    expect([json["local-lb-1"].memory, json["local-lb-2"].memory]).toEqual([1536, 1024]);
  });

  it("ALLOW_DISRUPTION naming one control-plane host while a load balancer is removed: asks for that one too, never for the held hosts", () => {
    const after = edited(LOCAL, (d) => {
      d.pools.controlPlane.memoryMiB = 6144;
      d.pools.loadBalancer.count = 1;
    });
    const message = refusal(original(LOCAL), after, "cp-1");
    expect(message).toContain("lb-2 is removed from the description; name it too, once the remaining load balancers are deployed (they hold the API address)");
    expect(message).toContain("Name every host it disrupts: ALLOW_DISRUPTION=cp-1,lb-2");
    const change = review(original(LOCAL), after, "cp-1,lb-2");
    expect(kinds(change)).toEqual({ "cp-1": "replaced", "lb-2": "removed" });
    expect(pendingFields(change)).toEqual({ "cp-2": ["pools.controlPlane.memoryMiB"], "cp-3": ["pools.controlPlane.memoryMiB"] });
  });

  it("one etcd member's replacement is within the limit: applied without an override, protection lifted for it only", () => {
    // Two members differ from the record only for etcd-3 (e.g. the second half of a rolled change).
    const before = edited(LOCAL, (d) => (d.pools.etcd.memoryMiB = 3072));
    const record = machineRecord(before);
    const withOld = { ...record, hosts: { ...record.hosts, "etcd-3": { ...record.hosts["etcd-3"], memoryMiB: 2048 } } };
    const change = reviewChange({ plan: before, record: withOld, existingHosts: [], allowDisruption: undefined });
    expect(kinds(change)).toEqual({ "etcd-3": "replaced" });
    const json = domains(synthLibvirt(change.plan).compute);
    expect(json["local-etcd-3"].lifecycle.prevent_destroy).toBe(false);
    expect(json["local-etcd-2"].lifecycle.prevent_destroy).toBe(true);
  });
});

describe("stops, zones, images and the network", () => {
  it("GCP etcd machine type: three stops at once are refused; one named host is stopped, the others keep their type", () => {
    const after = edited(GCP, (d) => (d.gcp.machineTypes.etcd = "e2-medium"));
    expect(refusal(original(GCP), after)).toContain("gcp.machineTypes.etcd e2-small -> e2-medium (google_compute_instance.machine_type is updated by stopping and starting the instance");
    const change = review(original(GCP), after, "etcd-2");
    expect(kinds(change)).toEqual({ "etcd-2": "stopped" });
    const json = instances(synthGcp(change.plan).compute);
    expect([json["gcp-etcd-2"].machine_type, json["gcp-etcd-2"].allow_stopping_for_update]).toEqual(["e2-medium", true]);
    expect([json["gcp-etcd-1"].machine_type, json["gcp-etcd-1"].allow_stopping_for_update]).toEqual(["e2-small", false]);
  });

  it("rotating gcp.zones would move etcd members away from their zonal data disks: refused even with an override", () => {
    const after = edited(GCP, (d) => d.gcp.zones.push(d.gcp.zones.shift()));
    for (const allow of [undefined, "etcd-1,etcd-2,etcd-3"]) {
      const message = refusal(original(GCP), after, allow);
      expect(message).toContain("this change cannot be applied safely; nothing was written");
      expect(message).toContain("  - etcd-1: gcp.zones europe-west1-b -> europe-west1-c\n");
      // The reason once, after the members it concerns.
      expect(message.split("the member's data disk is zonal: it cannot follow the instance to the new zone")).toHaveLength(2);
    }
  });

  it("appending a zone keeps every etcd member in its zone (only hosts with a higher index move)", () => {
    const change = review(original(GCP), edited(GCP, (d) => d.gcp.zones.push("europe-west1-a")));
    expect(change.hosts.filter((h) => h.roles.includes("etcd"))).toEqual([]);
  });

  it("a new GCP image is pending on every host (bootstrap only); a named host is re-imaged (replaced, image applied)", () => {
    const after = edited(GCP, (d) => (d.gcp.image = { tarball: "gs://nixos-k8s-example-images/nixos-gce-2.tar.gz" }));
    const change = review(original(GCP), after);
    expect(Object.keys(pendingFields(change)).length).toBe(9);
    expect(pendingFields(change)["cp-1"]).toEqual(["gcp.image"]);
    expect(synthSummaryLines(change.plan, change).some((l) => l.startsWith("  pending   cp-1         gcp.image:") && l.includes("ignore_changes"))).toBe(true);
    const reimage = review(original(GCP), after, "worker-1");
    expect(kinds(reimage)).toEqual({ "worker-1": "replaced" });
    const json = instances(synthGcp(reimage.plan).compute);
    expect(json["gcp-worker-1"].lifecycle.ignore_changes).toBeUndefined();
    expect(json["gcp-worker-2"].lifecycle.ignore_changes).toEqual(["boot_disk[0].initialize_params[0].image"]);
    expect(reimage.record.hosts["worker-1"].image).toBe("gs://nixos-k8s-example-images/nixos-gce-2.tar.gz");
    expect(reimage.record.hosts["worker-2"].image).toBe("gs://nixos-k8s-example-images/nixos-gce.tar.gz");
  });

  it("libvirt network.domain replaces the network and every domain: refused, and an override of some hosts cannot limit it", () => {
    const after = edited(LOCAL, (d) => (d.network.domain = "lab.internal"));
    expect(refusal(original(LOCAL), after)).toContain("network.domain k8s.internal -> lab.internal (forces a new libvirt network, and every domain is replaced with it");
    const partial = refusal(original(LOCAL), after, "etcd-1");
    expect(partial).toContain("ALLOW_DISRUPTION=etcd-1 does not cover this change");
    expect(partial).toContain("it cannot be limited to some hosts");
  });

  it.each([
    ["libvirt.network.bridge", (d: Record<string, any>) => (d.libvirt.network = { bridge: "k8s-lab0" }), /libvirt\.network\.bridge k8s-local -> k8s-lab0 \(forces a new libvirt network/],
    [
      "libvirt.network.dynamicRange",
      (d: Record<string, any>) => (d.libvirt.network = { dynamicRange: { start: "10.240.0.200", end: "10.240.0.250" } }),
      /libvirt\.network\.dynamicRange 10\.240\.0\.192 to 10\.240\.0\.254 -> 10\.240\.0\.200 to 10\.240\.0\.250 \(forces a new libvirt network \(its dnsmasq range\)/,
    ],
  ])("%s of an existing network replaces it and every domain: refused like network.domain, applied with every host named", (_field, edit, line) => {
    const after = edited(LOCAL, edit);
    expect(refusal(original(LOCAL), after)).toMatch(line);
    expect(refusal(original(LOCAL), after, "etcd-1")).toContain("it cannot be limited to some hosts");
    const all = original(LOCAL).hosts.map((h) => h.name).join(",");
    expect(Object.values(kinds(review(original(LOCAL), after, all)))).toEqual(Array(10).fill("replaced"));
  });

  it("a named host loses its protection even without a described change (a deliberate re-image with terraform apply -replace)", () => {
    const change = review(original(GCP), original(GCP), "cp-2");
    expect(change.hosts).toEqual([]);
    const json = instances(synthGcp(change.plan).compute);
    expect([json["gcp-cp-2"].lifecycle.prevent_destroy, json["gcp-cp-2"].allow_stopping_for_update]).toEqual([false, true]);
    // A named host converges to the described image as well (its image is no longer ignored).
    expect(json["gcp-cp-2"].lifecycle.ignore_changes).toBeUndefined();
    expect(json["gcp-cp-1"].lifecycle.ignore_changes).toEqual(["boot_disk[0].initialize_params[0].image"]);
    expect([json["gcp-cp-1"].lifecycle.prevent_destroy, json["gcp-cp-1"].allow_stopping_for_update]).toEqual([true, false]);
  });

  it("libvirt.domainType replaces every domain: refused unless every host is named", () => {
    const after = edited(LOCAL, (d) => (d.libvirt.domainType = "qemu"));
    expect(refusal(original(LOCAL), after)).toContain("etcd-1: libvirt.domainType kvm -> qemu (libvirt_domain.type forces a new domain for every host)");
    const all = original(LOCAL).hosts.map((h) => h.name).join(",");
    expect(Object.values(kinds(review(original(LOCAL), after, all)))).toEqual(Array(10).fill("replaced"));
  });

  it("an etcd member's address cannot move (its peer URL is in the membership); a worker's is applied with a restart", () => {
    const message = refusal(original(LOCAL), edited(LOCAL, (d) => (d.pools.etcd.addressOffset = 13)));
    expect(message).toContain("  - etcd-1: pools.etcd.addressOffset 10.240.0.10 -> 10.240.0.13");
    expect(message).toContain("an etcd member's peer and client URLs are its address");
    const workers = review(original(GCP), edited(GCP, (d) => (d.pools.worker.addressOffset = 60)));
    expect(kinds(workers)).toEqual({ "worker-1": "stopped", "worker-2": "stopped", "worker-3": "stopped" });
  });

  it("a held control-plane host keeps its address (and MAC) everywhere while the others move", () => {
    const after = edited(LOCAL, (d) => (d.pools.controlPlane.addressOffset = 30));
    expect(refusal(original(LOCAL), after)).toContain("every control-plane host (3) would be unavailable at once");
    const change = review(original(LOCAL), after, "cp-1");
    const cp = Object.fromEntries(change.plan.hosts.map((h) => [h.name, [h.address, h.mac]]));
    expect(cp["cp-1"]).toEqual(["10.240.0.30", "52:54:00:f0:00:1e"]);
    expect(cp["cp-2"]).toEqual(["10.240.0.21", "52:54:00:f0:00:15"]);
  });

  it("an unknown host in ALLOW_DISRUPTION is refused, naming it and the hosts there are", () => {
    expect(refusal(original(LOCAL), original(LOCAL), "etcd-9")).toContain('ALLOW_DISRUPTION names "etcd-9", which is not a host of cluster local');
  });
});

describe("etcd data disks", () => {
  it("GCP: a data disk grows in place; it cannot shrink", () => {
    const grown = review(original(GCP), edited(GCP, (d) => (d.pools.etcd.etcdDataGiB = 20)));
    expect(kinds(grown)).toEqual({ "etcd-1": "changed", "etcd-2": "changed", "etcd-3": "changed" });
    const before = edited(GCP, (d) => (d.pools.etcd.etcdDataGiB = 20));
    const message = refusal(before, original(GCP));
    expect(message).toContain("  - etcd-3: pools.etcd.etcdDataGiB 20 -> 10\n    a persistent disk cannot shrink");
  });

  it("libvirt: a new data volume size is pending (Terraform would replace the volume); the JSON keeps the old size", () => {
    const change = review(original(LOCAL), edited(LOCAL, (d) => (d.pools.etcd.etcdDataGiB = 20)));
    expect(pendingFields(change)).toEqual({ "etcd-1": ["pools.etcd.etcdDataGiB"], "etcd-2": ["pools.etcd.etcdDataGiB"], "etcd-3": ["pools.etcd.etcdDataGiB"] });
    const sizes = resourcesOf(synthLibvirt(change.plan).compute, "libvirt_volume").filter(([, c]) => String(c.name).endsWith("-etcd-data.qcow2")).map(([, c]) => c.size);
    expect(sizes).toEqual([10 * 1024 ** 3, 10 * 1024 ** 3, 10 * 1024 ** 3]);
  });

  it("libvirt: naming a member records the size its volume was resized to by hand", () => {
    const change = review(original(LOCAL), edited(LOCAL, (d) => (d.pools.etcd.etcdDataGiB = 20)), "etcd-2");
    expect(kinds(change)).toEqual({ "etcd-2": "changed" });
    expect(change.hosts.find((h) => h.host === "etcd-2")!.applied[0].why).toContain("recorded as resized by hand");
    expect([change.record.hosts["etcd-1"].etcdDataGiB, change.record.hosts["etcd-2"].etcdDataGiB]).toEqual([10, 20]);
  });

  it("a cluster synthesized before machine records: members keep etcd on the root disk (pending) until named one at a time", () => {
    const plan = original(LOCAL);
    const existingHosts = plan.hosts.map((h) => h.name);
    const first = reviewChange({ plan, record: undefined, existingHosts, allowDisruption: undefined });
    expect(first.baseline).toBe("first-record");
    expect(pendingFields(first)).toEqual({ "etcd-1": ["pools.etcd.etcdDataGiB"], "etcd-2": ["pools.etcd.etcdDataGiB"], "etcd-3": ["pools.etcd.etcdDataGiB"] });
    expect(first.plan.hosts.filter((h) => h.etcdDataGiB !== undefined)).toEqual([]);
    expect(first.hosts[0].pending[0].heldBecause).toContain("its data is still on the root disk: name it in ALLOW_DISRUPTION when moving its data");
    expect(resourcesOf(synthLibvirt(first.plan).compute, "libvirt_volume").filter(([, c]) => String(c.name).endsWith("-etcd-data.qcow2"))).toEqual([]);

    const moving = reviewChange({ plan, record: first.record, existingHosts, allowDisruption: "etcd-1" });
    expect(kinds(moving)).toEqual({ "etcd-1": "replaced" });
    expect(moving.plan.hosts.filter((h) => h.etcdDataGiB !== undefined).map((h) => h.name)).toEqual(["etcd-1"]);
    // On GCP the disk is attached to the running instance: changed in place, not replaced.
    const gcp = original(GCP);
    const gcpFirst = reviewChange({ plan: gcp, record: undefined, existingHosts: gcp.hosts.map((h) => h.name), allowDisruption: undefined });
    expect(kinds(reviewChange({ plan: gcp, record: gcpFirst.record, existingHosts: [], allowDisruption: "etcd-2" }))).toEqual({ "etcd-2": "changed" });
  });

  it("a new cluster gets its data disks at once", () => {
    const change = reviewChange({ plan: original(STACKED), record: undefined, existingHosts: [], allowDisruption: undefined });
    expect(change.baseline).toBe("new-cluster");
    expect(change.plan.hosts.filter((h) => h.etcdDataGiB === 10).map((h) => h.name)).toEqual(["cp-1", "cp-2", "cp-3"]);
  });
});

describe("the committed record", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "day2-record-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (text: string) => {
    mkdirSync(path.join(dir, "clusters", "local"), { recursive: true });
    writeFileSync(path.join(dir, "clusters", "local", "machines.json"), text);
  };

  it("reads back what the synth wrote", () => {
    write(machineRecordText(machineRecord(original(LOCAL))));
    expect(readMachineRecord(dir, "clusters/local")).toEqual(JSON.parse(machineRecordText(machineRecord(original(LOCAL)))));
  });

  it("refuses a damaged record, naming the file, the host and the field, and how to restore it", () => {
    const record = JSON.parse(machineRecordText(machineRecord(original(LOCAL))));
    delete record.hosts["etcd-2"].memoryMiB;
    write(JSON.stringify(record));
    expect(() => readMachineRecord(dir, "clusters/local")).toThrow(
      "nixos/clusters/local/machines.json: hosts.etcd-2: memoryMiB must be a number; the file is written by synth, restore it from git (git checkout -- nixos/clusters/local/machines.json)",
    );
    write("{ not json");
    expect(() => readMachineRecord(dir, "clusters/local")).toThrow(/^nixos\/clusters\/local\/machines.json: not valid JSON/);
  });
});
