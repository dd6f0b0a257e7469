/** The cluster's libvirt NAT network: node subnet, DHCP (reservations come from the domains), local DNS. */
import { Construct } from "constructs";
import { Network } from "../../.gen/providers/libvirt/network";
import { broadcast, cidrHost, contains, parseCidr, parseIp } from "../../src/cluster/ipv4";
import { BRIDGE_NAME, type DhcpRange } from "../../src/cluster/libvirt-network";
import { RFC1123_LABEL } from "../../src/cluster/schema";
import { dynamicRangeXslt } from "./dhcp-range";

/** A name served by the network's DNS (dnsmasq), as a short name and as `<name>.<domain>`. */
export interface LibvirtDnsName {
  /** Short host name, an RFC 1123 label (e.g. "cp-1"). */
  readonly name: string;
  /** IPv4 address inside the network's CIDR. */
  readonly address: string;
}

export interface LibvirtClusterNetworkProps {
  /** libvirt network name; unique on the libvirt host (the cluster name). */
  readonly name: string;
  /** IPv4 node subnet, e.g. "10.240.0.0/24". The host bridge takes its first address (the gateway). */
  readonly cidr: string;
  /** DNS domain of the hosts (e.g. "k8s.internal"); answered only by this network's DNS, never forwarded. */
  readonly domain: string;
  /** Every host of the cluster: each gets an A record as `<name>` and `<name>.<domain>`. */
  readonly hosts: readonly LibvirtDnsName[];
  /** The Kubernetes API VIP; published as `<apiHostname>` and `<apiHostname>.<domain>`. */
  readonly apiAddress: string;
  /**
   * Short name of the API VIP in DNS.
   * @default "api"
   */
  readonly apiHostname?: string;
  /**
   * Start the network when libvirtd starts. Without it the network stays down after a host reboot and no
   * domain of the cluster can start.
   * @default true
   */
  readonly autostart?: boolean;
  /**
   * Name of the host bridge (at most 15 characters), so the host firewall can trust it by name. Fixed at
   * creation: a change replaces the network.
   * @default libvirt picks a free name (virbr0, virbr1, ...), which may differ per libvirt host
   */
  readonly bridge?: string;
  /**
   * dnsmasq's dynamic range, inside `cidr`; the planned hosts (reservations) and the VIP lie outside it. Set
   * through the network's `xml { xslt }` (see dhcp-range.ts); fixed at creation: a change replaces the network.
   * @default libvirt's range: every address after the gateway up to the broadcast (the VIP included)
   */
  readonly dynamicRange?: DhcpRange;
}

/**
 * A `libvirt_network` in NAT mode on the node subnet, on a named host bridge when `bridge` is set. DHCP is on;
 * the fixed address of each VM is a DHCP reservation that the VM's `network_interface` (MAC + address) adds, so
 * the guests keep plain DHCP; dnsmasq's dynamic range (`dynamicRange`) stays clear of them and of the VIP.
 * DNS serves the hosts' domain locally with a record for every host and for the API VIP.
 */
export class LibvirtClusterNetwork extends Construct {
  /** The libvirt network (UUID) id, a token; domains attach to it by id. */
  readonly networkId: string;
  /** The libvirt network name. */
  readonly networkName: string;
  /** The gateway (host bridge) address. */
  readonly gateway: string;
  readonly network: Network;

  constructor(scope: Construct, id: string, props: LibvirtClusterNetworkProps) {
    super(scope, id);
    const cidr = parseCidr(props.cidr);
    if (!cidr) throw new Error(`LibvirtClusterNetwork "${id}": cidr "${props.cidr}" is not an IPv4 CIDR such as 10.240.0.0/24`);
    if (!RFC1123_LABEL.test(props.name)) throw new Error(`LibvirtClusterNetwork "${id}": name "${props.name}" must be lower-case letters, digits and "-"`);
    const apiHostname = props.apiHostname ?? "api";
    const gateway = cidrHost(cidr, 1);
    const seenNames = new Set<string>();
    const seenAddresses = new Map<string, string>();
    for (const entry of [...props.hosts, { name: apiHostname, address: props.apiAddress }]) {
      const address = parseIp(entry.address);
      if (address === undefined || !contains(cidr, address)) {
        throw new Error(`LibvirtClusterNetwork "${id}": address "${entry.address}" of "${entry.name}" is not inside ${props.cidr}`);
      }
      if (entry.address === gateway) {
        throw new Error(`LibvirtClusterNetwork "${id}": "${entry.name}" has the gateway address ${gateway}, which the host bridge holds`);
      }
      if (!RFC1123_LABEL.test(entry.name)) throw new Error(`LibvirtClusterNetwork "${id}": DNS name "${entry.name}" is not an RFC 1123 label`);
      if (seenNames.has(entry.name)) throw new Error(`LibvirtClusterNetwork "${id}": DNS name "${entry.name}" appears twice`);
      const other = seenAddresses.get(entry.address);
      if (other) throw new Error(`LibvirtClusterNetwork "${id}": "${other}" and "${entry.name}" both have address ${entry.address}`);
      seenNames.add(entry.name);
      seenAddresses.set(entry.address, entry.name);
    }

    if (props.bridge !== undefined && !BRIDGE_NAME.test(props.bridge)) {
      throw new Error(`LibvirtClusterNetwork "${id}": bridge "${props.bridge}" is not a Linux interface name of at most 15 characters`);
    }
    if (props.dynamicRange) {
      const reserved = new Map([...seenAddresses].map(([address, name]) => [parseIp(address)!, name]));
      const [start, end] = [parseIp(props.dynamicRange.start), parseIp(props.dynamicRange.end)];
      if (start === undefined || end === undefined || !contains(cidr, start) || end >= broadcast(cidr) || start > end || start <= parseIp(gateway)!) {
        throw new Error(`LibvirtClusterNetwork "${id}": dynamicRange ${props.dynamicRange.start} to ${props.dynamicRange.end} is not a range inside ${props.cidr} above the gateway and below the broadcast address`);
      }
      for (const [address, name] of reserved) {
        if (address >= start && address <= end) throw new Error(`LibvirtClusterNetwork "${id}": "${name}" has an address inside dynamicRange ${props.dynamicRange.start} to ${props.dynamicRange.end}`);
      }
    }

    const records = [...props.hosts, { name: apiHostname, address: props.apiAddress }].flatMap((entry) => [
      { hostname: entry.name, ip: entry.address },
      { hostname: `${entry.name}.${props.domain}`, ip: entry.address },
    ]);

    this.network = new Network(this, "network", {
      name: props.name,
      mode: "nat",
      domain: props.domain,
      addresses: [props.cidr],
      autostart: props.autostart ?? true,
      dhcp: { enabled: true },
      dns: { enabled: true, localOnly: true, hosts: records },
      ...(props.bridge !== undefined ? { bridge: props.bridge } : {}),
      ...(props.dynamicRange ? { xml: { xslt: dynamicRangeXslt(props.dynamicRange) } } : {}),
    });
    this.networkId = this.network.id;
    this.networkName = props.name;
    this.gateway = gateway;
  }
}
