/**
 * How a machine receives the SSH host key Terraform made for it (constructs/ssh/host-keys.ts), per target: the
 * compute targets write it there and the NixOS side (nixos/modules/access.nix, through the host files) reads it
 * from there. Pure data, no cdktf.
 */
import type { Target } from "../cluster/plan-types";

/** Where sshd's one host key lives on every host (services.openssh.hostKeys). */
export const SSH_HOST_KEY_PATH = "/etc/ssh/ssh_host_ed25519_key";

/**
 * libvirt: a read-only ISO 9660 config disk labelled `cidata` (provider 0.8.3's libvirt_cloudinit_disk, a NoCloud
 * seed; the guest runs no cloud-init) whose `user-data` file is the private key.
 */
export const LIBVIRT_CONFIG_DISK = { label: "cidata", hostKeyFile: "user-data" } as const;

/** GCP: the instance metadata key whose value is the private key (read from the metadata server). */
export const GCE_HOST_KEY_METADATA_KEY = "k8s-ssh-host-ed25519-key";

export type HostKeyChannel =
  | { readonly source: "config-disk"; readonly label: string; readonly file: string; readonly path: string }
  | { readonly source: "gce-metadata"; readonly metadataKey: string; readonly path: string };

export function hostKeyChannel(target: Target): HostKeyChannel {
  return target === "gcp"
    ? { source: "gce-metadata", metadataKey: GCE_HOST_KEY_METADATA_KEY, path: SSH_HOST_KEY_PATH }
    : { source: "config-disk", label: LIBVIRT_CONFIG_DISK.label, file: LIBVIRT_CONFIG_DISK.hostKeyFile, path: SSH_HOST_KEY_PATH };
}
