/**
 * What an incremental crawl compares against: per pipeline and stage, the last finished crawl's pages with their
 * validators (ETag, Last-Modified), the hash of their main text and the document each one produced.
 *
 *   snapshots/<pipeline>/<stage>/latest.json      pointer: {run, key, createdAt, pages, previous?}
 *   snapshots/<pipeline>/<stage>/runs/<run>.json  {pipeline, stage, run, createdAt, pages: {url: SnapshotPage}}
 *
 * The pointer is written last, after the run's snapshot. A retry of a run that already moved the pointer (its
 * publication failed after the crawl) finds its own run there and compares against `previous` instead.
 */
import type { ArtifactStore } from '../../store';
import type { PageEntry } from './ledger';

export interface SnapshotPage {
  depth: number;
  fetchedAt: string;
  etag?: string;
  lastModified?: string;
  contentHash?: string;
  /** The key (source URL) of the document the page produced; absent when it produced none. */
  doc?: string;
}

export type SnapshotPages = Record<string, SnapshotPage>;

interface PointerBody {
  run: string;
  key: string;
  createdAt: string;
  pages: number;
}
type Pointer = PointerBody & { previous?: PointerBody };

const latestKey = (pipeline: string, stage: string) => `snapshots/${pipeline}/${stage}/latest.json`;
const runKey = (pipeline: string, stage: string, run: string) => `snapshots/${pipeline}/${stage}/runs/${run}.json`;

export async function loadPreviousSnapshot(store: ArtifactStore, pipeline: string, stage: string, run: string) {
  const latest = await store.getJson<Pointer>(latestKey(pipeline, stage));
  const base = latest?.run === run ? latest.previous : latest;
  if (!base) return undefined;
  const snap = await store.getJson<{ pages: SnapshotPages }>(base.key);
  return snap ? { run: base.run, createdAt: base.createdAt, pages: snap.pages } : undefined;
}

export async function saveSnapshot(store: ArtifactStore, pipeline: string, stage: string, run: string, pages: SnapshotPages) {
  const createdAt = new Date().toISOString();
  const key = runKey(pipeline, stage, run);
  await store.putJson(key, { pipeline, stage, run, createdAt, pages });
  const latest = await store.getJson<Pointer>(latestKey(pipeline, stage));
  const previous = latest?.run === run ? latest.previous : latest && { run: latest.run, key: latest.key, createdAt: latest.createdAt, pages: latest.pages };
  const pointer: Pointer = { run, key, createdAt, pages: Object.keys(pages).length, ...(previous ? { previous } : {}) };
  await store.putJson(latestKey(pipeline, stage), pointer);
}

/** Failures after which a page is kept as it was: the next crawl may well find it again. */
export function isTransientFailure(failure: string | undefined): boolean {
  return /^(timeout|network|http_5\d\d|http_429|http_408)$/.test(failure ?? '');
}

/**
 * This crawl's snapshot: every page it fetched (or found unchanged), and every previous page it neither reached
 * nor found gone — not visited (limits) or failed transiently. `gone` holds previous URLs the crawl now excludes
 * (allow/deny, robots.txt).
 */
export function nextSnapshot(
  previous: SnapshotPages,
  done: ReadonlyMap<string, PageEntry>,
  docKey: (e: PageEntry) => string | undefined,
  gone: ReadonlySet<string>,
): SnapshotPages {
  const pages: SnapshotPages = {};
  for (const e of done.values()) {
    if (e.outcome === 'failed') {
      if (isTransientFailure(e.failure) && previous[e.url]) pages[e.url] = previous[e.url];
      continue;
    }
    const prev = previous[e.url];
    // Not modified: the page was not parsed again, its document is the one it had.
    const doc = e.outcome === 'not_modified' ? prev?.doc : docKey(e);
    pages[e.url] = {
      depth: e.depth,
      fetchedAt: e.reason === 'sitemap_lastmod' ? (prev?.fetchedAt ?? e.fetchedAt) : e.fetchedAt,
      ...pick(e.etag, e.lastModified, e.contentHash),
      ...(doc ? { doc } : {}),
    };
  }
  for (const [url, page] of Object.entries(previous)) if (!(url in pages) && !gone.has(url) && !done.has(url)) pages[url] = page;
  return pages;
}

/** Documents the previous crawl had and this one does not. */
export function removedDocs(previous: SnapshotPages, next: SnapshotPages): string[] {
  const now = new Set(Object.values(next).map((p) => p.doc));
  return [...new Set(Object.values(previous).map((p) => p.doc))].filter((d): d is string => !!d && !now.has(d)).sort();
}

function pick(etag?: string, lastModified?: string, contentHash?: string) {
  return { ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}), ...(contentHash ? { contentHash } : {}) };
}
