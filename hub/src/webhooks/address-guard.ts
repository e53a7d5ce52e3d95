import dns from 'node:dns';
import net from 'node:net';

/**
 * SSRF guard for webhook URLs (OWASP SSRF cheat sheet). A partner's URL must not make the hub call
 * into its own network: loopback, private, carrier-grade NAT, link-local (cloud metadata at
 * 169.254.169.254 and fd00:ec2::254), unspecified, multicast and reserved addresses are refused,
 * including IPv4 addresses written as IPv6 (`::ffff:127.0.0.1`, NAT64 `64:ff9b::a00:1`). The check
 * runs when the endpoint is saved and again at every attempt, on the address the socket connects to
 * (`guardedLookup`), so a name that re-resolves to an internal address later (DNS rebinding) is
 * refused too. `HUB_WEBHOOK_ALLOW_PRIVATE=1` turns it off for a hub whose partners are on its LAN.
 */
const refusedV4 = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  refusedV4.addSubnet(network, prefix, 'ipv4');
}

const refusedV6 = new net.BlockList();
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['::', 96], // IPv4-compatible (deprecated)
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (fd00:ec2::254, the EC2 metadata service, is in it)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  refusedV6.addSubnet(network, prefix, 'ipv6');
}

/** The 16 bytes of an IPv6 address (any textual form node accepts), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.split('%')[0] ?? '';
  const bytes: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted?.[1]) {
    if (!net.isIPv4(dotted[1])) return undefined;
    tail = dotted[1].split('.').map(Number);
    text = `${text.slice(0, -dotted[1].length)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const groups = halves.length === 2 ? [...head, ...new Array(8 - head.length - rest.length).fill(0), ...rest] : head;
  if (groups.length !== 8 || groups.some((group) => !Number.isInteger(group) || group < 0 || group > 0xffff)) {
    return undefined;
  }
  for (const group of groups) bytes.push(group >> 8, group & 0xff);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** An IPv4 address an IPv6 one carries (mapped `::ffff:0:0/96`, NAT64 `64:ff9b::/96`), if any. */
function embeddedIpv4(bytes: number[]): string | undefined {
  const zeroTo = (end: number) => bytes.slice(0, end).every((byte) => byte === 0);
  const mapped = zeroTo(10) && bytes[10] === 0xff && bytes[11] === 0xff;
  const nat64 =
    bytes[0] === 0x00 &&
    bytes[1] === 0x64 &&
    bytes[2] === 0xff &&
    bytes[3] === 0x9b &&
    bytes.slice(4, 12).every((b) => b === 0);
  return mapped || nat64 ? bytes.slice(12).join('.') : undefined;
}

/** Why an IP address may not be called, or undefined when it may. */
export function refusedAddressReason(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '');
  if (net.isIPv4(bare))
    return refusedV4.check(bare, 'ipv4') ? `${bare} is a loopback, private or reserved address` : undefined;
  if (net.isIPv6(bare)) {
    const bytes = ipv6Bytes(bare);
    if (!bytes) return `${bare} is not an address the hub can check`;
    const v4 = embeddedIpv4(bytes);
    if (v4 !== undefined) return refusedAddressReason(v4) ? `${bare} carries ${v4}, a refused address` : undefined;
    return refusedV6.check(bare, 'ipv6') ? `${bare} is a loopback, private or reserved address` : undefined;
  }
  return `${address} is not an IP address`;
}

export class AddressRefusedError extends Error {
  override name = 'AddressRefusedError';
  readonly code = 'webhook_address_refused';
}

type LookupAddress = { address: string; family: number };
type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for node:net/http: resolves the name, refuses it if any address it resolves to is
 * refused, and hands the socket only the addresses it checked, so what is checked is what is
 * connected to. With `allowPrivate` it is plain `dns.lookup`.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      if (!allowPrivate) {
        for (const entry of list) {
          const reason = refusedAddressReason(entry.address);
          if (reason)
            return callback(new AddressRefusedError(`${hostname} resolves to ${entry.address}: ${reason}`), []);
        }
      }
      if (list.length === 0)
        return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      if (options.all) return callback(null, list);
      const first = list[0] as LookupAddress;
      return callback(null, first.address, first.family);
    });
  };
}

/** Resolves a name with a bound on how long DNS may take; undefined when it does not resolve in time. */
export function resolveAll(hostname: string, timeoutMs: number): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    dns.lookup(hostname, { all: true }, (error, addresses) => {
      clearTimeout(timer);
      resolve(error ? undefined : addresses.map((entry) => entry.address));
    });
  });
}

/** A URL's `host:port` as `HUB_WEBHOOK_ALLOW_HOSTS` lists it: lower case, the scheme's port when none is given. */
export function hostPort(url: URL): string {
  return `${url.hostname.toLowerCase()}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

/**
 * Why a webhook URL is refused, or undefined: http(s) only, no credentials in it, and (unless
 * `allowPrivate`) a host that is not, and does not resolve to, a refused address. A name that does
 * not resolve yet is accepted: every attempt checks again.
 */
export async function refusedUrlReason(
  text: string,
  allowPrivate: boolean,
  allowHosts: readonly string[] = [],
  dnsTimeoutMs = 2_000,
): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not http(s)`;
  if (url.username || url.password)
    return 'credentials in the URL are not allowed (the signature authenticates the hub)';
  if (allowPrivate || allowHosts.includes(hostPort(url))) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host)) return refusedAddressReason(host);
  // RFC 6761: localhost and every name under it are loopback, whatever a resolver says today.
  const name = host.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return `${host} is a loopback name`;
  const addresses = await resolveAll(host, dnsTimeoutMs);
  for (const address of addresses ?? []) {
    const reason = refusedAddressReason(address);
    if (reason) return `${host} resolves to ${address}: ${reason}`;
  }
  return undefined;
}
