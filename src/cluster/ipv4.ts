/** IPv4 arithmetic on plain numbers; no dependency on cdktf or Terraform functions. */

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  readonly network: number;
  readonly prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIp(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0);
}

export function formatIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Parses "a.b.c.d/n"; rejects host bits set, so "10.0.0.1/24" is an error rather than a guess. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match) return undefined;
  const address = parseIp(match[1]);
  const prefix = Number(match[2]);
  if (address === undefined || prefix > 32) return undefined;
  if (address % cidrSize({ network: 0, prefix }) !== 0) return undefined;
  return { network: address, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.network)}/${cidr.prefix}`;
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.prefix);
}

export function broadcast(cidr: Cidr): number {
  return cidr.network + cidrSize(cidr) - 1;
}

export function contains(cidr: Cidr, address: number): boolean {
  return address >= cidr.network && address <= broadcast(cidr);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.network <= broadcast(b) && b.network <= broadcast(a);
}

/** Like Terraform's cidrhost(): the n-th address of the block (n = 0 is the network address). */
export function cidrHost(cidr: Cidr, n: number): string {
  if (n < 0 || n >= cidrSize(cidr)) {
    throw new RangeError(`host number ${n} does not fit in ${formatCidr(cidr)}`);
  }
  return formatIp(cidr.network + n);
}

/** Offset of an address inside a block (the inverse of cidrHost). */
export function hostNumber(cidr: Cidr, address: number): number {
  return address - cidr.network;
}
