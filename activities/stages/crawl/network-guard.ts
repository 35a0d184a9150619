/**
 * Keeps a crawl off private networks: a page on the public web can link to http://10.0.0.1/admin or to a name
 * that resolves to 127.0.0.1, and a crawler running inside a cluster must not follow it. Hosts are resolved
 * and every address checked; redirects are checked again (see crawler.ts). A name that re-resolves to another
 * address between our check and the fetch (DNS rebinding) is not caught: that needs an egress firewall.
 */
import dns from 'node:dns/promises';
import net from 'node:net';
import { NonRetryableError } from '@crawlee/core';

/** Refused without retries: the target will not stop being private. */
export class BlockedTargetError extends NonRetryableError {
  override name = 'BlockedTargetError';
}

/** Also when wrapped: got turns an error thrown in a redirect hook into a RequestError with it as `cause`. */
export function isBlockedTarget(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof BlockedTargetError || e.name === 'BlockedTargetError') return true;
  }
  return false;
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

export class NetworkGuard {
  private readonly verdicts = new Map<string, Promise<string | undefined>>();

  constructor(private readonly allowPrivate: boolean) {}

  /** Why the URL's host must not be fetched, or undefined when it may be. Cached per host for the crawl. */
  check(url: string): Promise<string | undefined> {
    if (this.allowPrivate) return Promise.resolve(undefined);
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    let verdict = this.verdicts.get(host);
    if (!verdict) {
      verdict = verdictFor(host);
      this.verdicts.set(host, verdict);
    }
    return verdict;
  }

  async assert(url: string): Promise<void> {
    const reason = await this.check(url);
    if (reason) throw new BlockedTargetError(`refusing ${url}: ${reason}`);
  }
}

async function verdictFor(host: string): Promise<string | undefined> {
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.lookup(host, { all: true })).map((a) => a.address);
    } catch {
      // Unresolvable now: the fetch itself will fail and be classed as a network error.
      return undefined;
    }
  }
  const bad = addresses.find(isPrivateAddress);
  return bad === undefined
    ? undefined
    : `${host} resolves to ${bad}, a loopback/private/link-local address (set allowPrivateNetworks: true to crawl it)`;
}
