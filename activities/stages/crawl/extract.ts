/**
 * From a fetched response (or a final failure) to the ledger entry that records it. Pure functions, so the
 * rules — which links count, when a page is too short, how an error is classed — are testable without a server.
 */
import { extractMainText } from '../html-text';
import type { PageEntry } from './ledger';
import { normalizeUrl, type UrlPolicy } from './url-policy';
import { urlDigest } from './ledger';
import { isBlockedTarget } from './network-guard';

export interface FetchedPage {
  url: string;
  depth: number;
  status: number;
  /** Where redirects ended, when that differs from `url`. */
  finalUrl?: string;
  html: string;
  /** Raw `href`s and the document's `<base href>`, as the HTML parser found them. */
  hrefs: string[];
  baseHref?: string;
}

export function pageEntry(page: FetchedPage, policy: UrlPolicy, minChars: number): PageEntry {
  const fetchedAt = new Date().toISOString();
  const bytes = Buffer.byteLength(page.html);
  const base = normalizeUrl(page.baseHref ?? '', page.finalUrl ?? page.url) ?? page.finalUrl ?? page.url;
  const outlinks = [...new Set(page.hrefs.map((h) => normalizeUrl(h, base)))].filter(
    (u): u is string => u !== undefined && u !== page.url && policy.allows(u),
  );
  const common = { url: page.url, depth: page.depth, fetchedAt, status: page.status, bytes, outlinks };
  if (page.status >= 400) return { ...common, outcome: 'failed', failure: `http_${page.status}`, outlinks: [] };
  const { title, text, extractor } = extractMainText(page.html);
  if (text.length < minChars) return { ...common, outcome: 'dropped' };
  const metadata = {
    format: 'html',
    url: page.url,
    ...(page.finalUrl && page.finalUrl !== page.url ? { finalUrl: page.finalUrl } : {}),
    ...(title ? { title } : {}),
    depth: page.depth,
    status: page.status,
    fetchedAt,
    extractor,
  };
  return { ...common, outcome: 'stored', record: { id: urlDigest(page.url), text, source: page.url, metadata } };
}

/** `status` is the last response's, when there was one (a 404 served as text/plain fails on its type). */
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

/** Coarse classes for metrics; Crawlee reports 5xx as `"<status> - …"` errors and timeouts by message. */
export function failureClass(error: Error): string {
  const status = /^(\d{3}) - /.exec(error.message);
  if (status) return `http_${status[1]}`;
  if (isBlockedTarget(error)) return 'blocked';
  if (/timed? ?out/i.test(error.message) || (error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return 'timeout';
  if (/served Content-Type/.test(error.message)) return 'content_type';
  return 'network';
}
