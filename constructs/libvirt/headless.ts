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
export const REMOVE_GRAPHICS_XSLT = `<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="yes"/>
  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>
  <xsl:template match="/domain/devices/graphics"/>
</xsl:stylesheet>
`;

/**
 * REMOVE_GRAPHICS_XSLT, and the domain's second disk (an etcd member's data volume) gets the serial `etcd-data`,
 * so the guest finds it as /dev/disk/by-id/virtio-etcd-data (src/cluster/etcd-data-disk.ts): provider 0.8.3 has no
 * `serial` argument. Used only for domains with a data disk, so the stylesheet of the others never changes.
 */
export const REMOVE_GRAPHICS_AND_NAME_DATA_DISK_XSLT = `<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="yes"/>
  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>
  <xsl:template match="/domain/devices/graphics"/>
  <xsl:template match="/domain/devices/disk[not(@device) or @device='disk'][2]/serial"/>
  <xsl:template match="/domain/devices/disk[not(@device) or @device='disk'][2]">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
      <serial>etcd-data</serial>
    </xsl:copy>
  </xsl:template>
</xsl:stylesheet>
`;
