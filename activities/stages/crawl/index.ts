/**
 * The `crawl` stage: seeds → pages within allow/deny, robots.txt, depth and page limits → main-text documents.
 *
 * Resuming after a crash (a killed worker, a timed-out attempt): every finished page is in the ledger before
 * its outlinks are queued, so the next attempt lists the ledger, treats those URLs as done, and rebuilds the
 * frontier from the seeds, the last heartbeat checkpoint and the done pages' outlinks. Done pages are filtered
 * out before anything is queued; the output is built from the ledger, one record per URL, sorted by URL.
 */
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA } from '../../../schemas/manifest';
import { ShardWriter } from '../../documents';
import { ConfigError } from '../../errors';
import type { StageContext, StageImpl } from '../types';
import { createCrawler } from './crawler';
import { HostGate } from './host-gate';
import { CrawlLedger, crawlLedgerPrefix, resumeFrontier, type CrawlCheckpoint } from './ledger';
import { NetworkGuard } from './network-guard';
import { CrawlSession } from './session';
import { UrlPolicy, normalizeUrl } from './url-policy';

type Params = StageParams<'crawl'>;

export const crawlStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const { params } = ctx;
    const policy = new UrlPolicy(params);
    const guard = new NetworkGuard(params.allowPrivateNetworks);
    const seeds = await checkSeeds(params.seeds, policy, guard);
    const ledger = new CrawlLedger(ctx.store, crawlLedgerPrefix(ctx.run, ctx.stage));
    const session = new CrawlSession(params, ledger, policy, guard, (p) => ctx.progress(p));

    const done = await ledger.loadAll();
    session.restore(done);
    const frontier = resumeFrontier(seeds, done, ctx.resumeFrom<CrawlCheckpoint>());
    const budget = params.maxPages - done.length;
    if (done.length) ctx.log(`crawl: resuming with ${done.length} pages done, ${frontier.size} URLs to reconsider`);

    ctx.signal.throwIfAborted();
    const initial = budget > 0 ? await session.admit(frontier) : [];
    if (initial.length) {
      const hosts = new Set(initial.map((r) => new URL(r.url).host)).size;
      const crawler = createCrawler({
        params, policy, guard, budget, hosts,
        gate: new HostGate(params.perHostConcurrency, params.delayMs),
        log: (m) => ctx.log(m),
        onPage: (e) => session.onPage(e),
        onSkipped: (url, reason) => session.onSkipped(url, reason),
      });
      session.attach(crawler);
      // Cancellation stops taking new pages; pages in flight finish and reach the ledger.
      const stop = (): void => crawler.stop('crawl cancelled');
      ctx.signal.addEventListener('abort', stop, { once: true });
      try {
        await crawler.run(initial, { waitForAllRequestsToBeAdded: true });
      } finally {
        ctx.signal.removeEventListener('abort', stop);
      }
    }
    ctx.signal.throwIfAborted();
    session.report();

    const records = [...session.done.values()]
      .filter((e) => e.outcome === 'stored' && e.record)
      .sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
    const writer = new ShardWriter(ctx.store, ctx.workDir, params.shardSize);
    for (const e of records) await writer.write(e.record!);
    const files = await writer.close();
    const metrics = session.metrics();
    ctx.log(`crawl: ${metrics.pages} pages, ${records.length} documents, ${metrics.skippedByRobots} skipped by robots.txt`);
    return { files, schema: DOCUMENT_SCHEMA, metrics: { ...metrics, documents: records.length } };
  },
};

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
