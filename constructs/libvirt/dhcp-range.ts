/**
 * dnsmasq's dynamic range with dmacvicar/libvirt 0.8.3.
 *
 * The provider writes one `<range>` per subnet into the network XML: everything after the gateway up to the
 * last address before the broadcast (`<ip address="10.240.0.1" ...><dhcp><range start="10.240.0.2"
 * end="10.240.0.254"/></dhcp></ip>`), and its schema has no setting for it (`dnsmasq_options` would add a second
 * `dhcp-range` next to libvirt's, not replace it). The network's `xml { xslt }` is the supported way to change the
 * generated XML: this stylesheet copies it unchanged except for that range. The DHCP reservations the domains
 * add (`<host mac ip>`) may lie outside the range: dnsmasq serves a reservation anywhere in the subnet.
 *
 * 0.8.3 applies the stylesheet with `xsltproc` when it creates the network, never on update (`xml` forces a new
 * network), and never reads the range back, so it causes no drift.
 */
import type { DhcpRange } from "../../src/cluster/libvirt-network";
import { parseIp } from "../../src/cluster/ipv4";
import { identityStylesheet } from "./stylesheet";

export function dynamicRangeXslt(range: DhcpRange): string {
  for (const address of [range.start, range.end]) {
    // Interpolated into XML: only dotted quads get here.
    if (parseIp(address) === undefined) throw new Error(`dynamicRangeXslt: "${address}" is not an IPv4 address`);
  }
  return identityStylesheet([
    "  <xsl:template match=\"/network/ip[not(@family) or @family='ipv4']/dhcp/range\">",
    `    <range start="${range.start}" end="${range.end}"/>`,
    "  </xsl:template>",
  ]);
}
