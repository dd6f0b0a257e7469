/**
 * What a change of one machine attribute does to a running host, per target: the providers' force-new and
 * stop-to-update attributes (hashicorp/google 6.x google_compute_instance / google_compute_disk; dmacvicar/libvirt
 * 0.8.3 libvirt_domain / libvirt_volume), named by the description field that sets them.
 */
import type { Target } from "../cluster/plan-types";
import type { MachineRecordHost } from "./record";

/**
 * replace: the machine is destroyed and created again (the host is down; its root disk is new).
 * stop: updated in place, but the instance is stopped and started for it.
 * in-place: applied to the running machine.
 * pending: never applied by an apply as it stands (bootstrap-only, or not possible with Terraform); reported.
 * refused: cannot be done safely at all; the synth refuses the description.
 */
export type Effect = "replace" | "stop" | "in-place" | "pending" | "refused";

/** The attributes the record holds and the review compares. */
export type MachineAttribute = "vcpu" | "memoryMiB" | "diskGiB" | "fqdn" | "address" | "etcdDataGiB" | "zone" | "machineType" | "bootDiskType" | "image";

/** The attributes that mean something on a target (GCP sizes come from machine types; libvirt has no zones). */
export function attributesOf(target: Target): readonly MachineAttribute[] {
  return target === "gcp"
    ? ["diskGiB", "fqdn", "address", "etcdDataGiB", "zone", "machineType", "bootDiskType", "image"]
    : ["vcpu", "memoryMiB", "diskGiB", "address", "etcdDataGiB", "image"];
}

export interface AttributeEffect {
  readonly effect: Effect;
  /** The provider attribute and what it does, for the preview. */
  readonly why: string;
}

/** The description field of an attribute of a host in `pool` (as the user edits it). */
export function descriptionField(attribute: MachineAttribute, target: Target, pool: MachineRecordHost["pool"]): string {
  switch (attribute) {
    case "vcpu":
    case "memoryMiB":
    case "diskGiB":
    case "etcdDataGiB":
      return `pools.${pool}.${attribute}`;
    case "fqdn":
      return "network.domain";
    case "address":
      return `pools.${pool}.addressOffset`;
    case "zone":
      return "gcp.zones";
    case "machineType":
      return `gcp.machineTypes.${pool}`;
    case "bootDiskType":
      return "gcp.bootDiskType";
    case "image":
      return target === "gcp" ? "gcp.image" : "libvirt.baseImage";
  }
}

type Value = string | number | null;

export function attributeEffect(target: Target, attribute: MachineAttribute, before: Value, after: Value, etcdMember: boolean): AttributeEffect {
  if (attribute === "address" && etcdMember) {
    return {
      effect: "refused",
      why:
        "an etcd member's peer and client URLs are its address, recorded in the cluster's membership: an apply cannot move it. " +
        "Keep the member's address (addressOffset, nodeCidr); to give a member a new address, replace it (docs/day-2.md#replace-an-etcd-member)",
    };
  }
  return target === "gcp" ? gcpEffect(attribute, before, after, etcdMember) : libvirtEffect(attribute, before, after);
}

function gcpEffect(attribute: MachineAttribute, before: Value, after: Value, etcdMember: boolean): AttributeEffect {
  switch (attribute) {
    case "vcpu":
    case "memoryMiB":
      return { effect: "in-place", why: "not used on GCP (gcp.machineTypes sets the size)" };
    case "diskGiB":
      return { effect: "replace", why: "google_compute_instance boot_disk.initialize_params.size forces a new instance" };
    case "bootDiskType":
      return { effect: "replace", why: "google_compute_instance boot_disk.initialize_params.type forces a new instance" };
    case "fqdn":
      return { effect: "replace", why: "google_compute_instance.hostname forces a new instance" };
    case "zone":
      if (etcdMember) {
        return {
          effect: "refused",
          why:
            "google_compute_instance.zone forces a new instance, and the member's data disk is zonal: it cannot follow the instance to the new zone. " +
            "Keep the existing entries of gcp.zones in their order (new zones may only be appended: a member keeps its zone while its index stays below the old count); " +
            "to move a member, replace it (docs/day-2.md#replace-an-etcd-member)",
        };
      }
      return { effect: "replace", why: "google_compute_instance.zone forces a new instance" };
    case "machineType":
      return { effect: "stop", why: "google_compute_instance.machine_type is updated by stopping and starting the instance (allow_stopping_for_update)" };
    case "address":
      return { effect: "stop", why: "google_compute_instance network_interface.network_ip is changed on the instance (it loses its address meanwhile)" };
    case "image":
      return { effect: "pending", why: "the boot image only bootstraps a machine (ignore_changes): it reaches this host only when the host is re-imaged" };
    case "etcdDataGiB":
      if (before === null) return { effect: "in-place", why: "a new google_compute_disk, attached to the running instance (attached_disk); move the data onto it with scripts/etcd-move-data.sh" };
      if (after === null) return { effect: "refused", why: "the member's data disk would be detached; a member keeps its data disk" };
      if ((after as number) < (before as number)) {
        return { effect: "refused", why: "a persistent disk cannot shrink (google_compute_disk.size forces a new, empty disk); keep the size, or replace the member with a smaller disk (docs/day-2.md#replace-an-etcd-member)" };
      }
      return { effect: "in-place", why: "google_compute_disk.size grows the disk online; then grow the file system (docs/day-2.md#data-disks-and-migration)" };
  }
}

function libvirtEffect(attribute: MachineAttribute, before: Value, after: Value): AttributeEffect {
  switch (attribute) {
    case "vcpu":
      return { effect: "replace", why: "libvirt_domain.vcpu forces a new domain" };
    case "memoryMiB":
      return { effect: "replace", why: "libvirt_domain.memory forces a new domain" };
    case "diskGiB":
      return { effect: "replace", why: "libvirt_volume.size forces a new root volume (re-image) and so a new domain" };
    case "fqdn":
      return { effect: "in-place", why: "the host name's domain (NixOS only on libvirt; the network's domain is checked with the network)" };
    case "address":
      return {
        effect: "stop",
        why: "0.8.3 only rewrites the network's DHCP reservation (network_interface.addresses, mac): the guest takes the address when it restarts (virsh reboot)",
      };
    case "etcdDataGiB":
      if (before === null) return { effect: "replace", why: "a new data volume in libvirt_domain.disk forces a new domain (the root volume is kept); move the data onto it with scripts/etcd-move-data.sh" };
      if (after === null) return { effect: "refused", why: "the member's data volume would be detached; a member keeps its data volume" };
      return {
        effect: "pending",
        why: "libvirt_volume.size would force a new, empty volume: resize it by hand, then name the host in ALLOW_DISRUPTION to record it (docs/day-2.md#data-disks-and-migration)",
      };
    case "image":
      return { effect: "pending", why: "the base volume ignores a new image (bootstrap only): it reaches hosts only when they are re-imaged (docs/day-2.md#rolling-a-new-image-to-every-host)" };
    case "zone":
    case "machineType":
    case "bootDiskType":
      return { effect: "in-place", why: "not used on libvirt" };
  }
}
