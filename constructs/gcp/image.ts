/**
 * The NixOS boot image: an existing image (self-link, or the newest of a family), or one created from the GCE
 * tarball the flake builds (`nix build ./nixos#gce-image`) and the operator uploads to Cloud Storage.
 */
import { ComputeImage } from "@cdktf/provider-google/lib/compute-image";
import { Construct } from "constructs";
import type { GcpImage as GcpImageSetting } from "../../src/cluster/schema";
import { clusterResourceName, gceName, imageNameParts } from "../../src/gcp/names";

/**
 * What a tarball image is marked as supporting. UEFI_COMPATIBLE is required for Shielded VM (the flake builds the
 * image with an EFI system partition); VIRTIO_SCSI_MULTIQUEUE and GVNIC let the kernel's drivers use multi-queue
 * SCSI and Google's virtual NIC on machine series that offer them (e2 stays on virtio-net).
 */
export const TARBALL_GUEST_OS_FEATURES: readonly string[] = ["UEFI_COMPATIBLE", "VIRTIO_SCSI_MULTIQUEUE", "GVNIC"];

/** gs://bucket/path/object.tar.gz -> https://storage.googleapis.com/bucket/path/object.tar.gz, the form the API takes. */
export function tarballSourceUrl(gsUrl: string): string {
  const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(gsUrl);
  if (!match) throw new Error(`GcpImage: tarball "${gsUrl}" is not a gs://<bucket>/<object> URL`);
  const object = match[2].split("/").map(encodeURIComponent).join("/");
  return `https://storage.googleapis.com/${match[1]}/${object}`;
}

export interface GcpImageProps {
  readonly cluster: string;
  /** The description's gcp.image. */
  readonly image: GcpImageSetting;
  /** Project of a family given without one: the cluster's project. */
  readonly project: string;
}

export class GcpImage extends Construct {
  /** What a boot disk's initialize_params.image takes: a self-link, a family path, or the created image's self-link. */
  readonly reference: string;
  /** The image created from the tarball, when the description names one. */
  readonly created?: ComputeImage;

  constructor(scope: Construct, id: string, props: GcpImageProps) {
    super(scope, id);
    const image = props.image;
    if ("selfLink" in image) {
      this.reference = image.selfLink;
    } else if ("family" in image) {
      this.reference = `projects/${image.project ?? props.project}/global/images/family/${image.family}`;
    } else {
      const source = tarballSourceUrl(image.tarball);
      // The name follows the tarball: a new upload under a new object name creates a new image before the old
      // one goes. Running instances are never replaced for it (their boot disk ignores image changes).
      this.created = new ComputeImage(this, "nixos", {
        name: gceName(...imageNameParts(props.cluster, source)),
        family: clusterResourceName(props.cluster, "imageFamily"),
        description: `NixOS for cluster ${props.cluster}, from ${image.tarball}`,
        rawDisk: { source, containerType: "TAR" },
        guestOsFeatures: TARBALL_GUEST_OS_FEATURES.map((type) => ({ type })),
        lifecycle: { createBeforeDestroy: true },
      });
      this.reference = this.created.selfLink;
    }
  }
}
