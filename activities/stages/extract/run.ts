/**
 * The `extract` stage, one task per input shard: HTML documents (from `warc`, or JSONL of raw pages) → main text, with the shared
 * Readability+linkedom extractor of html-text.ts (the one the crawler and the source stage use), so a page
 * yields the same text by every route. Convention for where the HTML is:
 *   - `metadata.html` when it is a string (the text is then whatever the producer put there);
 *   - else `text`, when `metadata.contentType` is an HTML type (as `warc` sets it) or the text starts with markup.
 * The output text is the main text, paragraphs separated by a blank line; `metadata.title`, `extractor`,
 * `htmlLang` (the page's `<html lang>`) and `language`/`languageScore` (CLD3 on the text) are set, the page's user
 * comments are left out, appended or put in `metadata.comments` (`comments`), and
 * `metadata.html` is removed unless `keepHtml`. Pages whose text is shorter than `minChars` are dropped.
 */
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA, type DocumentRecordT } from '../../../schemas/manifest';
import { shardMapStage, sumStats } from '../../shard-map';
import { loadLanguageIdentifier, type LanguageIdentifier } from '../../langid';
import { bodyLength, extractMainText } from '../html-text';

type Params = StageParams<'extract'>;

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml']);
const LOOKS_LIKE_HTML = /^\s*(?:<!--[\s\S]*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]/i;
const HTML_LANG = /<html\b[^>]*?\slang\s*=\s*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)*)/i;

/** The document's HTML under the convention above, or undefined when it has none. */
export function htmlOf(doc: DocumentRecordT): string | undefined {
  if (typeof doc.metadata.html === 'string') return doc.metadata.html;
  const type = String(doc.metadata.contentType ?? '').split(';')[0].trim().toLowerCase();
  return HTML_TYPES.has(type) || LOOKS_LIKE_HTML.test(doc.text.slice(0, 2048)) ? doc.text : undefined;
}

interface ExtractStats {
  input: number;
  extracted: number;
  passedThrough: number;
  tooShort: number;
  notHtml: number;
  readability: number;
  body: number;
  ms: number;
}

const noPages = (): ExtractStats => ({ input: 0, extracted: 0, passedThrough: 0, tooShort: 0, notHtml: 0, readability: 0, body: 0, ms: 0 });

export const extractStage = shardMapStage<Params, ExtractStats>({
  name: 'extract',
  reads: 'extract',
  schema: DOCUMENT_SCHEMA,
  shardSize: (p) => p.shardSize,
  async map(ctx, docs, out) {
    const { params: p } = ctx;
    const lid: LanguageIdentifier | undefined = p.detectLanguage ? await loadLanguageIdentifier() : undefined;
    const counts = noPages();
    for await (const doc of docs) {
      counts.input++;
      const html = htmlOf(doc);
      if (html === undefined) {
        if (p.nonHtml === 'keep') {
          counts.passedThrough++;
          await out.write(doc);
        } else counts.notHtml++;
        continue;
      }
      const t0 = performance.now();
      const page = extractMainText(html, { comments: p.comments !== 'drop' });
      const { title, extractor } = page;
      const text = p.comments === 'append' && page.comments ? `${page.text}\n\n${page.comments}` : page.text;
      counts.ms += performance.now() - t0;
      counts[extractor]++;
      // The headline alone does not make a page long enough (trafilatura's minimum counts the body, too).
      if (text.length - page.text.length + bodyLength(page) < p.minChars) {
        counts.tooShort++;
        continue;
      }
      const { html: _html, ...rest } = doc.metadata;
      const lang = HTML_LANG.exec(html.slice(0, 4096))?.[1].toLowerCase().replace('_', '-');
      const guess = lid?.identify(text);
      const metadata = {
        ...rest,
        ...(p.keepHtml ? { html } : {}),
        ...(title ? { title } : {}),
        extractor,
        ...(p.comments === 'metadata' && page.comments ? { comments: page.comments } : {}),
        ...(lang ? { htmlLang: lang } : {}),
        ...(guess ? { language: guess.language, languageScore: Math.round(guess.score * 1e4) / 1e4 } : {}),
      };
      await out.write({ id: doc.id, text, source: doc.source, metadata });
      counts.extracted++;
    }
    return counts;
  },
  metrics(ctx, stats) {
    const { ms, ...counts } = sumStats(noPages(), stats);
    const pages = counts.readability + counts.body;
    ctx.log(`extract: ${counts.input} documents, ${counts.extracted} extracted, ${counts.tooShort} below ${ctx.params.minChars} chars`);
    return { ...counts, msPerPage: pages ? Math.round((ms / pages) * 100) / 100 : 0 };
  },
});
