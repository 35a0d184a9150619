/**
 * HTML → main text, shared by the source stage (local .html files) and the crawler, so that a page yields the
 * same document whether it was crawled or saved to disk. Readability finds the article; when it finds nothing
 * (navigation pages, tiny pages) the body without scripts and chrome is used instead.
 */
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';

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
  const article = readabilityRoot(doc);
  if (article) {
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

/** The article element Readability picks, used as is (no HTML serialization and re-parse). */
function readabilityRoot(doc: ReturnType<typeof parseDocument>): DomNode | undefined {
  try {
    const reader = new Readability(doc as unknown as ConstructorParameters<typeof Readability>[0], { serializer: (node: unknown) => node as DomNode });
    return reader.parse()?.content ?? undefined;
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
