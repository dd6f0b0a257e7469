/** The one dmacvicar/libvirt provider (connection) of a stack. */
import { TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import { LibvirtProvider } from "../../.gen/providers/libvirt/provider";

/** Construct id of the provider; stable, so `terraform state` addresses never change. */
export const LIBVIRT_PROVIDER_ID = "libvirt";

/**
 * The libvirt provider of the stack that holds `scope`, created on first use with the connection `uri`
 * (`qemu:///system`, or `qemu+ssh://user@host/system` for a remote libvirtd). Every libvirt resource of the stack
 * uses this one connection; asking for a second, different URI in the same stack is an error.
 */
export function libvirtProvider(scope: Construct, uri: string): LibvirtProvider {
  const stack = TerraformStack.of(scope);
  const existing = stack.node.tryFindChild(LIBVIRT_PROVIDER_ID);
  if (existing === undefined) return new LibvirtProvider(stack, LIBVIRT_PROVIDER_ID, { uri });
  if (!(existing instanceof LibvirtProvider)) {
    throw new Error(`stack "${stack.node.id}" already has a construct "${LIBVIRT_PROVIDER_ID}" that is not the libvirt provider`);
  }
  if (existing.uri !== uri) {
    throw new Error(`stack "${stack.node.id}" already connects to libvirt at "${existing.uri}"; got a second URI "${uri}" (one connection per cluster)`);
  }
  return existing;
}
