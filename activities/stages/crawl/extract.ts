/**
 * From a response (or a final failure) to the ledger entry that records it. Pure functions, so the rules —
 * which links count, which canonical URL is believed, when a page is too short or unchanged, how an error is
 * classed — are testable without a server.
 */
import { createHash } from 'node:crypto';
import { bodyLength } from '../html-text';
import { extractText } from './extract-pool';
import { decodeBody } from './decode';
import { FetchError } from './fetch';
import { urlDigest, type PageEntry } from './ledger';
import { scanLinks } from './links';
import { isBlockedTarget } from './network-guard';
import { normalizeUrl } from './normalize';
import type { SnapshotPage } from './snapshot';
import type { UrlPolicy } from './url-policy';

export interface FetchedPage {
  url: string;
  depth: number;
  status: number;
  /** Where redirects ended, when that differs from `url`. */
  finalUrl?: string;
  body: Buffer;
  contentType?: string;
  etag?: string;
  lastModified?: string;
}

/** `previous`: the page in the last snapshot, for incremental crawls (unchanged text → no document). */
export async function pageEntry(page: FetchedPage, policy: UrlPolicy, minChars: number, previous?: SnapshotPage): Promise<PageEntry> {
  const fetchedAt = new Date().toISOString();
  const validators = { ...(page.etag ? { etag: page.etag } : {}), ...(page.lastModified ? { lastModified: page.lastModified } : {}) };
  const common = { url: page.url, depth: page.depth, fetchedAt, status: page.status, bytes: page.body.length, outlinks: [] };
  if (page.status === 304) return { ...notModifiedEntry(page.url, page.depth, previous), status: 304, ...validators };
  if (page.status >= 400) return { ...common, outcome: 'failed', failure: `http_${page.status}` };

  const { text: html, encoding } = decodeBody(page.body, page.contentType);
  const links = scanLinks(html);
  const base = normalizeUrl(links.baseHref ?? '', page.finalUrl ?? page.url) ?? page.finalUrl ?? page.url;
  const outlinks = [...new Set(links.hrefs.map((h) => normalizeUrl(h, base)))].filter(
    (u): u is string => u !== undefined && u !== page.url && policy.allows(u),
  );
  // The page's own word first; a redirect says the same thing (the content lives at the final URL).
  const canonicalUrl = links.canonical ? normalizeUrl(links.canonical, base) : page.finalUrl && normalizeUrl(page.finalUrl);
  const canonical = canonicalUrl && canonicalUrl !== page.url && policy.allows(canonicalUrl) ? canonicalUrl : undefined;
  const entry = { ...common, outlinks, ...validators, ...(canonical ? { canonical } : {}) };
  if (links.noindex) return { ...entry, outcome: 'dropped', reason: 'noindex' };

  const extracted = await extractText(html);
  const { title, text, extractor } = extracted;
  if (bodyLength(extracted) < minChars) return { ...entry, outcome: 'dropped', reason: 'too_short' };
  const contentHash = createHash('sha256').update(`${title ?? ''}\n${text}`).digest('hex');
  if (previous?.contentHash === contentHash) return { ...entry, contentHash, outcome: 'unchanged' };
  const key = canonical ?? page.url;
  const metadata = {
    format: 'html',
    url: key,
    ...(key !== page.url ? { fetchedUrl: page.url } : {}),
    ...(page.finalUrl && page.finalUrl !== page.url ? { finalUrl: page.finalUrl } : {}),
    ...(title ? { title } : {}),
    depth: page.depth,
    status: page.status,
    fetchedAt,
    encoding,
    extractor,
    ...(previous ? { change: 'changed' } : {}),
  };
  return { ...entry, contentHash, outcome: 'stored', record: { id: urlDigest(key), text, source: key, metadata } };
}

/** `status` is the last response's, when there was one. */
export function failedEntry(url: string, depth: number, error: Error, status?: number): PageEntry {
  return {
    url,
    depth,
    fetchedAt: new Date().toISOString(),
    outcome: 'failed',
    ...(status ? { status } : {}),
    failure: status && status >= 400 ? `http_${status}` : failureClass(error),
    error: error.message.slice(0, 300),
    bytes: 0,
    outlinks: [],
  };
}

/** Coarse classes for metrics: `blocked`, `timeout`, `content_type`, `too_large`, `redirects`, `network`. */
export function failureClass(error: Error): string {
  if (isBlockedTarget(error)) return 'blocked';
  if (error instanceof FetchError) return error.kind;
  if ((error as NodeJS.ErrnoException).code === 'ETIMEDOUT' || /timed? ?out/i.test(error.message)) return 'timeout';
  return 'network';
}

/** A page known to be as the previous crawl found it (304, or a sitemap lastmod not newer than that crawl). */
export function notModifiedEntry(url: string, depth: number, previous?: SnapshotPage, reason?: string): PageEntry {
  const kept = { etag: previous?.etag, lastModified: previous?.lastModified, contentHash: previous?.contentHash };
  return {
    url,
    depth,
    fetchedAt: new Date().toISOString(),
    outcome: 'not_modified',
    ...(reason ? { reason } : {}),
    bytes: 0,
    outlinks: [],
    ...(Object.fromEntries(Object.entries(kept).filter(([, v]) => v !== undefined)) as Partial<typeof kept>),
  };
}
