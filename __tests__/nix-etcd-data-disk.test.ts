/**
 * nixos/modules/etcd-data-disk.nix, evaluated with the project's stand-in arguments for every host of the examples:
 * an etcd member with a data disk mounts it at etcd's data directory by its stable id (nofail, after the format
 * unit), the format unit runs before the mount once the device exists, and etcd requires the mount and runs the
 * pre-start check; other hosts, and a member whose host file has no data disk yet, get none of it.
 * (The real nixpkgs modules were checked with the nixos-eval tool: docs/day-2.md#data-disks-and-migration.)
 */
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan, HostPlan } from "../src/cluster/plan-types";
import { evalJson, nixPathLiteral, REPO } from "./nix/eval";

const WALKER = path.join(REPO, "__tests__/nix/module-option-paths.nix");
const COLLECT = [
  "fileSystems.<name>.device",
  "fileSystems.<name>.fsType",
  "fileSystems.<name>.options",
  "systemd.services.<name>.unitConfig",
  "systemd.services.<name>.serviceConfig",
  "systemd.services.<name>.before",
  "systemd.services.<name>.after",
  "systemd.services.<name>.requires",
];

/** What the modules set, by option pattern ("fileSystems.<name>.device") and by the path as set ("fileSystems./var/lib/etcd.device"). */
function collected(plan: ClusterPlan, host: HostPlan, hostFile = (file: string) => `import ${file}`): Record<string, unknown[]> {
  const modules = ["nixos/modules", `nixos/modules/hardware/${plan.target}.nix`].map((m) => nixPathLiteral(path.join(REPO, m))).join(" ");
  const file = nixPathLiteral(path.join(REPO, "nixos/clusters", plan.cluster, "hosts", `${host.name}.nix`));
  const collect = COLLECT.map((c) => JSON.stringify(c)).join(" ");
  const result = evalJson<{ collected: Record<string, unknown[]>; collectedAt: Record<string, { value: unknown }[]> }>(
    `import ${nixPathLiteral(WALKER)} { modules = [ ${modules} ]; collect = [ ${collect} ]; hostFile = ${hostFile(file)}; }`,
  );
  return { ...result.collected, ...Object.fromEntries(Object.entries(result.collectedAt).map(([p, ds]) => [p, ds.map((d) => d.value)])) };
}

describe.each(["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/gcp.yaml"])("%s", (file) => {
  const plan = loadCluster(file, REPO).plan;
  const device = plan.target === "gcp" ? "/dev/disk/by-id/google-etcd-data" : "/dev/disk/by-id/virtio-etcd-data";
  const deviceUnit = plan.target === "gcp" ? "dev-disk-by\\x2did-google\\x2detcd\\x2ddata.device" : "dev-disk-by\\x2did-virtio\\x2detcd\\x2ddata.device";

  it.each(plan.hosts.filter((h) => h.runsEtcd).map((h) => [h.name, h] as const))("%s mounts its data disk at /var/lib/etcd, formats it first if blank, and etcd requires it", (_name, host) => {
    const c = collected(plan, host);
    expect(c["fileSystems.<name>.device"]).toContain(device);
    // At etcd's data directory: the mount, and not some other folder, holds the member's data.
    expect(c["fileSystems./var/lib/etcd.device"]).toEqual([device]);
    // The root file system comes from nixpkgs' GCE image module on GCP, from hardware/libvirt.nix here.
    expect(c["fileSystems.<name>.fsType"]).toContain("ext4");
    expect(c["fileSystems.<name>.options"]).toEqual([["nofail", "noatime", "x-systemd.requires=etcd-data-format.service", "x-systemd.after=etcd-data-format.service"]]);
    expect(c["systemd.services.<name>.requires"]).toContainEqual([deviceUnit]);
    expect(c["systemd.services.<name>.before"]).toContainEqual(["var-lib-etcd.mount"]);
    expect(c["systemd.services.<name>.unitConfig"]).toEqual(expect.arrayContaining([{ RequiresMountsFor: ["/var/lib/etcd"] }, { DefaultDependencies: false }]));
    expect(c["systemd.services.<name>.serviceConfig"]).toEqual(
      expect.arrayContaining([
        { ExecStartPre: [expect.stringMatching(/^\+\/nix\/store\/[0-9a-z]{32}-etcd-data-check$/)] },
        { Type: "oneshot", RemainAfterExit: true, ExecStart: expect.stringMatching(/-etcd-data-format$/) },
      ]),
    );
  });

  it.each(plan.hosts.filter((h) => !h.runsEtcd).map((h) => [h.name, h] as const))("%s (no etcd member) has no data disk mount", (_name, host) => {
    const c = collected(plan, host);
    expect(c["fileSystems.<name>.options"] ?? []).toEqual([]);
    expect(c["fileSystems.<name>.device"]).not.toContain(device);
  });

  it("a member whose host file has no data disk yet (data still on the root disk) keeps etcd as it was: no mount, no check", () => {
    const member = plan.hosts.find((h) => h.runsEtcd)!;
    const c = collected(plan, member, (f) => `let h = import ${f}; in h // { etcd = h.etcd // { dataDisk = null; }; }`);
    expect(c["fileSystems.<name>.options"] ?? []).toEqual([]);
    expect(JSON.stringify(c["systemd.services.<name>.serviceConfig"])).not.toContain("etcd-data");
  });
});
