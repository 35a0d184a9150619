/**
 * One attempt's bookkeeping: which URLs are done (from the ledger or fetched now), which are queued, and which
 * may be queued at all. A URL enters Crawlee's queue only through `admit`, which is where done pages, depth,
 * allow/deny and private targets are filtered — so a done page is never requested again.
 */
import type { CheerioCrawler } from '@crawlee/cheerio';
import type { StageParams } from '../../../schemas/stages';
import type { Progress } from '../types';
import type { CrawlCheckpoint, CrawlLedger, PageEntry } from './ledger';
import type { NetworkGuard } from './network-guard';
import type { UrlPolicy } from './url-policy';

/** Heartbeat payloads stay small; the ledger can rebuild a frontier of any size. */
const CHECKPOINT_FRONTIER_MAX = 2000;

export interface QueuedRequest {
  url: string;
  uniqueKey: string;
  userData: { depth: number };
}

export class CrawlSession {
  readonly done = new Map<string, PageEntry>();
  readonly skippedByRobots = new Set<string>();
  readonly blocked = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly pending = new Map<string, number>();
  private crawler: CheerioCrawler | undefined;
  private fetchedNow = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly params: StageParams<'crawl'>,
    private readonly ledger: CrawlLedger,
    private readonly policy: UrlPolicy,
    private readonly guard: NetworkGuard,
    private readonly progress: (p: Progress) => void,
  ) {}

  restore(entries: readonly PageEntry[]): void {
    for (const e of entries) {
      this.done.set(e.url, e);
      this.seen.add(e.url);
    }
  }

  attach(crawler: CheerioCrawler): void {
    this.crawler = crawler;
  }

  /** The candidates that may be fetched, marked as queued; each URL is admitted at most once per attempt. */
  async admit(candidates: Iterable<[url: string, depth: number]>): Promise<QueuedRequest[]> {
    const out: QueuedRequest[] = [];
    for (const [url, depth] of candidates) {
      if (this.seen.has(url) || depth > this.params.maxDepth || !this.policy.allows(url)) continue;
      this.seen.add(url);
      if (await this.guard.check(url)) {
        this.blocked.add(url);
        continue;
      }
      this.pending.set(url, depth);
      out.push({ url, uniqueKey: url, userData: { depth } });
    }
    return out;
  }

  /** Durable first, then the outlinks: a crash in between loses nothing, the ledger holds the outlinks. */
  async onPage(entry: PageEntry): Promise<void> {
    await this.ledger.put(entry);
    this.done.set(entry.url, entry);
    this.pending.delete(entry.url);
    this.fetchedNow++;
    if (this.crawler && entry.depth < this.params.maxDepth) {
      const next = await this.admit(entry.outlinks.map((u) => [u, entry.depth + 1]));
      if (next.length) await (await this.crawler.addRequests(next)).waitForAllRequestsToBeAdded;
    }
    this.report();
  }

  onSkipped(url: string, reason: string): void {
    this.pending.delete(url);
    if (reason === 'robotsTxt') this.skippedByRobots.add(url);
  }

  checkpoint(): CrawlCheckpoint {
    return { frontier: [...this.pending].slice(0, CHECKPOINT_FRONTIER_MAX), visitedCount: this.done.size };
  }

  report(): void {
    const total = Math.min(this.params.maxPages, this.done.size + this.pending.size) || 1;
    this.progress({
      fraction: Math.min(1, this.done.size / total),
      message: `${this.done.size} pages done, ${this.pending.size} queued`,
      checkpoint: this.checkpoint(),
    });
  }

  metrics(): Record<string, unknown> {
    const entries = [...this.done.values()];
    const failed: Record<string, number> = {};
    for (const e of entries) if (e.outcome === 'failed') failed[e.failure ?? 'unknown'] = (failed[e.failure ?? 'unknown'] ?? 0) + 1;
    const secs = (Date.now() - this.startedAt) / 1000;
    return {
      pages: entries.length,
      fetched: entries.filter((e) => e.outcome !== 'failed').length,
      stored: entries.filter((e) => e.outcome === 'stored').length,
      dropped: entries.filter((e) => e.outcome === 'dropped').length,
      failed,
      skippedByRobots: this.skippedByRobots.size,
      blockedPrivate: this.blocked.size,
      bytes: entries.reduce((n, e) => n + e.bytes, 0),
      fetchedThisAttempt: this.fetchedNow,
      pagesPerSec: secs > 0 ? Math.round((this.fetchedNow / secs) * 100) / 100 : 0,
    };
  }
}
