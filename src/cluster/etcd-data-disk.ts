/**
 * Each etcd member keeps its data on a disk of its own, so that replacing the machine (new boot disk, new
 * instance or domain) never takes the member's data with it. This module holds the facts both sides share: the
 * target constructs name the disk so that the guest sees it under a stable path, and the NixOS side
 * (nixos/modules/etcd-data-disk.nix, through the host file) mounts that path at etcd's data directory.
 */
import type { Target } from "./plan-types";

/** Default size of a member's data disk: etcd's default space quota is 2 GiB, its largest suggested one 8 GiB. */
export const ETCD_DATA_DISK_DEFAULT_GIB = 10;

/**
 * The name the guest sees: GCP `attached_disk.device_name` (-> /dev/disk/by-id/google-<name>); libvirt: the
 * virtio disk's `<serial>` (-> /dev/disk/by-id/virtio-<name>). Also the file system's label.
 */
export const ETCD_DATA_DISK_NAME = "etcd-data";

/** etcd's data directory on every member (services.etcd.dataDir), where the data disk is mounted. */
export const ETCD_DATA_DIR = "/var/lib/etcd";

/** The stable device path of the member's data disk inside the guest. */
export function etcdDataDevice(target: Target): string {
  return target === "gcp" ? `/dev/disk/by-id/google-${ETCD_DATA_DISK_NAME}` : `/dev/disk/by-id/virtio-${ETCD_DATA_DISK_NAME}`;
}
