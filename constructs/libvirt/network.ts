/** The cluster's libvirt NAT network: node subnet, DHCP (reservations come from the domains), local DNS. */
import { Construct } from "constructs";
import { Network } from "../../.gen/providers/libvirt/network";
import { cidrHost, contains, parseCidr, parseIp } from "../../src/cluster/ipv4";
import { RFC1123_LABEL } from "../../src/cluster/schema";

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
}

/**
 * A `libvirt_network` in NAT mode on the node subnet. DHCP is on; the fixed address of each VM is a DHCP
 * reservation that the VM's `network_interface` (MAC + address) adds, so the guests keep plain DHCP.
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
    });
    this.networkId = this.network.id;
    this.networkName = props.name;
    this.gateway = gateway;
  }
}
