/**
 * Keeps a crawl off private networks: a page on the public web can link to http://10.0.0.1/admin, redirect to
 * http://127.0.0.1/, or name a host that resolves to 169.254.169.254, and a crawler inside a cluster must follow
 * none of them. Two layers:
 *
 * - `check`/`assert` before a URL is queued and on every redirect hop: IP literals and names (resolved), cached
 *   per host, so refused targets are reported early and never cost a request;
 * - `lookup`, the DNS lookup of every socket the fetcher opens: each address is checked right where it is used,
 *   so a name that re-resolves to a private address after the first check (DNS rebinding) is refused too.
 *
 * Tests reach 127.0.0.1 through a `NetworkSeam` given to `createCrawlStage`: a resolver and an address
 * translation applied after the check (like NAT). The stage registered for pipelines has none.
 */
import dns from 'node:dns';
import net from 'node:net';
import type { LookupFunction } from 'node:net';

/** Refused without retries: the target will not stop being private. */
export class BlockedTargetError extends Error {
  override name = 'BlockedTargetError';
}

/** Also when wrapped (an error's `cause` chain). */
export function isBlockedTarget(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof BlockedTargetError || e.name === 'BlockedTargetError') return true;
  }
  return false;
}

export type Resolver = (host: string) => Promise<string[]>;

export interface NetworkSeam {
  resolve?: Resolver;
  /** Where a checked address is actually dialled; identity unless a test says otherwise. */
  translate?: (address: string) => string;
}

const blocked = new net.BlockList();
for (const [addr, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(addr, prefix, 'ipv4');
for (const [addr, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  blocked.addSubnet(addr, prefix, 'ipv6');
}

/** Loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast or unspecified. */
export function isPrivateAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return blocked.check(mapped[1], 'ipv4');
  const family = net.isIP(ip);
  if (family === 0) return false;
  return blocked.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

const systemResolve: Resolver = async (host) => (await dns.promises.lookup(host, { all: true })).map((a) => a.address);

export class NetworkGuard {
  private readonly verdicts = new Map<string, Promise<string | undefined>>();
  private readonly resolve: Resolver;
  private readonly translate: (address: string) => string;

  constructor(
    private readonly allowPrivate: boolean,
    seam: NetworkSeam = {},
  ) {
    this.resolve = seam.resolve ?? systemResolve;
    this.translate = seam.translate ?? ((a) => a);
  }

  /** Why the URL's host must not be fetched, or undefined when it may be. Cached per host for the crawl. */
  check(url: string): Promise<string | undefined> {
    if (this.allowPrivate) return Promise.resolve(undefined);
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    let verdict = this.verdicts.get(host);
    if (!verdict) {
      verdict = this.verdictFor(host);
      this.verdicts.set(host, verdict);
    }
    return verdict;
  }

  async assert(url: string): Promise<void> {
    const reason = await this.check(url);
    if (reason) throw new BlockedTargetError(`refusing ${url}: ${reason}`);
  }

  /** For http(s) agents: resolves, refuses private answers (unless allowed), then dials the (translated) address. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname).then(
      (found) => {
        const bad = this.allowPrivate ? undefined : found.find(isPrivateAddress);
        if (bad !== undefined) return callback(new BlockedTargetError(refusal(hostname, bad)), '', 4);
        const all = found.map((a) => this.translate(a)).map((address) => ({ address, family: net.isIP(address) || 4 }));
        if (!all.length) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '', 4);
        if (options.all) (callback as unknown as (e: null, a: typeof all) => void)(null, all);
        else callback(null, all[0].address, all[0].family);
      },
      (e: unknown) => callback(e as NodeJS.ErrnoException, '', 4),
    );
  };

  private async verdictFor(host: string): Promise<string | undefined> {
    let addresses: string[];
    if (net.isIP(host)) addresses = [host];
    else {
      try {
        addresses = await this.resolve(host);
      } catch {
        // Unresolvable now: the fetch itself will fail and be classed as a network error.
        return undefined;
      }
    }
    const bad = addresses.find(isPrivateAddress);
    return bad === undefined ? undefined : refusal(host, bad);
  }
}

function refusal(host: string, address: string): string {
  return `${host} resolves to ${address}, a loopback/private/link-local address (set allowPrivateNetworks: true to crawl it)`;
}
