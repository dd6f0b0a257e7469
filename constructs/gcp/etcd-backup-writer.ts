/**
 * The identity that copies etcd snapshots off the members (description `backup.bucket`): a service account of its
 * own that may only create objects in that one bucket (roles/storage.objectCreator on the bucket, nothing in the
 * project), and a key for it that scripts/etcd-backup-key.sh places on the etcd members.
 *
 * Why a key and not the instances' own identity: an instance's service account and access scopes can only be
 * changed while it is stopped, and the node account's scopes (logging, monitoring) do not reach Cloud Storage.
 * A separate account, its bucket binding and a file on the host change no instance, so adding backups to a
 * running cluster stops no member.
 */
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { ServiceAccountKey } from "@cdktf/provider-google/lib/service-account-key";
import { StorageBucketIamMember } from "@cdktf/provider-google/lib/storage-bucket-iam-member";
import { Construct } from "constructs";
import { backupWriterAccountId } from "../../src/gcp/names";

export const BACKUP_WRITER_ROLE = "roles/storage.objectCreator";

export interface GcpEtcdBackupWriterProps {
  readonly cluster: string;
  /** The existing bucket snapshots go to (the operator's: its location, retention and lifecycle are theirs). */
  readonly bucket: string;
}

export class GcpEtcdBackupWriter extends Construct {
  readonly account: ServiceAccount;
  /** The account's JSON key, base64 (sensitive: it lives in the compute stack's state). */
  readonly privateKey: string;

  constructor(scope: Construct, id: string, props: GcpEtcdBackupWriterProps) {
    super(scope, id);
    this.account = new ServiceAccount(this, "account", {
      accountId: backupWriterAccountId(props.cluster),
      displayName: `etcd snapshots of Kubernetes cluster ${props.cluster}`,
      description: `Creates objects in gs://${props.bucket}; nothing else`,
    });
    new StorageBucketIamMember(this, "object-creator", {
      bucket: props.bucket,
      role: BACKUP_WRITER_ROLE,
      member: this.account.member,
    });
    const key = new ServiceAccountKey(this, "key", { serviceAccountId: this.account.name });
    this.privateKey = key.privateKey;
  }
}
