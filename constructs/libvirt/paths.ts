/** Where terraform finds local files named in the description. */
import * as path from "node:path";
import { fromStackDir } from "../../src/stack-dir";

const URL = /^https?:\/\//;

/**
 * The base image as the libvirt provider should read it (`libvirt_volume.source`): a path relative to the
 * repository root becomes relative to the stack's working directory (src/stack-dir.ts), so the synthesized JSON
 * never holds a path of this machine. An absolute path or an http(s) URL, if the description gives one, is kept
 * as written.
 */
export function imageSourceForStack(baseImage: string): string {
  if (baseImage.trim() === "") throw new Error("libvirt.baseImage is empty; name the NixOS qcow2 image, e.g. nixos/result-libvirt/nixos.qcow2");
  if (URL.test(baseImage) || path.posix.isAbsolute(baseImage)) return baseImage;
  const fromRoot = path.posix.normalize(baseImage);
  if (fromRoot === "." || fromRoot.endsWith("/")) {
    throw new Error(`libvirt.baseImage "${baseImage}" names a directory; name the qcow2 file, e.g. nixos/result-libvirt/nixos.qcow2`);
  }
  return fromStackDir(fromRoot);
}
