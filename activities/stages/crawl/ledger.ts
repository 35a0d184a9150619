/**
 * The crawl's durable memory. Every page the crawler finishes with — stored, dropped, unchanged, not modified,
 * or failed for good — is in the store before its outlinks are queued. After a crash the next attempt lists
 * these objects: they say which URLs are done (never fetched again) and, through their outlinks, what the
 * frontier was. The heartbeat checkpoint only adds to that; it may be stale or missing.
 *
 * Writes are group commits: pages finished while a PUT is in flight go out together in the next one, and each
 * page's handler waits for the PUT that carries it. One object per page would cost a PUT per page.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { DocumentRecordT } from '../../../schemas/manifest';
import type { ArtifactStore } from '../../store';

export interface PageEntry {
  url: string;
  depth: number;
  fetchedAt: string;
  outcome: 'stored' | 'dropped' | 'failed' | 'not_modified' | 'unchanged';
  /** HTTP status when a response came back. */
  status?: number;
  /** Failure class for metrics: `http_404`, `timeout`, `network`, `blocked`, `content_type`, `too_large`, … */
  failure?: string;
  /** Why a fetched page was not stored: `too_short`, `noindex`; `sitemap_lastmod` for an unchanged page not fetched. */
  reason?: string;
  error?: string;
  bytes: number;
  /** Allowed links found on the page, already normalized. */
  outlinks: string[];
  /** What the next incremental crawl compares against. */
  etag?: string;
  lastModified?: string;
  contentHash?: string;
  /** The page's `<link rel=canonical>`, normalized, when it names another allowed URL. */
  canonical?: string;
  record?: DocumentRecordT;
}

/** Heartbeated progress: pending URLs with their depth, and how many pages were done at the time. */
export interface CrawlCheckpoint {
  frontier: [url: string, depth: number][];
  visitedCount: number;
}

const LOAD_CONCURRENCY = 16;
const MAX_BATCH = 256;

export function urlDigest(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/** Scoped to a run and stage: a new run recrawls (that is what a scheduled refresh wants), a retry does not. */
export function crawlStatePrefix(run: string, stage: string): string {
  return `ledger/crawl/${run}/${stage}/`;
}

export function crawlLedgerPrefix(run: string, stage: string): string {
  return `${crawlStatePrefix(run, stage)}pages/`;
}

export class CrawlLedger {
  /** Distinguishes this attempt's objects from those of an earlier (or a still running, zombie) one. */
  private readonly writer = randomBytes(6).toString('hex');
  private seq = 0;
  private queue: { entry: PageEntry; done: () => void; fail: (e: unknown) => void }[] = [];
  private writing = false;

  constructor(
    private readonly store: ArtifactStore,
    private readonly prefix: string,
  ) {}

  /** Resolves once the entry is durable. */
  put(entry: PageEntry): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.queue.push({ entry, done, fail });
      if (!this.writing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.writing = true;
    while (this.queue.length) {
      const batch = this.queue.splice(0, MAX_BATCH);
      const key = `${this.prefix}${this.writer}-${String(this.seq++).padStart(6, '0')}.json`;
      try {
        await this.store.putJson(key, { entries: batch.map((b) => b.entry) });
        for (const b of batch) b.done();
      } catch (e) {
        for (const b of batch) b.fail(e);
      }
    }
    this.writing = false;
  }

  /** Every entry written so far, one per URL. Objects with a single entry are read too (older ledgers). */
  async loadAll(): Promise<PageEntry[]> {
    const keys = (await this.store.list(this.prefix)).map((o) => o.key).filter((k) => k.endsWith('.json'));
    const out = new Map<string, PageEntry>();
    for (let i = 0; i < keys.length; i += LOAD_CONCURRENCY) {
      const batch = await Promise.all(keys.slice(i, i + LOAD_CONCURRENCY).map((k) => this.store.getJson<unknown>(k)));
      for (const obj of batch) {
        const entries = (obj as { entries?: PageEntry[] } | undefined)?.entries ?? (obj ? [obj as PageEntry] : []);
        for (const e of entries) if (!out.has(e.url) || out.get(e.url)!.outcome === 'failed') out.set(e.url, e);
      }
    }
    return [...out.values()];
  }
}

/**
 * Where to continue: seeds, the checkpoint's frontier and every done page's outlinks, minus the done pages.
 * A URL reachable along several paths keeps its smallest depth.
 */
export function resumeFrontier(
  seeds: Iterable<[url: string, depth: number]>,
  done: readonly PageEntry[],
  checkpoint: CrawlCheckpoint | undefined,
): Map<string, number> {
  const visited = new Set(done.map((p) => p.url));
  const frontier = new Map<string, number>();
  const offer = (url: string, depth: number): void => {
    if (visited.has(url)) return;
    const known = frontier.get(url);
    if (known === undefined || depth < known) frontier.set(url, depth);
  };
  for (const [url, depth] of seeds) offer(url, depth);
  // The checkpoint is untyped JSON from an older attempt: take only well-formed entries.
  for (const entry of Array.isArray(checkpoint?.frontier) ? checkpoint.frontier : []) {
    if (Array.isArray(entry) && typeof entry[0] === 'string' && Number.isInteger(entry[1])) offer(entry[0], entry[1]);
  }
  for (const p of done) for (const link of p.outlinks) offer(link, p.depth + 1);
  return frontier;
}
