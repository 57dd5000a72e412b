import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';

/**
 * Which addresses an outgoing request may reach. Webhook and `http_post` URLs can come from
 * customer traits and event properties, so without this check a customer could make the worker
 * POST to its own loopback, the cloud metadata service or the office network (SSRF). Every
 * address a host name resolves to is checked, and the connection goes to the address that was
 * checked (see {@link guardedLookup}), so a second DNS answer cannot swap in another one.
 */

/** One entry of UNBROKEN_HTTP_ALLOW_PRIVATE: a network (`10.0.0.0/8`, `127.0.0.1`) or an exact host name. */
export type AllowEntry = { kind: 'net'; address: string; prefix: number; family: 'ipv4' | 'ipv6' } | { kind: 'host'; host: string };

/** The ops-configured exceptions to the private-address rule; empty by default. */
export type AllowList = readonly AllowEntry[];

/** Ranges no outgoing request may reach unless allowed, with the word a failure uses for them. */
const DENIED_V4: ReadonlyArray<readonly [string, number, string]> = [
  ['0.0.0.0', 8, 'an unspecified ("this network") address'],
  ['10.0.0.0', 8, 'a private address'],
  ['100.64.0.0', 10, 'a shared (CGNAT) address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.0.0.0', 24, 'a reserved address'],
  ['192.0.2.0', 24, 'a reserved (documentation) address'],
  ['192.168.0.0', 16, 'a private address'],
  ['198.18.0.0', 15, 'a reserved (benchmarking) address'],
  ['198.51.100.0', 24, 'a reserved (documentation) address'],
  ['203.0.113.0', 24, 'a reserved (documentation) address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['240.0.0.0', 4, 'a reserved or broadcast address'],
];

const DENIED_V6: ReadonlyArray<readonly [string, number, string]> = [
  ['::', 128, 'an unspecified address'],
  ['::1', 128, 'a loopback address'],
  ['100::', 64, 'a reserved (discard) address'],
  ['2001:db8::', 32, 'a reserved (documentation) address'],
  ['fc00::', 7, 'a private (unique local) address'],
  ['fe80::', 10, 'a link-local address'],
  ['fec0::', 10, 'a reserved (site-local) address'],
  ['ff00::', 8, 'a multicast address'],
];

/** The words of the range `address` falls in, or undefined for an ordinary public address. */
export function deniedRange(address: string): string | undefined {
  // IPv6 ranges first: `::` and `::1` would otherwise read as IPv4-compatible 0.0.0.0 and 0.0.0.1.
  const v6 = isIP(address) === 6 ? rangeOf(address, 'ipv6', DENIED_V6) : undefined;
  if (v6 !== undefined) return v6;
  const v4 = embeddedIpv4(address);
  return v4 === undefined ? undefined : rangeOf(v4, 'ipv4', DENIED_V4);
}

function rangeOf(address: string, family: 'ipv4' | 'ipv6', ranges: ReadonlyArray<readonly [string, number, string]>): string | undefined {
  for (const [net, prefix, words] of ranges) {
    const list = new BlockList();
    list.addSubnet(net, prefix, family);
    if (list.check(address, family)) return words;
  }
  return undefined;
}

/**
 * The IPv4 address `address` stands for: itself, or the one inside an IPv4-mapped
 * (`::ffff:127.0.0.1`), IPv4-compatible (`::7f00:1`), IPv4-translated (`::ffff:0:7f00:1`), NAT64
 * (`64:ff9b::/96`) or 6to4 (`2002::/16`) IPv6 address, all of which may reach the IPv4 host.
 * Undefined for other IPv6.
 */
function embeddedIpv4(address: string): string | undefined {
  if (isIP(address) === 4) return address;
  const words = ipv6Words(address);
  if (!words) return undefined;
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  if (zeros(0, 5) && (words[5] === 0xffff || words[5] === 0)) return v4(words[6] ?? 0, words[7] ?? 0);
  // IPv4-translated (::ffff:0:a.b.c.d, RFC 2765).
  if (zeros(0, 4) && words[4] === 0xffff && words[5] === 0) return v4(words[6] ?? 0, words[7] ?? 0);
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return v4(words[6] ?? 0, words[7] ?? 0);
  if (words[0] === 0x2002) return v4(words[1] ?? 0, words[2] ?? 0);
  return undefined;
}

/** The eight 16-bit words of an IPv6 address (a trailing dotted IPv4 part included), or undefined. */
function ipv6Words(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const part = (s: string) => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const front = part(head);
  const back = tail === undefined ? [] : part(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - front.length - back.length).fill(0);
  return [...front, ...fill, ...back];
}

/**
 * Parses UNBROKEN_HTTP_ALLOW_PRIVATE: comma-separated networks in CIDR form (`10.0.0.0/8`,
 * `fd00::/8`), single addresses (`127.0.0.1`) or exact host names (`hooks.internal`). Every bad
 * entry is reported by itself.
 */
export function parseAllowList(text: string): { entries: AllowEntry[]; problems: string[] } {
  const entries: AllowEntry[] = [];
  const problems: string[] = [];
  for (const raw of text.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    const bad = (why: string) =>
      problems.push(`UNBROKEN_HTTP_ALLOW_PRIVATE: entry "${raw}" ${why}; the format is networks (10.0.0.0/8, fd00::/8), addresses (127.0.0.1) or host names, comma-separated`);
    const [address = '', prefixText, ...rest] = raw.replace(/^\[(.*)\]$/, '$1').split('/');
    const family = isIP(address);
    if (family !== 0) {
      const max = family === 4 ? 32 : 128;
      const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
      if (rest.length > 0 || !(prefix >= 0 && prefix <= max)) bad(`has a prefix length that is not 0 to ${max}`);
      else entries.push({ kind: 'net', address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' });
    } else if (prefixText === undefined && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?$/i.test(address)) {
      entries.push({ kind: 'host', host: address.toLowerCase().replace(/\.$/, '') });
    } else bad('is neither an IP address, a network nor a host name');
  }
  return { entries, problems };
}

/** True when `address` lies in a network of `allow` (an IPv4-mapped address counts as its IPv4). */
function allowedAddress(allow: AllowList, address: string): boolean {
  const v4 = embeddedIpv4(address);
  for (const entry of allow) {
    if (entry.kind !== 'net') continue;
    const list = new BlockList();
    list.addSubnet(entry.address, entry.prefix, entry.family);
    if (list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6') || (v4 !== undefined && list.check(v4, 'ipv4'))) return true;
  }
  return false;
}

/** True when ops allowed `hostname` by name. */
function allowedHost(allow: AllowList, hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return allow.some((entry) => entry.kind === 'host' && entry.host === host);
}

/** A destination the request may not reach; never retried, since the address will not change by waiting. */
export class DestinationDenied extends Error {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly range: string,
  ) {
    super(`${host === address ? address : `${host} resolves to ${address}, which`} is ${range}; outgoing requests do not reach inside the network unless UNBROKEN_HTTP_ALLOW_PRIVATE allows it`);
    this.name = 'DestinationDenied';
  }
}

/** Strips the brackets WHATWG URL keeps around an IPv6 host. */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Throws {@link DestinationDenied} when `address` (resolved from `host`) may not be reached. */
export function checkAddress(allow: AllowList, host: string, address: string): void {
  if (allowedHost(allow, host) || allowedAddress(allow, address)) return;
  const range = deniedRange(address);
  if (range !== undefined) throw new DestinationDenied(host, address, range);
}

/** Resolves a host name to every address it has; the system resolver unless a test injects another. */
export type Resolver = (hostname: string, family: number, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, family, callback) => dnsLookup(hostname, { family, all: true }, callback);

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for `http.request`/`net.connect`: resolves the host once, refuses the connection if
 * any of its addresses is denied, and hands the socket exactly the addresses it checked.
 */
export function guardedLookup(
  allow: AllowList,
  resolve: Resolver = systemResolver,
): LookupFunction {
  return (hostname, options, callback: LookupCallback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    resolve(hostname, family, (err, addresses) => {
      if (err) return callback(err, []);
      try {
        if (addresses.length === 0) throw Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' });
        for (const { address } of addresses) checkAddress(allow, hostname, address);
      } catch (denied) {
        return callback(denied as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses as [LookupAddress];
      callback(null, first.address, first.family);
    });
  };
}
