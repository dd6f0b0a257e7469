/**
 * The names machines and their libvirt objects get, built from the cluster and host names: the one place they
 * are built. The plan and validation build machine names here, the libvirt constructs every name of theirs (the
 * GCP target's names are in src/gcp/names.ts). Pure.
 */
import { createHash } from "node:crypto";
import { ETCD_DATA_DISK_NAME } from "./etcd-data-disk";

/** Short, stable hash (hex digits of SHA-256) for a name derived from a longer value (an image URL, a cluster name). */
export function shortHash(value: string, digits = 10): string {
  return createHash("sha256").update(value).digest("hex").slice(0, digits);
}

/** A machine name is a libvirt domain or a GCE instance; both are kept to a DNS label's length. */
export const MACHINE_NAME_MAX = 63;

/** `<cluster>-<host>`: two clusters can share a libvirt host or a GCP project. */
export function machineName(cluster: string, host: string): string {
  return `${cluster}-${host}`;
}

/**
 * The libvirt objects of a cluster. The pool and the network are named after the cluster; the volumes are files in
 * the pool's folder, named after the machine they belong to. With a machine name of at most MACHINE_NAME_MAX
 * characters the longest, `<machine>-etcd-data.qcow2`, has at most 79: far within a file name's 255 bytes, so
 * the machine-name check bounds them all (the name-length property test checks every one it synthesizes).
 */
export const libvirtNames = {
  pool: (cluster: string): string => cluster,
  network: (cluster: string): string => cluster,
  baseVolume: (cluster: string): string => `${cluster}-base.qcow2`,
  rootVolume: (machine: string): string => `${machine}.qcow2`,
  configDisk: (machine: string): string => `${machine}-config.iso`,
  etcdDataVolume: (machine: string): string => `${machine}-${ETCD_DATA_DISK_NAME}.qcow2`,
} as const;
