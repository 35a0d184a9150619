/**
 * One attempt's bookkeeping: which URLs are done (from the ledger or fetched now), which are queued, and which
 * may be queued at all. A URL enters the frontier only through `admit`, which is where done pages, depth,
 * allow/deny and private targets are filtered — so a done page is never requested again. A URL that a done
 * page names as its canonical counts as seen: its content is already recorded under it.
 */
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
  /** Not fetched because the host's robots.txt could not be read (5xx, unreachable): tried again next time. */
  readonly skippedRobotsUnavailable = new Set<string>();
  readonly blocked = new Set<string>();
  /** URLs of the previous snapshot that allow/deny now refuses. */
  readonly excludedPrevious = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly pending = new Map<string, number>();
  private bytes = 0;
  private fetchedNow = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly params: StageParams<'crawl'>,
    private readonly ledger: CrawlLedger,
    private readonly policy: UrlPolicy,
    private readonly guard: NetworkGuard,
    private readonly progress: (p: Progress) => void,
    private readonly isPrevious: (url: string) => boolean = () => false,
  ) {}

  restore(entries: readonly PageEntry[]): void {
    for (const e of entries) this.record(e);
  }

  /** The candidates that may be fetched, marked as queued; each URL is admitted at most once per attempt. */
  async admit(candidates: Iterable<[url: string, depth: number]>): Promise<QueuedRequest[]> {
    const out: QueuedRequest[] = [];
    for (const [url, depth] of candidates) {
      if (this.seen.has(url) || depth > this.params.maxDepth) continue;
      if (!this.policy.allows(url)) {
        if (this.isPrevious(url)) this.excludedPrevious.add(url);
        continue;
      }
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
  async onPage(entry: PageEntry): Promise<QueuedRequest[]> {
    await this.ledger.put(entry);
    this.record(entry);
    this.pending.delete(entry.url);
    this.fetchedNow++;
    const next = entry.depth < this.params.maxDepth ? await this.admit(entry.outlinks.map((u) => [u, entry.depth + 1])) : [];
    this.report();
    return next;
  }

  onSkipped(url: string, reason: string): void {
    this.pending.delete(url);
    if (reason === 'robotsTxt') this.skippedByRobots.add(url);
    if (reason === 'robotsUnavailable') this.skippedRobotsUnavailable.add(url);
  }

  totals(): { pages: number; bytes: number } {
    return { pages: this.done.size, bytes: this.bytes };
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

  /** The crawl report: what was fetched, skipped, refused and failed (by class), bytes and speed. */
  metrics(): Record<string, unknown> {
    const entries = [...this.done.values()];
    const count = (f: (e: PageEntry) => boolean) => entries.filter(f).length;
    const tally = (key: (e: PageEntry) => string | undefined) => {
      const out: Record<string, number> = {};
      for (const e of entries) {
        const k = key(e);
        if (k) out[k] = (out[k] ?? 0) + 1;
      }
      return out;
    };
    const secs = (Date.now() - this.startedAt) / 1000;
    return {
      pages: entries.length,
      fetched: count((e) => e.outcome !== 'failed' && e.reason !== 'sitemap_lastmod'),
      stored: count((e) => e.outcome === 'stored'),
      dropped: count((e) => e.outcome === 'dropped'),
      droppedBy: tally((e) => (e.outcome === 'dropped' ? e.reason : undefined)),
      notModified: count((e) => e.outcome === 'not_modified'),
      unchanged: count((e) => e.outcome === 'unchanged'),
      failed: tally((e) => (e.outcome === 'failed' ? (e.failure ?? 'unknown') : undefined)),
      skippedByRobots: this.skippedByRobots.size,
      skippedRobotsUnavailable: this.skippedRobotsUnavailable.size,
      blockedPrivate: this.blocked.size,
      bytes: this.bytes,
      fetchedThisAttempt: this.fetchedNow,
      secondsThisAttempt: Math.round(secs * 100) / 100,
      pagesPerSec: secs > 0 ? Math.round((this.fetchedNow / secs) * 100) / 100 : 0,
    };
  }

  private record(e: PageEntry): void {
    const before = this.done.get(e.url);
    if (before) this.bytes -= before.bytes;
    this.done.set(e.url, e);
    this.bytes += e.bytes;
    this.seen.add(e.url);
    if (e.canonical) this.seen.add(e.canonical);
  }
}
