/**
 * The etcd backup module (nixos/modules/etcd-backup.nix), evaluated with the role modules for every host of the
 * example clusters and for changed descriptions: the timer exists exactly on etcd members, runs the very script
 * the real-etcd test runs (scripts/lib/etcd-snapshot.sh) with every variable that script reads, set from the
 * host file; snapshots live in a root-only directory; a bucket adds the upload settings; disabled, nothing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan, HostPlan } from "../src/cluster/plan-types";
import { ETCD_BACKUP_DIR, ETCD_BACKUP_WRITER_KEY, hostFileValue } from "../src/nix/host-file";
import { nixFile } from "../src/nix/writer";
import { changed, planFromObject } from "./helpers/descriptions";
import { evalJson, nixPathLiteral, REPO } from "./nix/eval";

const WALKER = path.join(REPO, "__tests__/nix/module-option-paths.nix");
const ENVIRONMENT = "systemd.services.<name>.environment";
const SERVICE = "systemd.services.<name>.serviceConfig";
const TIMER = "systemd.timers.<name>.timerConfig";
const TMPFILES = "systemd.tmpfiles.rules";

interface Collected {
  unknown: string[];
  collected: Record<string, unknown[]>;
  /** By the path as set (the unit names included). */
  collectedAt: Record<string, { value: unknown }[]>;
}

/** The settings the role modules make for one host file (a path to a .nix file). */
function settingsOf(hostFilePath: string, target: string): Collected {
  const modules = [path.join(REPO, "nixos/modules"), path.join(REPO, `nixos/modules/hardware/${target}.nix`)].map(nixPathLiteral).join(" ");
  const collect = [ENVIRONMENT, SERVICE, TIMER, TMPFILES].map((p) => JSON.stringify(p)).join(" ");
  return evalJson<Collected>(`import ${nixPathLiteral(WALKER)} { modules = [ ${modules} ]; collect = [ ${collect} ]; hostFile = import ${nixPathLiteral(hostFilePath)}; }`);
}

let scratch: string;
beforeAll(() => (scratch = mkdtempSync(path.join(tmpdir(), "etcd-backup-module-"))));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes the host file of a (changed) plan, as synth would, and evaluates the modules with it. */
function settingsForPlan(plan: ClusterPlan, host: HostPlan): Collected {
  const file = path.join(scratch, `${plan.cluster}-${host.name}.nix`);
  writeFileSync(file, nixFile(["test"], hostFileValue(plan, host)));
  return settingsOf(file, plan.target);
}

/** Every variable the snapshot script reads from its environment. */
const SCRIPT_VARIABLES = [...new Set(readFileSync(path.join(REPO, "scripts/lib/etcd-snapshot.sh"), "utf8").match(/\bETCD(CTL)?_[A-Z_]+\b/g))]
  .filter((v) => v !== "ETCDCTL_API")
  .sort();

describe.each(["clusters/local.yaml", "clusters/local-stacked.yaml", "clusters/gcp.yaml"])("%s", (description) => {
  const plan = loadCluster(description, REPO).plan;
  it.each(plan.hosts.map((h) => [h.name, h] as const))("%s: a snapshot timer exactly when it is an etcd member", (_name, host) => {
    const { unknown, collected, collectedAt } = settingsOf(path.join(REPO, "nixos/clusters", plan.cluster, "hosts", `${host.name}.nix`), plan.target);
    const at = (option: string) => (collectedAt[option] ?? []).map((d) => d.value);
    expect(unknown).toEqual([]);
    const environments = collected[ENVIRONMENT] as Record<string, string>[];
    const backup = environments.find((e) => "ETCD_BACKUP_DIR" in e);
    if (!host.runsEtcd) {
      expect(backup).toBeUndefined();
      expect(collected[TIMER]).toEqual([]);
      return;
    }
    expect(collected[TIMER]).toEqual([{ OnCalendar: "hourly", Persistent: true, RandomizedDelaySec: "5min" }]);
    expect(backup).toEqual({
      ETCDCTL_ENDPOINTS: "https://127.0.0.1:2379",
      ETCDCTL_CACERT: "/var/lib/kubernetes/pki/etcd/ca.crt",
      ETCDCTL_CERT: "/var/lib/kubernetes/pki/etcd/healthcheck-client.crt",
      ETCDCTL_KEY: "/var/lib/kubernetes/pki/etcd/healthcheck-client.key",
      ETCD_BACKUP_DIR: ETCD_BACKUP_DIR,
      ETCD_BACKUP_KEEP: "24",
      ETCD_BACKUP_NAME: host.name,
    });
    const service = (collected[SERVICE] as Record<string, unknown>[]).find((s) => String(s.ExecStart ?? "").includes("etcd-snapshot"))!;
    // The store copy of scripts/lib/etcd-snapshot.sh, run as root, writing only the backup directory.
    expect(service).toMatchObject({ Type: "oneshot", User: "root", UMask: "0077", ProtectSystem: "strict", ReadWritePaths: [ETCD_BACKUP_DIR] });
    expect(service.ExecStart).toMatch(/^\/nix\/store\/[^ ]+-bash\/bin\/sh \/nix\/store\/[a-z0-9]{32}-etcd-snapshot\.sh$/);
    expect((collected[TMPFILES] as string[][]).flat()).toContain(`d ${ETCD_BACKUP_DIR} 0700 root root -`);
    // The timer starts the unit of its own name: the timer, the environment and the snapshot command are one unit's.
    expect(at("systemd.timers.etcd-backup.timerConfig")).toEqual(collected[TIMER]);
    expect(at("systemd.services.etcd-backup.environment")).toEqual([backup]);
    expect(at("systemd.services.etcd-backup.serviceConfig")).toContainEqual(service);
  });
});

it("gives the snapshot script every variable it reads when a bucket is set (GCP), and the key a root-only home", () => {
  const plan = planFromObject(changed("clusters/gcp.yaml", (d) => (d.backup = { bucket: "acme-etcd-backups", interval: "*-*-* 00/6:00:00", keep: 8 })));
  const member = plan.hosts.find((h) => h.runsEtcd)!;
  const { collected } = settingsForPlan(plan, member);
  const backup = (collected[ENVIRONMENT] as Record<string, string>[]).find((e) => "ETCD_BACKUP_DIR" in e)!;
  expect(backup).toMatchObject({
    ETCD_BACKUP_KEEP: "8",
    ETCD_BACKUP_GCS_BUCKET: "acme-etcd-backups",
    ETCD_BACKUP_GCS_PREFIX: `${plan.cluster}/${member.name}`,
    ETCD_BACKUP_GCS_KEY: ETCD_BACKUP_WRITER_KEY,
  });
  expect(Object.keys(backup).sort()).toEqual(SCRIPT_VARIABLES);
  expect(collected[TIMER]).toEqual([expect.objectContaining({ OnCalendar: "*-*-* 00/6:00:00" })]);
  expect((collected[TMPFILES] as string[][]).flat()).toContain(`d ${path.dirname(ETCD_BACKUP_WRITER_KEY)} 0700 root root -`);
});

it("takes no snapshots when backups are disabled", () => {
  const plan = planFromObject(changed("clusters/local.yaml", (d) => (d.backup = { enabled: false })));
  const { collected } = settingsForPlan(plan, plan.hosts.find((h) => h.runsEtcd)!);
  expect(collected[TIMER]).toEqual([]);
  expect((collected[ENVIRONMENT] as Record<string, string>[]).some((e) => "ETCD_BACKUP_DIR" in e)).toBe(false);
});
