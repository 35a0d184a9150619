/**
 * The crawl's durable memory. Every page the crawler finishes with — stored, dropped as too short, or failed
 * for good — becomes one small JSON object in the store before its outlinks are enqueued. After a crash the
 * next attempt lists these objects: they say which URLs are done (never fetched again) and, through their
 * outlinks, what the frontier was. The heartbeat checkpoint only adds to that; it may be stale or missing.
 */
import { createHash } from 'node:crypto';
import type { DocumentRecordT } from '../../../schemas/manifest';
import type { ArtifactStore } from '../../store';

export interface PageEntry {
  url: string;
  depth: number;
  fetchedAt: string;
  outcome: 'stored' | 'dropped' | 'failed';
  /** HTTP status when a response came back. */
  status?: number;
  /** Failure class for metrics: `http_404`, `timeout`, `network`, `blocked`, `content_type`. */
  failure?: string;
  error?: string;
  bytes: number;
  /** Allowed links found on the page, already normalized. */
  outlinks: string[];
  record?: DocumentRecordT;
}

/** Heartbeated progress: pending URLs with their depth, and how many pages were done at the time. */
export interface CrawlCheckpoint {
  frontier: [url: string, depth: number][];
  visitedCount: number;
}

const LOAD_CONCURRENCY = 16;

export function urlDigest(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/** Scoped to a run and stage: a new run recrawls (that is what a scheduled refresh wants), a retry does not. */
export function crawlLedgerPrefix(run: string, stage: string): string {
  return `ledger/crawl/${run}/${stage}/pages/`;
}

export class CrawlLedger {
  constructor(
    private readonly store: ArtifactStore,
    private readonly prefix: string,
  ) {}

  async put(entry: PageEntry): Promise<void> {
    await this.store.putJson(`${this.prefix}${urlDigest(entry.url)}.json`, entry);
  }

  async loadAll(): Promise<PageEntry[]> {
    const keys = (await this.store.list(this.prefix)).map((o) => o.key).filter((k) => k.endsWith('.json'));
    const out: PageEntry[] = [];
    for (let i = 0; i < keys.length; i += LOAD_CONCURRENCY) {
      const batch = await Promise.all(keys.slice(i, i + LOAD_CONCURRENCY).map((k) => this.store.getJson<PageEntry>(k)));
      for (const e of batch) if (e) out.push(e);
    }
    return out;
  }
}

/**
 * Where to continue: seeds, the checkpoint's frontier and every done page's outlinks, minus the done pages.
 * A URL reachable along several paths keeps its smallest depth.
 */
export function resumeFrontier(
  seeds: readonly string[],
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
  for (const s of seeds) offer(s, 0);
  // The checkpoint is untyped JSON from an older attempt: take only well-formed entries.
  for (const entry of Array.isArray(checkpoint?.frontier) ? checkpoint.frontier : []) {
    if (Array.isArray(entry) && typeof entry[0] === 'string' && Number.isInteger(entry[1])) offer(entry[0], entry[1]);
  }
  for (const p of done) for (const link of p.outlinks) offer(link, p.depth + 1);
  return frontier;
}
