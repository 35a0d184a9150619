/**
 * Where a crawl's entry points come from besides its seeds: robots.txt (rules, Crawl-delay, `Sitemap:` lines)
 * and the sitemaps. The sitemap listing is read once per run and kept next to the ledger, so a resumed attempt
 * does not fetch the sitemaps again.
 */
import type { ArtifactStore } from '../../store';
import { decodeBody } from './decode';
import type { PoliteClient } from './polite-client';
import type { NetworkGuard } from './network-guard';
import { RobotsCache } from './robots';
import { SITEMAP_MAX_BYTES, collectSitemaps, type SitemapEntry } from './sitemaps';

const ROBOTS_MAX_BYTES = 512 * 1024;

export function robotsCache(client: PoliteClient, guard: NetworkGuard, timeoutMs: number, respect: boolean, log: (m: string) => void): RobotsCache {
  return new RobotsCache(async (url) => {
    try {
      const res = await client.get(url, { timeoutMs, maxBytes: ROBOTS_MAX_BYTES, onRedirect: (to) => guard.assert(to) });
      if (!res) return { status: 0, body: '', error: 'cancelled' };
      if (res.status >= 500) log(`crawl: ${url} answered ${res.status}: the site's pages are skipped in this attempt`);
      return { status: res.status, body: decodeBody(res.body, [res.headers['content-type']].flat()[0]).text };
    } catch (e) {
      log(`crawl: ${url} unreachable (${(e as Error).message}): the site's pages are skipped in this attempt`);
      return { status: 0, body: '', error: (e as Error).message };
    }
  }, respect);
}

export interface SitemapListing {
  pages: SitemapEntry[];
  files: number;
}

/** The pages listed by the seeds' sites' sitemaps (robots.txt `Sitemap:` lines, else /sitemap.xml). */
export async function sitemapListing(o: {
  store: ArtifactStore;
  key: string;
  seeds: readonly string[];
  robots: RobotsCache;
  client: PoliteClient;
  guard: NetworkGuard;
  timeoutMs: number;
  maxPages: number;
  signal: AbortSignal;
  log: (m: string) => void;
}): Promise<SitemapListing> {
  const kept = await o.store.getJson<SitemapListing>(o.key);
  if (kept) return kept;
  const roots: string[] = [];
  for (const origin of new Set(o.seeds.map((s) => new URL(s).origin))) {
    const listed = (await o.robots.forUrl(origin)).sitemaps;
    roots.push(...(listed.length ? listed : [`${origin}/sitemap.xml`]));
  }
  const load = async (url: string): Promise<Buffer | undefined> => {
    try {
      await o.guard.assert(url);
      const res = await o.client.get(url, { timeoutMs: o.timeoutMs, maxBytes: SITEMAP_MAX_BYTES, onRedirect: (to) => o.guard.assert(to) });
      if (res && res.status >= 200 && res.status < 300) return res.body;
      if (res && res.status !== 404) o.log(`crawl: sitemap ${url} answered ${res.status}`);
    } catch (e) {
      o.log(`crawl: sitemap ${url} failed: ${(e as Error).message}`);
    }
    return undefined;
  };
  const listing = await collectSitemaps(roots, load, o.maxPages, o.log);
  // A listing cut short by a cancellation is not kept: the next attempt reads the sitemaps again.
  if (!o.signal.aborted) await o.store.putJson(o.key, listing);
  return listing;
}
