/**
 * HTML → main text, shared by the source stage (local .html files) and the crawler, so that a page yields the
 * same document whether it was crawled or saved to disk. Readability finds the article (pickArticle: a short post
 * is not traded for the page's longest sidebar), html-prune.ts removes the chrome Readability keeps inside it
 * (share bars, post metadata, author boxes, related lists, link runs); when Readability finds nothing
 * (navigation pages, tiny pages) the body without scripts and chrome is used instead.
 */
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { proseWords, pruneBoilerplate, type PruneNode } from './html-prune';

export interface ExtractedText {
  title?: string;
  text: string;
  /** Which path produced the text: `readability` or the `body` fallback. */
  extractor: 'readability' | 'body';
}

// DOM node types and the elements that start a new line; textContent alone would glue paragraphs together.
const TEXT_NODE = 3;
const ELEMENT_NODE = 1;
const BLOCK = new Set([
  'ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'BR', 'DD', 'DIV', 'DL', 'DT', 'FIGCAPTION', 'FIGURE', 'FOOTER', 'FORM',
  'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HEADER', 'HR', 'LI', 'MAIN', 'OL', 'P', 'PRE', 'SECTION', 'TABLE', 'TR', 'UL',
]);
const NOISE = 'script, style, noscript, template, svg, nav, header, footer, aside, form, iframe';

interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

export function extractMainText(html: string): ExtractedText {
  // One parse serves the title and Readability; only the fallback parses again (Readability mutates the DOM).
  const doc = parseDocument(html);
  const title = doc.title?.trim() || undefined;
  const article = pickArticle(doc, html);
  if (article) {
    pruneBoilerplate(article as unknown as PruneNode);
    const text = normalizeText(blockText(article));
    if (text) return { title, text, extractor: 'readability' };
  }
  const fresh = parseDocument(html);
  for (const el of Array.from(fresh.querySelectorAll(NOISE)) as { remove(): void }[]) el.remove();
  const body = (fresh.body ?? fresh.documentElement) as unknown as DomNode | null;
  return { title, text: body ? normalizeText(blockText(body)) : '', extractor: 'body' };
}

/** NFC, unified newlines, runs of spaces collapsed, at most one blank line between paragraphs. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[^\S\n]+/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * Readability's article, first with a low length threshold so that a short post found by its strict pass
 * (unlikely-looking containers stripped) is accepted. At Readability's default threshold (500 characters) a
 * short article fails the strict pass and the relaxed retries often return the longest block of the page, a
 * sidebar or footer. But the strict pass also strips a real article whose container looks unlikely (class
 * `comment`, `sidebar`-like wrappers); so when the strict result is short, the default run is tried as well and
 * wins only when it holds clearly more prose (long, link-poor paragraphs) than the short one.
 */
function pickArticle(doc: ReturnType<typeof parseDocument>, html: string): DomNode | undefined {
  const first = readabilityRoot(doc, 100);
  if (first && first.length >= 500) return first.root;
  const second = readabilityRoot(parseDocument(html), 500);
  if (!first) return second?.root;
  if (!second) return first.root;
  const [a, b] = [proseWords(first.root as unknown as PruneNode), proseWords(second.root as unknown as PruneNode)];
  return b > 1.5 * a && b - a > 200 ? second.root : first.root;
}

/** The article element Readability picks, used as is (no HTML serialization and re-parse), and its text length. */
function readabilityRoot(doc: ReturnType<typeof parseDocument>, charThreshold: number): { root: DomNode; length: number } | undefined {
  try {
    const reader = new Readability(doc as unknown as ConstructorParameters<typeof Readability>[0], { charThreshold, keepClasses: true, serializer: (node: unknown) => node as DomNode });
    const article = reader.parse();
    return article?.content ? { root: article.content, length: article.length ?? 0 } : undefined;
  } catch {
    // Malformed markup can trip Readability; the body fallback still gives usable text.
    return undefined;
  }
}

// linkedom only builds <html>/<body> when the markup has them, so fragments get a wrapper.
function parseDocument(html: string) {
  const whole = /<html[\s>]/i.test(html) ? html : `<!doctype html><html><head></head><body>${html}</body></html>`;
  return parseHTML(whole).document;
}

function blockText(root: DomNode): string {
  const out: string[] = [];
  const walk = (node: DomNode): void => {
    if (node.nodeType === TEXT_NODE) {
      out.push(node.textContent ?? '');
      return;
    }
    if (node.nodeType !== ELEMENT_NODE) return;
    const block = BLOCK.has(node.nodeName.toUpperCase());
    if (block) out.push('\n');
    for (const child of Array.from(node.childNodes)) walk(child);
    if (block) out.push('\n');
  };
  walk(root);
  return out.join('');
}
