/**
 * The `crawl` stage: seeds and sitemaps → pages within allow/deny, robots.txt, depth, page and byte limits →
 * main-text documents. Incremental crawls also start from the previous snapshot's pages and ask with
 * conditional requests (see snapshot.ts).
 *
 * Resuming after a crash (a killed worker, a timed-out attempt): every finished page is in the ledger before
 * its outlinks are queued, so the next attempt lists the ledger, treats those URLs as done, and rebuilds the
 * frontier from the entry points, the last heartbeat checkpoint and the done pages' outlinks. Done pages are
 * filtered out before anything is queued; the output is built from the ledger (output.ts).
 */
import type { StageParams } from '../../../schemas/stages';
import { ConfigError } from '../../errors';
import type { StageContext, StageImpl } from '../types';
import { Crawler } from './crawler';
import { robotsCache, sitemapListing } from './discovery';
import { Fetcher } from './fetch';
import { HostGate } from './host-gate';
import { CrawlLedger, crawlLedgerPrefix, crawlStatePrefix, resumeFrontier, type CrawlCheckpoint } from './ledger';
import { NetworkGuard, type NetworkSeam } from './network-guard';
import { normalizeUrl } from './normalize';
import { writeOutput } from './output';
import { PoliteClient } from './polite-client';
import { CrawlSession } from './session';
import { loadPreviousSnapshot } from './snapshot';
import { UrlPolicy } from './url-policy';

type Params = StageParams<'crawl'>;

/** `seam` is for tests only (a resolver and address translation, see network-guard.ts); pipelines get none. */
export function createCrawlStage(seam: NetworkSeam = {}): StageImpl<Params> {
  return { run: (ctx) => crawl(ctx, seam) };
}

export const crawlStage: StageImpl<Params> = createCrawlStage();

async function crawl(ctx: StageContext<Params>, seam: NetworkSeam) {
  const { params, signal } = ctx;
  const policy = new UrlPolicy(params);
  const guard = new NetworkGuard(params.allowPrivateNetworks, seam);
  const seeds = await checkSeeds(params.seeds, policy, guard);
  const ledger = new CrawlLedger(ctx.store, crawlLedgerPrefix(ctx.run, ctx.stage));
  const previous = params.incremental ? ((await loadPreviousSnapshot(ctx.store, ctx.pipeline, ctx.stage, ctx.run))?.pages ?? {}) : {};
  const session = new CrawlSession(params, ledger, policy, guard, (p) => ctx.progress(p), (u) => u in previous);
  const done = await ledger.loadAll();
  session.restore(done);
  if (done.length) ctx.log(`crawl: resuming with ${done.length} pages done`);

  const fetcher = new Fetcher(guard, params.perHostConcurrency);
  const gate = new HostGate(params.perHostConcurrency, params.delayMs);
  const client = new PoliteClient(fetcher, gate, params, signal);
  const timeoutMs = params.requestTimeoutSecs * 1000;
  // robots.txt has its own gate: a redirect checked while a page holds its host's slot may need it.
  const log = (m: string) => ctx.log(m);
  const robots = robotsCache(new PoliteClient(fetcher, new HostGate(1, 0), params, signal), guard, timeoutMs, params.respectRobotsTxt, log);
  let sitemap = { pages: [] as { url: string; lastmod?: string }[], files: 0 };
  try {
    if (params.sitemaps) {
      const key = `${crawlStatePrefix(ctx.run, ctx.stage)}sitemaps.json`;
      sitemap = await sitemapListing({ store: ctx.store, key, seeds, robots, client, guard, timeoutMs, maxPages: params.maxPages, signal, log });
    }
    const lastmods = new Map<string, string>();
    const entry: [string, number][] = seeds.map((s) => [s, 0]);
    for (const p of sitemap.pages) {
      const url = normalizeUrl(p.url);
      if (!url) continue;
      entry.push([url, 0]);
      if (p.lastmod) lastmods.set(url, p.lastmod);
    }
    for (const [url, page] of Object.entries(previous)) entry.push([url, page.depth]);
    const frontier = [...resumeFrontier(entry, done, ctx.resumeFrom<CrawlCheckpoint>())].sort((a, b) => a[1] - b[1]);

    signal.throwIfAborted();
    const initial = done.length < params.maxPages ? await session.admit(frontier) : [];
    const crawler = new Crawler({
      params, policy, guard, client, robots, previous, lastmods, signal,
      gateDelay: (host, ms) => gate.setDelay(host, ms),
      done: () => session.totals(),
      onPage: (e) => session.onPage(e),
      onSkipped: (url, reason) => session.onSkipped(url, reason),
    });
    // Cancellation stops taking new pages; pages in flight finish and reach the ledger.
    await crawler.run(initial);
  } finally {
    fetcher.close();
  }
  signal.throwIfAborted();
  session.report();
  return writeOutput(ctx, session, previous, { sitemapUrls: sitemap.pages.length, sitemapFiles: sitemap.files, retries: client.retries });
}

/** A seed the crawl would refuse is a spec mistake, reported before anything is fetched. */
async function checkSeeds(seeds: readonly string[], policy: UrlPolicy, guard: NetworkGuard): Promise<string[]> {
  const out: string[] = [];
  for (const s of seeds) {
    const url = normalizeUrl(s);
    if (!url) throw new ConfigError(`crawl seed ${s} is not an http(s) URL`);
    if (!policy.allows(url)) throw new ConfigError(`crawl seed ${s} is excluded by the allow/deny patterns`);
    const reason = await guard.check(url);
    if (reason) throw new ConfigError(`crawl seed ${s} refused: ${reason}`);
    out.push(url);
  }
  return out;
}
