/**
 * The fetch loop: a FIFO frontier (so pages are taken breadth-first), a global concurrency limit on top of the
 * per-host gate, robots.txt before every page, conditional requests and sitemap lastmod in incremental crawls,
 * and the page and byte budgets. What is queued next is the session's business: `onPage` makes an entry durable
 * and answers with the outlinks to fetch.
 */
import type { StageParams } from '../../../schemas/stages';
import { failedEntry, notModifiedEntry, pageEntry } from './extract';
import type { PageEntry } from './ledger';
import type { PoliteClient } from './polite-client';
import type { RobotsCache } from './robots';
import type { QueuedRequest } from './session';
import type { SnapshotPages } from './snapshot';
import type { UrlPolicy } from './url-policy';
import { BlockedTargetError, type NetworkGuard } from './network-guard';

export interface CrawlerDeps {
  params: StageParams<'crawl'>;
  policy: UrlPolicy;
  guard: NetworkGuard;
  client: PoliteClient;
  robots: RobotsCache;
  gateDelay: (host: string, ms: number) => void;
  /** The previous snapshot (incremental crawls), and the lastmod of URLs listed in sitemaps. */
  previous: SnapshotPages;
  lastmods: ReadonlyMap<string, string>;
  signal: AbortSignal;
  /** Pages done already, and body bytes read so far (both count against the limits). */
  done: () => { pages: number; bytes: number };
  onPage: (entry: PageEntry) => Promise<QueuedRequest[]>;
  onSkipped: (url: string, reason: string) => void;
}

export class Crawler {
  private readonly queue: QueuedRequest[] = [];
  private head = 0;
  private readonly hosts = new Set<string>();
  private running = 0;
  private finish: (() => void) | undefined;
  private failure: unknown;

  constructor(private readonly d: CrawlerDeps) {}

  /** Resolves when the frontier is empty (or a limit is reached, or the crawl is cancelled) and nothing runs. */
  run(initial: QueuedRequest[]): Promise<void> {
    this.enqueue(initial);
    return new Promise<void>((resolve, reject) => {
      this.finish = () => (this.failure ? reject(this.failure as Error) : resolve());
      this.d.signal.addEventListener('abort', () => this.pump(), { once: true });
      this.pump();
    });
  }

  /** Per-host concurrency times the hosts seen so far, capped: the gate keeps each host to its share. */
  private get concurrency(): number {
    return Math.min(64, this.d.params.perHostConcurrency * Math.max(1, this.hosts.size));
  }

  private canStart(): boolean {
    const { pages, bytes } = this.d.done();
    const { maxPages, maxBytes } = this.d.params;
    return !this.d.signal.aborted && !this.failure && pages + this.running < maxPages && (maxBytes === undefined || bytes < maxBytes);
  }

  private pump(): void {
    const limit = this.concurrency;
    while (this.head < this.queue.length && this.running < limit && this.canStart()) {
      const req = this.queue[this.head++];
      this.running++;
      this.process(req)
        .catch((e: unknown) => (this.failure ??= e))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (this.running === 0 && (this.head >= this.queue.length || !this.canStart())) this.finish?.();
  }

  /** Unfetched requests, for the checkpoint. */
  pending(): QueuedRequest[] {
    return this.queue.slice(this.head);
  }

  private async process(req: QueuedRequest): Promise<void> {
    const { url, userData: { depth } } = req;
    const robots = await this.d.robots.forUrl(url);
    if (robots.crawlDelaySecs) this.d.gateDelay(new URL(url).host, Math.min(robots.crawlDelaySecs, this.d.params.maxCrawlDelaySecs) * 1000);
    if (!robots.allows(url)) return this.d.onSkipped(url, robots.unavailable ? 'robotsUnavailable' : 'robotsTxt');
    const prev = this.d.params.incremental ? this.d.previous[url] : undefined;
    const lastmod = Date.parse(this.d.lastmods.get(url) ?? '');
    if (prev && lastmod <= Date.parse(prev.fetchedAt)) {
      // The sitemap says the page has not changed since the last crawl fetched it: no request at all.
      return this.enqueue(await this.d.onPage(notModifiedEntry(url, depth, prev, 'sitemap_lastmod')));
    }
    const headers: Record<string, string> = {
      ...(prev?.etag ? { 'if-none-match': prev.etag } : {}),
      ...(prev?.lastModified ? { 'if-modified-since': prev.lastModified } : {}),
    };
    let entry: PageEntry;
    try {
      const res = await this.d.client.get(url, {
        headers,
        timeoutMs: this.d.params.requestTimeoutSecs * 1000,
        maxBytes: this.d.params.maxPageBytes,
        accept: this.d.params.contentTypes,
        onRedirect: (to) => this.checkRedirect(to),
      });
      if (!res) return; // cancelled while waiting to retry: the URL stays in the frontier
      const header = (name: string) => [res.headers[name]].flat()[0];
      const page = { url, depth, status: res.status, body: res.body, contentType: header('content-type'), etag: header('etag'), lastModified: header('last-modified') };
      entry = await pageEntry({ ...page, ...(res.url !== url ? { finalUrl: res.url } : {}) }, this.d.policy, this.d.params.minChars, prev);
    } catch (e) {
      entry = failedEntry(url, depth, e as Error);
    }
    this.enqueue(await this.d.onPage(entry));
  }

  private enqueue(next: QueuedRequest[]): void {
    for (const r of next) {
      this.queue.push(r);
      this.hosts.add(new URL(r.url).host);
    }
  }

  /** A redirect is a new target: it must pass the same checks as a link would. */
  private async checkRedirect(to: string): Promise<void> {
    if (!this.d.policy.allows(to)) throw new BlockedTargetError(`redirect to ${to} leaves the allowed URLs`);
    await this.d.guard.assert(to);
    if (!(await this.d.robots.forUrl(to)).allows(to)) throw new BlockedTargetError(`redirect to ${to} is disallowed by robots.txt`);
  }
}
