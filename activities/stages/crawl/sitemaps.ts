/**
 * Sitemaps (sitemaps.org 0.9): `<urlset>` files list pages, `<sitemapindex>` files list further sitemaps; either
 * may be gzipped (by Content-Encoding or as a .gz file). Discovery starts from robots.txt `Sitemap:` lines, or
 * /sitemap.xml when a site has none, and walks indexes breadth-first within fixed limits.
 */
import zlib from 'node:zlib';
import { decodeBody } from './decode';

export interface SitemapEntry {
  url: string;
  /** W3C datetime as written in the file, when given. */
  lastmod?: string;
}

/** The sitemaps.org limits: 50,000 URLs and 50 MB (uncompressed) per file. */
export const SITEMAP_MAX_BYTES = 50 * 1024 * 1024;
const MAX_FILES = 200;
const MAX_INDEX_DEPTH = 3;

export function parseSitemap(body: Buffer): { pages: SitemapEntry[]; sitemaps: SitemapEntry[] } {
  const raw = body[0] === 0x1f && body[1] === 0x8b ? zlib.gunzipSync(body, { maxOutputLength: SITEMAP_MAX_BYTES }) : body;
  const xml = decodeBody(raw, 'application/xml').text;
  const entries = (tag: string): SitemapEntry[] => {
    const out: SitemapEntry[] = [];
    for (const m of xml.matchAll(new RegExp(`<(?:\\w+:)?${tag}\\b[^>]*>([\\s\\S]*?)</(?:\\w+:)?${tag}>`, 'gi'))) {
      const loc = field(m[1], 'loc');
      if (loc) out.push({ url: loc, ...(field(m[1], 'lastmod') ? { lastmod: field(m[1], 'lastmod') } : {}) });
    }
    return out;
  };
  return { pages: entries('url'), sitemaps: entries('sitemap') };
}

function field(block: string, name: string): string | undefined {
  const m = new RegExp(`<(?:\\w+:)?${name}\\b[^>]*>([\\s\\S]*?)</(?:\\w+:)?${name}>`, 'i').exec(block);
  if (!m) return undefined;
  const text = m[1].replace(/^\s*<!\[CDATA\[([\s\S]*?)\]\]>\s*$/, '$1').trim();
  return decodeXmlEntities(text) || undefined;
}

export function decodeXmlEntities(s: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (all, e: string) => {
    if (e[0] !== '#') return named[e.toLowerCase()] ?? all;
    const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : all;
  });
}

/** Fetches a sitemap's bytes, or undefined when it is missing or failed (the caller logs why). */
export type SitemapLoader = (url: string) => Promise<Buffer | undefined>;

/**
 * Every page listed by the sitemaps reachable from `roots`, in file order, each URL once (the first lastmod
 * wins); at most `maxPages` of them and `MAX_FILES` files.
 */
export async function collectSitemaps(roots: readonly string[], load: SitemapLoader, maxPages: number, log: (m: string) => void) {
  const pages = new Map<string, SitemapEntry>();
  const seen = new Set<string>();
  let level = [...new Set(roots)];
  let files = 0;
  for (let depth = 0; depth <= MAX_INDEX_DEPTH && level.length && pages.size < maxPages; depth++) {
    const next: string[] = [];
    for (const url of level) {
      if (seen.has(url) || files >= MAX_FILES || pages.size >= maxPages) continue;
      seen.add(url);
      files++;
      const body = await load(url);
      if (!body) continue;
      let parsed: ReturnType<typeof parseSitemap>;
      try {
        parsed = parseSitemap(body);
      } catch (e) {
        log(`crawl: sitemap ${url} unreadable: ${(e as Error).message}`);
        continue;
      }
      for (const p of parsed.pages) if (pages.size < maxPages && !pages.has(p.url)) pages.set(p.url, p);
      next.push(...parsed.sitemaps.map((s) => s.url));
    }
    level = next;
  }
  return { pages: [...pages.values()], files };
}
