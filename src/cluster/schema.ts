/**
 * The cluster description: its shape, types and defaults (zod). Cross-field rules live in validate.ts.
 * Every default here is listed in docs/description.md.
 */
import { z } from "zod";

// Parse without compiling a parser per object schema: a synth parses a handful of values, not millions.
z.config({ jitless: true });
import { parseCidr, parseIp } from "./ipv4";
import { BRIDGE_NAME, LIBVIRT_ASSIGNED_BRIDGE, MAX_BRIDGE_NAME_LENGTH, WHOLE_SUBNET_RANGE } from "./libvirt-network";

export const RFC1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const RFC1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const label = (what: string) =>
  z.string().regex(RFC1123_LABEL, {
    message: `${what} must be an RFC 1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters`,
  });

const dnsDomain = (what: string) =>
  z
    .string()
    .max(253)
    .regex(RFC1123_SUBDOMAIN, {
      message: `${what} must be a DNS domain of RFC 1123 labels separated by dots, e.g. "k8s.internal"`,
    });

const ipv4 = z.string().refine((v) => parseIp(v) !== undefined, {
  message: 'must be an IPv4 address such as "10.240.0.10"',
});

const cidr = z.string().refine((v) => parseCidr(v) !== undefined, {
  message: 'must be an IPv4 CIDR block with no host bits set, such as "10.240.0.0/24"',
});

export const ROLE_POOLS = ["etcd", "controlPlane", "worker", "loadBalancer"] as const;
export type PoolName = (typeof ROLE_POOLS)[number];

/** Per-role defaults: sizes that run the role comfortably, and where its addresses start in the node subnet. */
export const POOL_DEFAULTS: Record<PoolName, { namePrefix: string; addressOffset: number; vcpu: number; memoryMiB: number; diskGiB: number }> = {
  loadBalancer: { namePrefix: "lb", addressOffset: 5, vcpu: 1, memoryMiB: 1024, diskGiB: 10 },
  etcd: { namePrefix: "etcd", addressOffset: 10, vcpu: 2, memoryMiB: 2048, diskGiB: 20 },
  controlPlane: { namePrefix: "cp", addressOffset: 20, vcpu: 2, memoryMiB: 4096, diskGiB: 20 },
  worker: { namePrefix: "worker", addressOffset: 50, vcpu: 2, memoryMiB: 4096, diskGiB: 40 },
};

const pool = (name: PoolName) => {
  const d = POOL_DEFAULTS[name];
  return z.strictObject({
    count: z.number().int().min(0).max(4000),
    vcpu: z.number().int().min(1).max(256).default(d.vcpu),
    memoryMiB: z.number().int().min(512).max(1048576).default(d.memoryMiB),
    diskGiB: z.number().int().min(4).max(65536).default(d.diskGiB),
    /** Size of each etcd member's own data disk (pools that run etcd only); default ETCD_DATA_DISK_DEFAULT_GIB. */
    etcdDataGiB: z.number().int().min(1).max(65536).optional(),
    namePrefix: label("namePrefix").default(d.namePrefix),
    addressOffset: z.number().int().min(1).default(d.addressOffset),
  });
};

const sshPublicKey = z
  .string()
  .regex(/^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/=]+( .*)?$/, {
    message: 'must be an OpenSSH public key line, e.g. "ssh-ed25519 AAAAC3Nza... you@laptop"',
  });

/**
 * The jump host's SSH host key, which the delivery verifies (bastion_host_key). Terraform's SSH client offers
 * ECDSA, then RSA, then Ed25519 host key algorithms, so it must be the bastion's key of the first of those types
 * the bastion has.
 */
const sshHostKey = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? "is required: the bastion's SSH host key, so the delivery can verify it (get it over a path you trust, e.g. on the bastion: cat /etc/ssh/ssh_host_ecdsa_key.pub; see docs/pki.md#host-keys)"
        : undefined,
  })
  .regex(/^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$/, {
    message: 'must be an OpenSSH host public key line, e.g. "ecdsa-sha2-nistp256 AAAAE2Vj..." (one line of /etc/ssh/ssh_host_*_key.pub)',
  });

const unixUser = z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, { message: "must be a Unix user name" });

/** The libvirt network's host-side settings; each is fixed when the network is created (docs/targets.md). */
const libvirtNetworkSection = z.strictObject({
  /** Host bridge name (at most 15 characters), or "libvirt-assigned". Default for a new network: k8s-<name>. */
  bridge: z
    .union([
      z.literal(LIBVIRT_ASSIGNED_BRIDGE),
      z.string().regex(BRIDGE_NAME, {
        message: `must be a Linux interface name of at most ${MAX_BRIDGE_NAME_LENGTH} characters (letters, digits, "-", "_", "."), e.g. "k8s-lab", or "${LIBVIRT_ASSIGNED_BRIDGE}"`,
      }),
    ])
    .optional(),
  /** dnsmasq's dynamic range, or "whole-subnet". Default for a new network: the top quarter of nodeCidr. */
  dynamicRange: z
    .union([z.literal(WHOLE_SUBNET_RANGE), z.strictObject({ start: ipv4, end: ipv4 })], {
      error: `must be { start: <address>, end: <address> } inside network.nodeCidr, or "${WHOLE_SUBNET_RANGE}"`,
    })
    .optional(),
});

/** The libvirt connection of a description that names none: the local system daemon. */
export const DEFAULT_LIBVIRT_URI = "qemu:///system";

const libvirtSection = z.strictObject({
  /** libvirt connection URI: the local system daemon, or a remote one over SSH. */
  uri: z
    .string()
    .regex(/^qemu(\+(ssh|tcp|tls))?:\/\/[^\s]*\/(system|session)(\?.*)?$/, {
      message: 'must be a libvirt URI such as "qemu:///system" or "qemu+ssh://user@host/system"',
    })
    .default(DEFAULT_LIBVIRT_URI),
  /** Directory on the libvirt host for the cluster's own storage pool. */
  poolPath: z.string().regex(/^\/\S*$/, { message: "must be an absolute directory path on the libvirt host" }),
  /** NixOS qcow2 image on the machine running terraform, relative to the repository root (or absolute). */
  baseImage: z.string().min(1),
  /** "kvm" where /dev/kvm exists, "qemu" for pure emulation. */
  domainType: z.enum(["kvm", "qemu"]).default("kvm"),
  network: libvirtNetworkSection.optional(),
});

const gcpImage = z.union([
  z.strictObject({ selfLink: z.string().regex(/^(https:\/\/www\.googleapis\.com\/compute\/v1\/)?projects\/[^/]+\/global\/images\/[a-z0-9-]+$/, { message: "must be an image self-link: projects/<project>/global/images/<name>" }) }),
  z.strictObject({ family: label("image family"), project: z.string().min(1).optional() }),
  z.strictObject({ tarball: z.string().regex(/^gs:\/\/[a-z0-9._-]+\/.+\.tar\.gz$/, { message: 'must be a GCS URL of the flake-built image tarball: "gs://<bucket>/<object>.tar.gz"' }) }),
], { error: 'must be one of { selfLink: projects/<p>/global/images/<name> }, { family: <family>, project: <project> } or { tarball: gs://<bucket>/<object>.tar.gz }' });

const gcpSection = z.strictObject({
  project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { message: "must be a GCP project id: 6 to 30 lower-case letters, digits or '-'" }),
  region: z.string().regex(/^[a-z]+-[a-z]+\d+$/, { message: 'must be a GCP region such as "europe-west1"' }),
  zones: z.array(z.string().regex(/^[a-z]+-[a-z]+\d+-[a-z]$/, { message: 'must be a GCP zone such as "europe-west1-b"' })).min(1),
  machineTypes: z
    .strictObject({
      etcd: z.string().min(1).default("e2-small"),
      controlPlane: z.string().min(1).default("e2-standard-2"),
      worker: z.string().min(1).default("e2-standard-4"),
    })
    .prefault({}),
  bootDiskType: z.enum(["pd-standard", "pd-balanced", "pd-ssd"]).default("pd-balanced"),
  image: gcpImage,
  /** Who may reach SSH and the API from outside. Required: there is no silent 0.0.0.0/0. */
  adminSourceRanges: z.array(cidr).min(1),
  /** Give every host an ephemeral public address (deploy-rs and PKI delivery from outside). */
  publicAddresses: z.boolean().default(true),
});

/** The trust anchors a rotation replaces: the three CAs and the service-account token signing key. */
export const ROTATABLE_AUTHORITIES = ["kubernetes", "etcd", "front-proxy", "service-account"] as const;
/** The steps of a rotation, applied one apply at a time in this order (docs/pki.md#ca-rotation). */
export const ROTATION_PHASES = ["trust", "reissue", "drop"] as const;

const rotationPhase = z.enum(ROTATION_PHASES, {
  error: 'must be one of "trust" (old + new trusted everywhere), "reissue" (certificates signed by the new one) or "drop" (the old one removed)',
});

const pkiSection = z
  .strictObject({
    algorithm: z.enum(["ECDSA", "RSA"]).default("ECDSA"),
    ecdsaCurve: z.enum(["P256", "P384"]).default("P256"),
    rsaBits: z.union([z.literal(2048), z.literal(3072), z.literal(4096)]).default(2048),
    caValidityHours: z.number().int().min(24).default(87600),
    certValidityHours: z.number().int().min(24).default(8760),
    earlyRenewalHours: z.number().int().min(1).default(720),
    /** Extra public DNS name of the API endpoint, added to the API server certificate. */
    apiDnsName: dnsDomain("apiDnsName").optional(),
    /**
     * prevent_destroy on the CA keys and certificates and the service-account key: nothing, not even `destroy`,
     * replaces or removes them by accident. Set false only to destroy the cluster (docs/day-2.md).
     */
    protectAuthorities: z.boolean().default(true),
    /** Rotations in progress, by authority: the phase to apply. Absent: no rotation (the active one only). */
    rotation: z
      .strictObject(Object.fromEntries(ROTATABLE_AUTHORITIES.map((a) => [a, rotationPhase.optional()])) as Record<(typeof ROTATABLE_AUTHORITIES)[number], z.ZodOptional<typeof rotationPhase>>)
      .prefault({}),
  })
  .prefault({});

const backendSection = z
  .discriminatedUnion("type", [
    z.strictObject({ type: z.literal("local") }),
    z.strictObject({
      type: z.literal("gcs"),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, { message: "must be a GCS bucket name" }),
      /** Object prefix; each stack's state goes under <prefix>/<cluster>/<stack>/. Default "nixos-k8s". */
      prefix: z
        .string()
        .regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, { message: 'must be an object name prefix without leading or trailing "/", e.g. "terraform/k8s"' })
        .optional(),
      /** Cloud KMS key that encrypts the state objects (customer-managed); default: Google-managed encryption. */
      kmsEncryptionKey: z
        .string()
        .regex(/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/, {
          message: 'must be a Cloud KMS key name: "projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>"',
        })
        .optional(),
    }),
  ])
  .prefault({ type: "local" });

/**
 * The first Kubernetes minor the NixOS side cannot run: 1.35 removed the kubelet flag --pod-infra-container-image,
 * which nixpkgs' kubelet module passes. The same gate is nixos/lib/kubernetes-version.nix's firstUnsupported.
 */
export const FIRST_UNSUPPORTED_MINOR = 35;

/** etcd snapshots on every member (nixos/modules/etcd-backup.nix), with an optional copy off the hosts. */
const backupSection = z
  .strictObject({
    /** Snapshot timer on every etcd member. */
    enabled: z.boolean().default(true),
    /** When snapshots are taken: a systemd OnCalendar expression (systemd.time(7)). */
    interval: z
      .string()
      .regex(/^[A-Za-z0-9*:.,/~ -]{1,100}$/, {
        message: 'must be a systemd calendar expression such as "hourly", "daily" or "*-*-* 00/6:00:00" (systemd.time(7))',
      })
      .default("hourly"),
    /** Snapshots each member keeps in /var/backups/etcd (the oldest is removed first). */
    keep: z.number().int().min(1).max(10000).default(24),
    /** GCP only: a Cloud Storage bucket (yours, existing) that every snapshot is also uploaded to. */
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, { message: "must be a GCS bucket name" })
      .optional(),
  })
  .prefault({});

export const descriptionSchema = z.strictObject({
  name: label("name"),
  target: z.enum(["libvirt", "gcp"]),
  topology: z.enum(["external-etcd", "stacked"]).default("external-etcd"),
  kubernetes: z.strictObject({
    /** Kubernetes minor version, e.g. "1.33"; must match the pinned nixpkgs' Kubernetes. */
    version: z
      .string()
      .regex(/^1\.\d{1,2}$/, { message: 'must be a Kubernetes minor version such as "1.33"' })
      .refine((v) => Number(v.split(".")[1]) < FIRST_UNSUPPORTED_MINOR, {
        message: `Kubernetes 1.${FIRST_UNSUPPORTED_MINOR} removed the kubelet flag --pod-infra-container-image, which nixpkgs' kubelet module (NixOS 25.11) still passes, so its kubelets would not start; use "1.34" until the project handles it (nixos/lib/kubernetes-version.nix)`,
      }),
    clusterDomain: dnsDomain("clusterDomain").default("cluster.local"),
    podCidr: cidr.default("10.200.0.0/16"),
    nodePodCidrPrefix: z.number().int().min(16).max(28).default(24),
    serviceCidr: cidr.default("10.32.0.0/24"),
  }),
  network: z.strictObject({
    nodeCidr: cidr,
    /** The hosts' DNS domain (not the in-cluster domain). */
    domain: dnsDomain("domain").default("k8s.internal"),
    /** libvirt: the API VIP; gcp: the internal API load balancer's address. Default: cidrhost(nodeCidr, 2). */
    apiAddress: ipv4.optional(),
  }),
  ssh: z.strictObject({
    user: unixUser.default("root"),
    authorizedKeys: z.array(sshPublicKey),
    /**
     * SSH jump host for the PKI delivery (Terraform's SSH client reads no ~/.ssh/config): an address the operator
     * reaches that can reach the node subnet. Absent: connect straight to the hosts.
     */
    bastion: z
      .strictObject({
        host: z.string().refine((v) => parseIp(v) !== undefined || (v.length <= 253 && RFC1123_SUBDOMAIN.test(v)), {
          message: 'must be an IPv4 address or a DNS name, e.g. "bastion.example.net"',
        }),
        user: unixUser.optional(),
        port: z.number().int().min(1).max(65535).optional(),
        hostKey: sshHostKey,
      })
      .optional(),
  }),
  pools: z.strictObject({
    etcd: pool("etcd").optional(),
    controlPlane: pool("controlPlane"),
    worker: pool("worker").optional(),
    loadBalancer: pool("loadBalancer").optional(),
  }),
  libvirt: libvirtSection.optional(),
  gcp: gcpSection.optional(),
  pki: pkiSection,
  backend: backendSection,
  backup: backupSection,
});

/** A description as written in YAML (defaults optional). */
export type DescriptionInput = z.input<typeof descriptionSchema>;
/** A parsed description with every default filled in. */
export type Description = z.output<typeof descriptionSchema>;
export type PoolSpec = z.output<ReturnType<typeof pool>>;
export type LibvirtSettings = z.output<typeof libvirtSection>;
export type GcpSettings = z.output<typeof gcpSection>;
export type GcpImage = z.output<typeof gcpImage>;
export type PkiSettings = z.output<typeof pkiSection>;
export type BackendSettings = z.output<typeof backendSection>;
export type BackupSettings = z.output<typeof backupSection>;
