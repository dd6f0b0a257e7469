/**
 * etcd's data outlives its machine: every etcd member (external or stacked) has a data disk of its own, protected
 * against destroy, attached so that the guest finds it by a stable name; etcd members and control-plane machines
 * are protected against replacement unless the change review lifts it. Read from the synthesized JSON.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { REMOVE_GRAPHICS_AND_NAME_DATA_DISK_XSLT, REMOVE_GRAPHICS_XSLT } from "../constructs/libvirt/headless";
import { changed, planFromObject, problemsOf, REPO_ROOT } from "./helpers/descriptions";
import { refTo, resourcesOf, synthGcp, type Json } from "./helpers/gcp-synth";
import { synthLibvirt } from "./helpers/libvirt-synth";

const GIB = 1024 ** 3;

function byName(stack: Json, type: string): Record<string, { id: string; config: Json }> {
  return Object.fromEntries(resourcesOf(stack, type).map(([id, config]) => [config.name as string, { id, config }]));
}

describe.each(["clusters/gcp.yaml", "__tests__/fixtures/gcp-stacked.yaml"])("GCP etcd data disks of %s", (file) => {
  const plan = loadCluster(file, REPO_ROOT).plan;
  const { compute } = synthGcp(plan);
  const disks = byName(compute, "google_compute_disk");
  const instances = byName(compute, "google_compute_instance");
  const members = plan.hosts.filter((h) => h.runsEtcd);

  it("gives every etcd member one zonal SSD persistent disk in its own zone, and no other host one", () => {
    expect(members.length).toBe(3);
    expect(Object.keys(disks).sort()).toEqual(members.map((h) => `${plan.cluster}-${h.name}-etcd-data`).sort());
    for (const h of members) {
      expect(disks[`${plan.cluster}-${h.name}-etcd-data`].config).toMatchObject({ zone: h.zone, size: 10, type: "pd-ssd" });
    }
  });

  it("protects each data disk against destroy (lifecycle prevent_destroy), whatever the review allows", () => {
    for (const { config } of Object.values(disks)) expect(config.lifecycle).toEqual({ prevent_destroy: true });
  });

  it("attaches it to its instance as device etcd-data (the guest's /dev/disk/by-id/google-etcd-data), not as an auto-deleted boot disk", () => {
    for (const h of plan.hosts) {
      const instance = instances[`${plan.cluster}-${h.name}`].config;
      if (!h.runsEtcd) {
        expect(instance.attached_disk).toBeUndefined();
        continue;
      }
      expect(instance.attached_disk).toEqual([
        { source: refTo(compute, "google_compute_disk", `${plan.cluster}-${h.name}-etcd-data`, "self_link"), device_name: "etcd-data", mode: "READ_WRITE" },
      ]);
      // The boot disk is the one auto-deleted disk; the data disk survives a replaced instance.
      expect(instance.boot_disk.auto_delete).toBe(true);
    }
  });

  it("protects etcd members and control-plane instances against destroy and stop; workers are not", () => {
    for (const h of plan.hosts) {
      const instance = instances[`${plan.cluster}-${h.name}`].config;
      const critical = h.runsEtcd || h.runsControlPlane;
      expect([h.name, instance.lifecycle.prevent_destroy, instance.allow_stopping_for_update]).toEqual([h.name, critical, !critical]);
    }
  });
});

describe.each(["clusters/local.yaml", "clusters/local-stacked.yaml"])("libvirt etcd data volumes of %s", (file) => {
  const plan = loadCluster(file, REPO_ROOT).plan;
  const { compute } = synthLibvirt(plan);
  const volumes = byName(compute, "libvirt_volume");
  const domains = byName(compute, "libvirt_domain");
  const members = plan.hosts.filter((h) => h.runsEtcd);

  it("gives every etcd member its own data volume (not an overlay of the base image), protected against destroy", () => {
    expect(members.length).toBe(3);
    const data = Object.keys(volumes).filter((n) => n.endsWith("-etcd-data.qcow2"));
    expect(data.sort()).toEqual(members.map((h) => `${h.machineName}-etcd-data.qcow2`).sort());
    for (const h of members) {
      const { config } = volumes[`${h.machineName}-etcd-data.qcow2`];
      expect(config).toMatchObject({ format: "qcow2", size: 10 * GIB, lifecycle: { prevent_destroy: true, ignore_changes: ["size"] } });
      expect(config.base_volume_id).toBeUndefined();
      expect(config.source).toBeUndefined();
    }
  });

  it("attaches it as the member domain's second disk, named etcd-data by the stylesheet; other domains keep their stylesheet", () => {
    for (const h of plan.hosts) {
      const domain = domains[h.machineName].config;
      const root = `\${libvirt_volume.${volumes[`${h.machineName}.qcow2`].id}.id}`;
      if (h.runsEtcd) {
        const data = `\${libvirt_volume.${volumes[`${h.machineName}-etcd-data.qcow2`].id}.id}`;
        expect(domain.disk).toEqual([{ volume_id: root }, { volume_id: data }]);
        expect(domain.xml).toEqual({ xslt: REMOVE_GRAPHICS_AND_NAME_DATA_DISK_XSLT });
      } else {
        expect(domain.disk).toEqual([{ volume_id: root }]);
        // xml.xslt forces a new domain: hosts without a data disk must keep the stylesheet they were created with.
        expect(domain.xml).toEqual({ xslt: REMOVE_GRAPHICS_XSLT });
      }
    }
  });

  it("protects the domain and root volume of etcd members and control-plane hosts against destroy; workers and balancers are not", () => {
    for (const h of plan.hosts) {
      const critical = h.runsEtcd || h.runsControlPlane;
      expect([h.name, domains[h.machineName].config.lifecycle.prevent_destroy]).toEqual([h.name, critical]);
      expect([h.name, volumes[`${h.machineName}.qcow2`].config.lifecycle.prevent_destroy]).toEqual([h.name, critical]);
    }
  });
});

const xsltproc = spawnSync("xsltproc", ["--version"]).status === 0;
(xsltproc ? it : it.skip)("the data-disk stylesheet gives the second disk the serial etcd-data and removes the display (xsltproc, as the provider runs it)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "i12a-xslt-"));
  try {
    writeFileSync(path.join(dir, "style.xsl"), REMOVE_GRAPHICS_AND_NAME_DATA_DISK_XSLT);
    writeFileSync(
      path.join(dir, "domain.xml"),
      `<domain type="kvm"><name>local-etcd-1</name><devices>` +
        `<disk type="file" device="disk"><source file="/p/local-etcd-1.qcow2"/><target dev="vda" bus="virtio"/></disk>` +
        `<disk type="file" device="disk"><source file="/p/local-etcd-1-etcd-data.qcow2"/><target dev="vdb" bus="virtio"/></disk>` +
        `<graphics type="spice" autoport="yes"/></devices></domain>`,
    );
    const out = execFileSync("xsltproc", [path.join(dir, "style.xsl"), path.join(dir, "domain.xml")], { encoding: "utf8" });
    const disks = out.match(/<disk[\s\S]*?<\/disk>/g) ?? [];
    expect(disks).toHaveLength(2);
    expect(disks[0]).not.toContain("<serial>");
    expect(disks[1]).toContain("local-etcd-1-etcd-data.qcow2");
    expect(disks[1]).toContain("<serial>etcd-data</serial>");
    expect(out).not.toContain("<graphics");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("pools.<pool>.etcdDataGiB", () => {
  it("sizes the data disks of the pool that runs etcd", () => {
    const gcp: ClusterPlan = planFromObject(changed("clusters/gcp.yaml", (d) => (d.pools.etcd.etcdDataGiB = 25)));
    const disks = byName(synthGcp(gcp).compute, "google_compute_disk");
    expect(Object.values(disks).map((d) => d.config.size)).toEqual([25, 25, 25]);
    const stacked = planFromObject(changed("clusters/local-stacked.yaml", (d) => (d.pools.controlPlane.etcdDataGiB = 30)));
    expect(stacked.hosts.filter((h) => h.runsEtcd).map((h) => h.etcdDataGiB)).toEqual([30, 30, 30]);
  });

  it("is refused on a pool whose hosts run no etcd member, naming the pool to set it on", () => {
    expect(problemsOf(changed("clusters/local.yaml", (d) => (d.pools.controlPlane.etcdDataGiB = 20)))).toContain(
      'pools.controlPlane.etcdDataGiB: got 20, but the hosts of pools.controlPlane run no etcd member (topology "external-etcd"); set it on pools.etcd',
    );
    expect(problemsOf(changed("clusters/local-stacked.yaml", (d) => (d.pools.worker.etcdDataGiB = 20)))).toContain("set it on pools.controlPlane");
  });
});
