/**
 * Headless domains with dmacvicar/libvirt 0.8.3.
 *
 * The provider's domain template always carries a SPICE display, and its `graphics` block only offers
 * `spice` or `vnc`: leaving the block out does not remove the display. The supported way to change the
 * generated XML before it is defined is `xml { xslt }`; this stylesheet copies the document unchanged except
 * for the `<graphics>` devices. Without a display libvirt adds no default video device either, so the VM's
 * only console is the serial one. The provider never reads graphics back, so this causes no drift.
 *
 * The provider applies the stylesheet with `xsltproc` on the machine that runs terraform.
 */
import { identityStylesheet } from "./stylesheet";

/** Drops the `<graphics>` devices. */
const REMOVE_GRAPHICS = '  <xsl:template match="/domain/devices/graphics"/>';

export const REMOVE_GRAPHICS_XSLT = identityStylesheet([REMOVE_GRAPHICS]);

/**
 * REMOVE_GRAPHICS_XSLT, and the domain's second disk (an etcd member's data volume) gets the serial `etcd-data`,
 * so the guest finds it as /dev/disk/by-id/virtio-etcd-data (src/cluster/etcd-data-disk.ts): provider 0.8.3 has no
 * `serial` argument. Used only for domains with a data disk, so the stylesheet of the others never changes.
 */
export const REMOVE_GRAPHICS_AND_NAME_DATA_DISK_XSLT = identityStylesheet([
  REMOVE_GRAPHICS,
  `  <xsl:template match="/domain/devices/disk[not(@device) or @device='disk'][2]/serial"/>`,
  `  <xsl:template match="/domain/devices/disk[not(@device) or @device='disk'][2]">`,
  "    <xsl:copy>",
  '      <xsl:apply-templates select="@*|node()"/>',
  "      <serial>etcd-data</serial>",
  "    </xsl:copy>",
  "  </xsl:template>",
]);
