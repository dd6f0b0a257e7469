/** One Compute Engine instance for one planned host. */
import { ComputeDisk } from "@cdktf/provider-google/lib/compute-disk";
import { ComputeInstance } from "@cdktf/provider-google/lib/compute-instance";
import { Construct } from "constructs";
import type { HostPlan } from "../../src/cluster/plan-types";
import type { GcpSettings } from "../../src/cluster/schema";
import { ETCD_DATA_DISK_NAME } from "../../src/cluster/etcd-data-disk";
import { GCE_HOST_KEY_METADATA_KEY } from "../../src/ssh/host-key-channel";
import { etcdDataDiskNameParts, gceName } from "../../src/gcp/names";

/**
 * Terraform attribute path of the boot image. Ignored after creation unless the host's guard applies a new image:
 * the image only bootstraps a host, later changes arrive by deploy-rs, and a new image must never replace a running
 * etcd member or API server by accident. The change review reports an ignored image change as pending.
 */
export const BOOT_IMAGE_ATTRIBUTE = "boot_disk[0].initialize_params[0].image";

/**
 * Instance metadata. SSH keys are baked into the NixOS image (users are immutable, so the guest agent cannot add
 * metadata keys); project-wide keys and OS Login are switched off, so the baked keys are the only way in.
 */
export const INSTANCE_METADATA: Readonly<Record<string, string>> = {
  "block-project-ssh-keys": "TRUE",
  "enable-oslogin": "FALSE",
};

const MAX_HOSTNAME = 253;

/**
 * Type of the etcd data disks: SSD, as etcd's hardware guide asks for (its latency is fsync latency). A type
 * change would replace the disk, so it is fixed here rather than offered as a setting.
 */
export const ETCD_DATA_DISK_TYPE = "pd-ssd";

export interface GcpHostInstanceProps {
  readonly cluster: string;
  readonly host: HostPlan;
  /** Boot image reference (GcpImage.reference). */
  readonly image: string;
  readonly bootDiskType: GcpSettings["bootDiskType"];
  /** The hosts' subnetwork (id or self-link). */
  readonly subnetwork: string;
  /** Network tags (names.hostTags). */
  readonly tags: readonly string[];
  readonly serviceAccountEmail: string;
  readonly scopes: readonly string[];
  /** Give the host an ephemeral public address. */
  readonly publicAddress: boolean;
  /**
   * The host's SSH host private key (OpenSSH format, a sensitive token), put into the instance metadata under
   * GCE_HOST_KEY_METADATA_KEY, where the guest reads it from the metadata server; default none.
   */
  readonly sshHostPrivateKey?: string;
}

export class GcpHostInstance extends Construct {
  readonly instance: ComputeInstance;
  /**
   * etcd members: the member's data disk (zonal, in the host's zone). Attached by the instance's `attached_disk`
   * so that it is there from the first boot; never auto-deleted, so a replaced instance attaches the same disk
   * again; `prevent_destroy`, so no apply (or `cdktf destroy`) deletes it (docs/day-2.md, "Destroying a cluster").
   */
  readonly etcdDataDisk?: ComputeDisk;
  /** The public address (a token) when the host has one. */
  readonly externalAddress?: string;

  constructor(scope: Construct, id: string, props: GcpHostInstanceProps) {
    super(scope, id);
    const { host } = props;
    if (!host.zone || !host.machineType) {
      throw new Error(`GcpHostInstance: host "${host.name}" has no zone or machine type in the plan; it is not a GCP host`);
    }
    // Compute Engine takes a custom hostname only as a fully qualified name of at least two labels.
    if (host.fqdn.split(".").length < 2 || host.fqdn.length > MAX_HOSTNAME) {
      throw new Error(`GcpHostInstance: host name "${host.fqdn}" must have at least two labels and at most ${MAX_HOSTNAME} characters`);
    }
    if (host.etcdDataGiB !== undefined) {
      this.etcdDataDisk = new ComputeDisk(this, "etcd-data", {
        name: gceName(...etcdDataDiskNameParts(host.machineName)),
        description: `etcd data of member ${host.name} of Kubernetes cluster ${props.cluster}`,
        zone: host.zone,
        size: host.etcdDataGiB,
        type: ETCD_DATA_DISK_TYPE,
        labels: { pool: poolLabel(host.pool), role: "etcd-data" },
        lifecycle: { preventDestroy: true },
      });
    }
    this.instance = new ComputeInstance(this, "instance", {
      name: gceName(host.machineName),
      description: `${host.roles.join(", ")} of Kubernetes cluster ${props.cluster}`,
      hostname: host.fqdn,
      zone: host.zone,
      machineType: host.machineType,
      tags: [...props.tags],
      labels: { pool: poolLabel(host.pool) },
      bootDisk: {
        autoDelete: true,
        initializeParams: { image: props.image, size: host.diskGiB, type: props.bootDiskType },
      },
      ...(this.etcdDataDisk
        ? { attachedDisk: [{ source: this.etcdDataDisk.selfLink, deviceName: ETCD_DATA_DISK_NAME, mode: "READ_WRITE" }] }
        : {}),
      networkInterface: [
        {
          subnetwork: props.subnetwork,
          networkIp: host.address,
          ...(props.publicAddress ? { accessConfig: [{ networkTier: "PREMIUM" }] } : {}),
        },
      ],
      // Metadata changes update an instance in place: adding the host key to a running cluster replaces nothing.
      metadata: {
        ...INSTANCE_METADATA,
        ...(props.sshHostPrivateKey !== undefined ? { [GCE_HOST_KEY_METADATA_KEY]: props.sshHostPrivateKey } : {}),
      },
      serviceAccount: { email: props.serviceAccountEmail, scopes: [...props.scopes] },
      // NixOS' boot chain is not signed for Secure Boot; the vTPM and integrity monitoring still measure the boot.
      shieldedInstanceConfig: { enableSecureBoot: false, enableVtpm: true, enableIntegrityMonitoring: true },
      // Guards from the change review (src/day2/review.ts): an etcd member or control-plane host is neither
      // replaced nor stopped unless this synth allowed it, also when the JSON is edited by hand.
      allowStoppingForUpdate: host.guard.allowStopping,
      lifecycle: {
        preventDestroy: host.guard.preventDestroy,
        ...(host.guard.applyImage ? {} : { ignoreChanges: [BOOT_IMAGE_ATTRIBUTE] }),
      },
    });
    if (props.publicAddress) {
      this.externalAddress = this.instance.networkInterface.get(0).accessConfig.get(0).natIp;
    }
  }
}

function poolLabel(pool: HostPlan["pool"]): string {
  return pool.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
