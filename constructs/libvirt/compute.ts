/**
 * The cluster's machines on libvirt: its own storage pool, the NixOS base volume, and per host a copy-on-write
 * disk and a headless domain with its planned MAC and address on the cluster network.
 */
import { DataResource, type TerraformResource } from "cdktf";
import { Construct } from "constructs";
import { CloudinitDisk } from "../../.gen/providers/libvirt/cloudinit-disk";
import { Domain } from "../../.gen/providers/libvirt/domain";
import { Pool } from "../../.gen/providers/libvirt/pool";
import { Volume } from "../../.gen/providers/libvirt/volume";
import { libvirtNames } from "../../src/cluster/names";
import type { MachineGuard } from "../../src/cluster/plan-types";
import { RFC1123_LABEL } from "../../src/cluster/schema";
import type { HostEndpoint } from "../target";
import { REMOVE_GRAPHICS_AND_NAME_DATA_DISK_XSLT, REMOVE_GRAPHICS_XSLT } from "./headless";

/** What a machine needs from the host plan (HostPlan satisfies it). */
export interface LibvirtHostSpec {
  /** Host name, an RFC 1123 label; construct ids and the DHCP host name derive from it. */
  readonly name: string;
  /** Domain name on the libvirt host, unique across clusters (e.g. "local-cp-1"); also names its disk volume. */
  readonly machineName: string;
  /** Fixed IPv4 address: a DHCP reservation on the cluster network. */
  readonly address: string;
  /** Fixed MAC of the single NIC. */
  readonly mac: string;
  readonly vcpu: number;
  readonly memoryMiB: number;
  /** Size of the host's disk; at least the base image's virtual size. The guest grows its root file system. */
  readonly diskGiB: number;
  /**
   * etcd members: size of the member's own data volume, attached as the second disk (serial `etcd-data`).
   * @default no data volume
   */
  readonly etcdDataGiB?: number;
  /**
   * prevent_destroy on the domain and its root volume.
   * @default not protected
   */
  readonly guard?: Pick<MachineGuard, "preventDestroy">;
  /**
   * The host's SSH host private key (OpenSSH format, a sensitive token), handed to the guest on a read-only config
   * disk labelled LIBVIRT_CONFIG_DISK.label whose LIBVIRT_CONFIG_DISK.hostKeyFile it is (src/ssh/host-key-channel.ts);
   * default none (no config disk).
   */
  readonly sshHostPrivateKey?: string;
}



export type LibvirtDomainType = "kvm" | "qemu";

export interface LibvirtClusterComputeProps {
  /** Names the storage pool (`<cluster>`) and the base volume (`<cluster>-base.qcow2`). */
  readonly cluster: string;
  /** Id of the cluster's libvirt network (a token from the network stack). */
  readonly networkId: string;
  /** Absolute directory on the libvirt host for the cluster's own `dir` pool; libvirt creates it. */
  readonly poolPath: string;
  /**
   * The NixOS qcow2 image as terraform reads it: a path relative to the stack's working directory, an
   * absolute path, or an http(s) URL. Uploaded once, as the backing file of every host's disk. Bootstrap only:
   * a later change of this value is ignored (lifecycle ignore_changes), so it never replaces running VMs.
   */
  readonly baseImageSource: string;
  readonly hosts: readonly LibvirtHostSpec[];
  /**
   * libvirt domain type: "kvm" (hardware virtualization, /dev/kvm) or "qemu" (pure emulation).
   * @default "kvm"
   */
  readonly domainType?: LibvirtDomainType;
  /**
   * Read the addresses of a domain from the QEMU guest agent instead of the network's DHCP leases. The agent
   * also reports IPv6 and link-local addresses, which show up as drift against the planned address.
   * @default false
   */
  readonly qemuAgent?: boolean;
  /**
   * How long creating a domain may take, including the wait for its DHCP lease (the guest's first boot).
   * @default "10m"
   */
  readonly createTimeout?: string;
}

const GIB = 1024 ** 3;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;
const POOL_PATH = /^\/\S*[^/]$/;

/**
 * A resource's address (`terraform_data.<logical id>`) as `lifecycle.replace_triggered_by` takes it in Terraform
 * JSON: a plain traversal string. Given the resource itself, cdktf 0.21 writes "${terraform_data.<id>}", which
 * terraform rejects there ("Invalid character"; hashicorp/terraform-cdk#3196).
 */
function resourceAddress(resource: TerraformResource): string {
  return `${resource.terraformResourceType}.${resource.friendlyUniqueId}`;
}

/** Construct ids of a host's resources: keyed by host name, so a host's resources never move. */
export function hostConstructIds(host: string): { readonly disk: string; readonly domain: string; readonly etcdData: string; readonly configDisk: string } {
  return { disk: `disk-${host}`, domain: `domain-${host}`, etcdData: `etcd-data-${host}`, configDisk: `config-disk-${host}` };
}

/**
 * Everything of the compute stack on libvirt. Per host: `disk-<host>` (a qcow2 overlay on the base volume,
 * sized per role) and `domain-<host>` (vCPU and memory per role, one NIC with the planned MAC/address and
 * `wait_for_lease`, serial console, no graphics, autostart), replaced with the network (`network-attachment`).
 */
export class LibvirtClusterCompute extends Construct {
  /**
   * A `terraform_data` holding the network id; every domain is replaced when it changes. Provider 0.8.3 plans a
   * new `network_id` on an existing NIC as an in-place update that it never applies, so without this a replaced
   * network (new nodeCidr, domain or mode) would leave every VM attached to nothing.
   */
  readonly networkAttachment: DataResource;
  readonly pool: Pool;
  readonly baseVolume: Volume;
  /** By host name. */
  readonly disks: Readonly<Record<string, Volume>>;
  /**
   * By host name, etcd members only: the member's data volume (not a copy-on-write overlay; raw space formatted by
   * the guest on first use). `prevent_destroy`: no apply or `cdktf destroy` deletes it (docs/day-2.md).
   */
  readonly etcdDataVolumes: Readonly<Record<string, Volume>>;
  /** By host name. */
  readonly domains: Readonly<Record<string, Domain>>;
  /** By host name, for hosts given an SSH host key: the config disk that carries it. */
  readonly configDisks: Readonly<Record<string, CloudinitDisk>>;
  /** By host name: SSH goes to the planned address; the machine id is the domain's UUID (a token). */
  readonly hosts: Readonly<Record<string, HostEndpoint>>;

  constructor(scope: Construct, id: string, props: LibvirtClusterComputeProps) {
    super(scope, id);
    validate(id, props);
    const domainType = props.domainType ?? "kvm";

    this.networkAttachment = new DataResource(this, "network-attachment", { input: { network_id: props.networkId } });

    this.pool = new Pool(this, "pool", {
      name: libvirtNames.pool(props.cluster),
      type: "dir",
      target: { path: props.poolPath },
    });

    this.baseVolume = new Volume(this, "base-image", {
      name: libvirtNames.baseVolume(props.cluster),
      pool: this.pool.name,
      source: props.baseImageSource,
      format: "qcow2",
      // Bootstrap only: a rebuilt or moved image must not replace the base volume, which would replace every
      // disk and every VM. NixOS changes reach running hosts through deploy-rs.
      lifecycle: { ignoreChanges: ["source"] },
    });

    const disks: Record<string, Volume> = {};
    const etcdDataVolumes: Record<string, Volume> = {};
    const domains: Record<string, Domain> = {};
    const configDisks: Record<string, CloudinitDisk> = {};
    const hosts: Record<string, HostEndpoint> = {};
    for (const host of props.hosts) {
      const ids = hostConstructIds(host.name);
      // The SSH host key on a CD-ROM in the cluster's pool, attached through the (authenticated) libvirt connection.
      // `cloudinit` updates a domain in place (the CD is swapped; the guest sees it at its next boot), so adding it
      // to a running cluster replaces no VM.
      const configDisk =
        host.sshHostPrivateKey === undefined
          ? undefined
          : new CloudinitDisk(this, ids.configDisk, {
              name: libvirtNames.configDisk(host.machineName),
              pool: this.pool.name,
              // The provider writes user_data as the ISO's `user-data` file (LIBVIRT_CONFIG_DISK in src/ssh/host-key-channel.ts).
              userData: host.sshHostPrivateKey,
              metaData: `instance-id: ${host.machineName}\nlocal-hostname: ${host.name}\n`,
            });
      if (configDisk) configDisks[host.name] = configDisk;
      const disk = new Volume(this, ids.disk, {
        name: libvirtNames.rootVolume(host.machineName),
        pool: this.pool.name,
        baseVolumeId: this.baseVolume.id,
        format: "qcow2",
        size: host.diskGiB * GIB,
        lifecycle: { preventDestroy: host.guard?.preventDestroy ?? false },
      });
      const etcdData =
        host.etcdDataGiB === undefined
          ? undefined
          : new Volume(this, ids.etcdData, {
              name: libvirtNames.etcdDataVolume(host.machineName),
              pool: this.pool.name,
              format: "qcow2",
              size: host.etcdDataGiB * GIB,
              // The size is set at creation: 0.8.3 would replace the volume (and its data) for a new one. A volume
              // grown by hand (docs/day-2.md#data-disks-and-migration) must not show as a change either.
              lifecycle: { preventDestroy: true, ignoreChanges: ["size"] },
            });
      const domain = new Domain(this, ids.domain, {
        name: host.machineName,
        type: domainType,
        vcpu: host.vcpu,
        memory: host.memoryMiB,
        autostart: true,
        qemuAgent: props.qemuAgent ?? false,
        ...(configDisk ? { cloudinit: configDisk.id } : {}),
        // Pass the host CPU through under KVM (full feature set for the guest); emulation keeps QEMU's default model.
        ...(domainType === "kvm" ? { cpu: { mode: "host-passthrough" } } : {}),
        disk: etcdData ? [{ volumeId: disk.id }, { volumeId: etcdData.id }] : [{ volumeId: disk.id }],
        networkInterface: [
          {
            networkId: props.networkId,
            mac: host.mac,
            hostname: host.name,
            addresses: [host.address],
            waitForLease: true,
          },
        ],
        console: [{ type: "pty", targetPort: "0", targetType: "serial" }],
        // A domain without a data disk keeps the stylesheet it always had: xml.xslt forces a new domain.
        xml: { xslt: etcdData ? REMOVE_GRAPHICS_AND_NAME_DATA_DISK_XSLT : REMOVE_GRAPHICS_XSLT },
        timeouts: { create: props.createTimeout ?? "10m" },
        lifecycle: {
          // Also replaced with its root volume: 0.8.3 plans a replaced volume as an in-place domain update that it
          // never applies, and the running VM would keep the deleted disk until it restarts.
          replaceTriggeredBy: [resourceAddress(this.networkAttachment), resourceAddress(disk)],
          preventDestroy: host.guard?.preventDestroy ?? false,
        },
      });
      disks[host.name] = disk;
      if (etcdData) etcdDataVolumes[host.name] = etcdData;
      domains[host.name] = domain;
      hosts[host.name] = { sshAddress: host.address, machineId: domain.id };
    }
    this.disks = disks;
    this.etcdDataVolumes = etcdDataVolumes;
    this.domains = domains;
    this.configDisks = configDisks;
    this.hosts = hosts;
  }
}

function validate(id: string, props: LibvirtClusterComputeProps): void {
  const fail = (message: string): never => {
    throw new Error(`LibvirtClusterCompute "${id}": ${message}`);
  };
  if (!RFC1123_LABEL.test(props.cluster)) fail(`cluster "${props.cluster}" must be lower-case letters, digits and "-"`);
  if (!POOL_PATH.test(props.poolPath)) fail(`poolPath "${props.poolPath}" must be an absolute directory path on the libvirt host`);
  if (props.baseImageSource.trim() === "") fail("baseImageSource is empty");
  if (props.hosts.length === 0) fail("hosts is empty; a cluster needs at least one host");
  const seen = { name: new Set<string>(), machineName: new Set<string>(), mac: new Set<string>(), address: new Set<string>() };
  for (const h of props.hosts) {
    if (!RFC1123_LABEL.test(h.name)) fail(`host name "${h.name}" is not an RFC 1123 label`);
    if (!MAC.test(h.mac)) fail(`host "${h.name}": mac "${h.mac}" is not a lower-case MAC address such as 52:54:00:f0:00:14`);
    if (!Number.isInteger(h.vcpu) || h.vcpu < 1) fail(`host "${h.name}": vcpu ${h.vcpu} must be a whole number of at least 1`);
    if (!Number.isInteger(h.memoryMiB) || h.memoryMiB < 256) fail(`host "${h.name}": memoryMiB ${h.memoryMiB} must be a whole number of at least 256`);
    if (!Number.isInteger(h.diskGiB) || h.diskGiB < 1) fail(`host "${h.name}": diskGiB ${h.diskGiB} must be a whole number of at least 1`);
    if (h.etcdDataGiB !== undefined && (!Number.isInteger(h.etcdDataGiB) || h.etcdDataGiB < 1)) {
      fail(`host "${h.name}": etcdDataGiB ${h.etcdDataGiB} must be a whole number of at least 1`);
    }
    for (const key of ["name", "machineName", "mac", "address"] as const) {
      if (seen[key].has(h[key])) fail(`${key} "${h[key]}" is used by two hosts`);
      seen[key].add(h[key]);
    }
  }
}
