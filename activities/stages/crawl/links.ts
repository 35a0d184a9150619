/**
 * What the crawl needs from a page's markup, in one streaming pass (htmlparser2, no DOM): link targets, the
 * `<base href>`, the `<link rel=canonical>` and the robots meta tag (`noindex`, `nofollow`).
 */
import { Parser } from 'htmlparser2';

export interface PageLinks {
  hrefs: string[];
  baseHref?: string;
  canonical?: string;
  noindex: boolean;
  nofollow: boolean;
}

export function scanLinks(html: string): PageLinks {
  const out: PageLinks = { hrefs: [], noindex: false, nofollow: false };
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if ((name === 'a' || name === 'area') && attrs.href !== undefined) out.hrefs.push(attrs.href);
        else if (name === 'base' && attrs.href !== undefined) out.baseHref ??= attrs.href;
        else if (name === 'link' && attrs.href && /(^|\s)canonical(\s|$)/i.test(attrs.rel ?? '')) out.canonical ??= attrs.href;
        else if (name === 'meta' && /^(robots|dapt)$/i.test(attrs.name ?? '')) {
          const content = (attrs.content ?? '').toLowerCase();
          if (/\b(noindex|none)\b/.test(content)) out.noindex = true;
          if (/\b(nofollow|none)\b/.test(content)) out.nofollow = true;
        }
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(html);
  if (out.nofollow) out.hrefs = [];
  return out;
}
