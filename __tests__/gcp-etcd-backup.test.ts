/**
 * The GCP copy of etcd snapshots off the hosts (description `backup.bucket`): a dedicated service account that may
 * only create objects in that bucket, its key as a sensitive compute output, and no change to any instance (its
 * service account and scopes stay those of the node account: changing them would stop the instance).
 */
import { changed, planFromObject } from "./helpers/descriptions";
import { resourcesOf, synthGcp } from "./helpers/gcp-synth";

const withBucket = () => planFromObject(changed("clusters/gcp.yaml", (d) => (d.backup = { bucket: "acme-etcd-backups" })), "clusters/gcp.yaml");
const without = () => planFromObject(changed("clusters/gcp.yaml", () => undefined), "clusters/gcp.yaml");

describe("etcd backup bucket on GCP", () => {
  const { compute } = synthGcp(withBucket());
  const plain = synthGcp(without()).compute;

  it("grants a dedicated account roles/storage.objectCreator on the named bucket only, nothing in the project", () => {
    const writers = resourcesOf(compute, "google_service_account").filter(([, a]) => a.account_id === "gcp-etcd-backup");
    expect(writers).toHaveLength(1);
    const bindings = resourcesOf(compute, "google_storage_bucket_iam_member");
    expect(bindings.map(([, b]) => ({ bucket: b.bucket, role: b.role }))).toEqual([{ bucket: "acme-etcd-backups", role: "roles/storage.objectCreator" }]);
    expect(bindings[0][1].member).toBe(`\${google_service_account.${writers[0][0]}.member}`);
    // Its project roles are the node account's only: the writer has none.
    for (const [, member] of resourcesOf(compute, "google_project_iam_member")) expect(member.member).not.toContain(writers[0][0]);
  });

  it("outputs the writer's key as a sensitive value, for scripts/etcd-backup-key.sh", () => {
    const keys = resourcesOf(compute, "google_service_account_key");
    expect(keys).toHaveLength(1);
    const writer = resourcesOf(compute, "google_service_account").find(([, a]) => a.account_id === "gcp-etcd-backup")![0];
    expect(keys[0][1].service_account_id).toBe(`\${google_service_account.${writer}.name}`);
    expect(compute.output.etcd_backup_writer_key).toEqual({
      description: expect.stringContaining("scripts/etcd-backup-key.sh"),
      sensitive: true,
      value: `\${google_service_account_key.${keys[0][0]}.private_key}`,
    });
    expect(plain.output.etcd_backup_writer_key).toBeUndefined();
    expect(resourcesOf(plain, "google_service_account_key")).toEqual([]);
  });

  it("changes no instance: adding the bucket stops no member", () => {
    const instances = (stack: typeof compute) => Object.fromEntries(resourcesOf(stack, "google_compute_instance"));
    expect(instances(compute)).toEqual(instances(plain));
  });
});
