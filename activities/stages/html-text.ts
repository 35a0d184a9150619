/**
 * HTML → main text, shared by the source stage (local .html files) and the crawler, so that a page yields the
 * same document whether it was crawled or saved to disk. Readability finds the article (pickArticle: a short post
 * is not traded for the page's longest sidebar), html-prune.ts removes the chrome Readability keeps inside it
 * (share bars, post metadata, author boxes, related lists, link runs); when Readability finds nothing
 * (navigation pages, tiny pages) the body without scripts and chrome is used instead.
 */
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { findComments, type CommentNode } from './html-comments';
import { findHeadline, type Headline } from './html-headline';
import { proseWords, pruneBoilerplate, type PruneNode } from './html-prune';

export interface ExtractedText {
  title?: string;
  text: string;
  /** The headline `text` starts with (html-headline.ts), when the page has one; not part of `bodyLength`. */
  headline?: string;
  /** The date and byline lines that follow the headline in `text` (html-headline.ts); not part of `bodyLength` either. */
  dateline?: string;
  /** Which path produced the text: `readability` or the `body` fallback. */
  extractor: 'readability' | 'body';
  /** The page's user comments (html-comments.ts), when asked for and found; never a repeat of lines in `text`. */
  comments?: string;
}

export interface ExtractOptions {
  /** Also find the page's user-comment threads (costs a selector pass and a copy of each thread). */
  comments?: boolean;
}

// DOM node types and the elements that start a new line; textContent alone would glue paragraphs together.
const TEXT_NODE = 3;
const ELEMENT_NODE = 1;
const BLOCK = new Set([
  'ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'BR', 'DD', 'DIV', 'DL', 'DT', 'FIGCAPTION', 'FIGURE', 'FOOTER', 'FORM',
  'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'HEADER', 'HR', 'LI', 'MAIN', 'OL', 'P', 'PRE', 'SECTION', 'TABLE', 'TD', 'TH', 'TR', 'UL',
]);
const NOISE = 'script, style, noscript, template, svg, nav, header, footer, aside, form, iframe';

interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

export function extractMainText(html: string, options: ExtractOptions = {}): ExtractedText {
  // One parse serves the title and Readability; only the fallback parses again (Readability mutates the DOM,
  // so comment threads are copied out before it runs).
  const doc = parseDocument(html);
  const title = doc.title?.trim() || undefined;
  const threads = options.comments ? findComments(doc as unknown as Parameters<typeof findComments>[0]) : [];
  const headline = findHeadline(doc, title);
  const article = pickArticle(doc, html);
  let text = '';
  let lead: [string, string] | undefined;
  let extractor: ExtractedText['extractor'] = 'readability';
  if (article && headline && isChromePick(article)) {
    // A photo or video post: its text is the headline, the date and a caption; what Readability found is chrome.
    const dateline = headline.dateline.map(normalizeText).join('\n');
    [text, lead] = [[headline.text, dateline].filter(Boolean).join('\n\n'), [headline.text, dateline]];
  } else if (article) {
    pruneBoilerplate(article as unknown as PruneNode);
    [text, lead] = withHeadline(cutTrailingChrome(dropRepeatedLines(normalizeText(blockText(article)))), headline);
  }
  if (!text) {
    const fresh = parseDocument(html);
    for (const el of Array.from(fresh.querySelectorAll(NOISE)) as { remove(): void }[]) el.remove();
    const body = (fresh.body ?? fresh.documentElement) as unknown as DomNode | null;
    [text, extractor] = [body ? normalizeText(blockText(body)) : '', 'body'];
  }
  const comments = threads.length ? newLines(text, threads) : '';
  const [h, dateline] = lead ?? [];
  return { title, text, ...(h ? { headline: h } : {}), ...(dateline ? { dateline } : {}), extractor, ...(comments ? { comments } : {}) };
}

/**
 * The comment threads' text without what the article text already holds: when Readability took the thread as
 * the article (a photo post with a long discussion) a thread whose long lines are mostly in `text` adds nothing.
 */
function newLines(text: string, threads: CommentNode[]): string {
  const have = new Set(text.split('\n').filter((l) => l.length >= 40).map((l) => l.toLowerCase()));
  const parts: string[] = [];
  for (const thread of threads) {
    const lines = normalizeText(blockText(thread as unknown as DomNode)).split('\n');
    const long = lines.filter((l) => l.length >= 40);
    if (long.length && long.filter((l) => have.has(l.toLowerCase())).length * 2 >= long.length) continue;
    parts.push(lines.join('\n'));
  }
  return dropRepeatedLines(parts.join('\n\n'));
}

/**
 * The article text led by the headline (unless one of its first lines already is the headline) and the dateline
 * lines the article does not hold already; and the headline and dateline it starts with. The gold texts of the
 * Dragnet pages start with the headline; Readability keeps or drops it depending on where the page puts it, and a
 * document without its headline loses what it is about.
 */
function withHeadline(text: string, headline: Headline | undefined): [string, [string, string] | undefined] {
  if (!text || !headline) return [text, undefined];
  const h = normalizeText(headline.text);
  const lines = text.split('\n', 6);
  const at = lines.findIndex((l) => l.toLowerCase() === h.toLowerCase());
  if (at > 0) return [text, undefined];
  const body = at === 0 ? text.slice(lines[0].length).trimStart() : text;
  // The date and byline, unless the article already has them (Readability keeps them when they sit in its container).
  const lower = body.slice(0, 2000).toLowerCase();
  const dateline = headline.dateline.map(normalizeText).filter((l) => !lower.includes(l.toLowerCase())).join('\n');
  const head = at === 0 ? lines[0] : h;
  return [[head, dateline, body].filter(Boolean).join('\n\n'), [head, dateline]];
}

/** The length of the text without the headline and dateline it starts with: what a minimum length of main text is checked on. */
export function bodyLength(x: Pick<ExtractedText, 'text' | 'headline' | 'dateline'>): number {
  if (!x.headline) return x.text.length;
  const rest = x.text.slice(x.headline.length).trimStart();
  return x.dateline && rest.startsWith(x.dateline) ? rest.slice(x.dateline.length).trimStart().length : rest.length;
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
 * Drops a line (a block's text) that repeats an earlier line of at least 40 characters. Pages carry the same
 * story twice (a print or mobile copy, a teaser of the lead paragraph above the body), and a pretraining corpus
 * gains nothing from the second copy; short lines ("Reply", "Yes") may legitimately repeat and are kept.
 */
export function dropRepeatedLines(text: string): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.length >= 40) {
      const key = line.toLowerCase();
      if (seen.has(key)) continue;
      seen.add(key);
    }
    out.push(line);
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

// A short line that opens the chrome a page puts after its article: lists of other stories, the author's box
// ("About the author", "About Jane Doe", "Author: Jane Doe"; not "About the Mets:", a section of a sports preview).
const TAIL_OPENER = new RegExp(
  '^(?:' + [
    'related (?:posts|stories|content|links|coverage)', '(?:you )?(?:may|might) also (?:like|enjoy)', 'we also recommend',
    'recommended(?: for you| reading| stories| posts)?', 'more (?:on|from|in|stories|news|articles|posts|headlines)\\b.*',
    '(?:most|more) (?:popular|read|viewed|shared|emailed|commented)(?: stories| posts| articles| news)?', 'popular (?:posts|stories|articles)', "don'?t miss",
    'featured (?:content|stories|posts|articles)', 'also on\\b.*', 'read next', 'top stories', 'trending(?: now)?',
    'about the author', 'posted on this day\\b.*', 'about (?!the\\b)[\\p{L}.]+(?: [\\p{L}.]+)?', 'author: .*', '(?:like|share) this',
  ].join('|') + ')[:.!]?$',
  'iu',
);

/**
 * The text without the trailing section that a short "Related posts" / "Don't miss" / "About the author" line opens,
 * when that section is less than half the text: Readability keeps the lists and boxes that sit in the article's
 * container after its body, and their items are link titles and bios whose markup names nothing. A bare
 * "Related:" or "Related articles:" is not an opener: bloggers put such lists in the post body, and the Dragnet
 * gold keeps them.
 */
export function cutTrailingChrome(text: string): string {
  const lines = text.split('\n');
  let at = 0;
  for (let i = lines.length - 1, after = 0; i > 0; after += lines[i].length + 1, i--) {
    if (lines[i].length <= 60 && TAIL_OPENER.test(lines[i]) && after < text.length / 2) at = i;
  }
  return at ? lines.slice(0, at).join('\n').trim() : text;
}

// Class/id words of the page chrome Readability falls back to on a post with little text: a blog's description or
// about box, a text widget, the related-articles box, the site footer or banner.
const CHROME_PICK = /^(?:widgets?|textwidget|sidebar|footer|foot|banner|description|related)$/i;

/**
 * Whether Readability's article is only page chrome: short, and every top-level element it kept is named as chrome.
 * Readability returns the longest block of the page when the post itself is a photo or a video with a caption.
 */
function isChromePick(root: DomNode): boolean {
  const page = (root as unknown as { firstElementChild: ChromeNode | null }).firstElementChild;
  const tops = Array.from(page?.children ?? []);
  if (!tops.length || (root.textContent ?? '').length > 1500) return false;
  return tops.every((el) => `${el.getAttribute('class') ?? ''} ${el.getAttribute('id') ?? ''}`.split(/[\s_-]+/).some((w) => CHROME_PICK.test(w)));
}
interface ChromeNode {
  children: ArrayLike<ChromeNode>;
  getAttribute(name: string): string | null;
}

/**
 * Readability's article, first with a low length threshold so that a short post found by its strict pass
 * (unlikely-looking containers stripped) is accepted. At Readability's default threshold (500 characters) a
 * short article fails the strict pass and the relaxed retries often return the longest block of the page, a
 * sidebar or footer. But the strict pass also strips a real article whose container looks unlikely (class
 * `comment`, `sidebar`-like wrappers); so when the strict result is short, the default run is tried as well and
 * wins only when it holds clearly more prose (long, link-poor paragraphs) than the short one. "Short" is under
 * 400 characters: the text is measured without the layout whitespace leanHtml drops, which the 500 of
 * Readability's default counted.
 */
/** Whether `b` words of prose are clearly more than `a`: half as much again and 200 words more. */
const clearlyMore = (b: number, a: number) => b > 1.5 * a && b - a > 200;

function pickArticle(doc: ReturnType<typeof parseDocument>, html: string): DomNode | undefined {
  const first = readabilityRoot(doc, 100);
  if (first && first.length >= 400) return first.root;
  const again = parseDocument(html);
  const a = first ? proseWords(first.root as unknown as PruneNode) : 0;
  // The default run cannot win when the whole page holds too little prose for it (it returns part of the page):
  // skip its retries, the slowest path of the extractor.
  if (first && !clearlyMore(proseWords((again.body ?? again.documentElement) as unknown as PruneNode), a)) return first.root;
  const second = readabilityRoot(again, 500);
  if (!first) return second?.root;
  if (!second) return first.root;
  return clearlyMore(proseWords(second.root as unknown as PruneNode), a) ? second.root : first.root;
}

/** The article element Readability picks, used as is (no HTML serialization and re-parse), and its text length. */
function readabilityRoot(doc: ReturnType<typeof parseDocument>, charThreshold: number): { root: DomNode; length: number } | undefined {
  try {
    const reader = new Readability(doc as unknown as ConstructorParameters<typeof Readability>[0], { charThreshold, keepClasses: true, serializer: (node: unknown) => node as DomNode });
    // Readability takes the byline element out of the article (into its metadata); the text keeps it where the page
    // has it, as the reader sees it. No option for this in 0.6.0, so its byline test is switched off per instance.
    (reader as unknown as { _isValidByline: () => boolean })._isValidByline = () => false;
    const article = reader.parse();
    return article?.content ? { root: article.content, length: article.length ?? 0 } : undefined;
  } catch {
    // Malformed markup can trip Readability; the body fallback still gives usable text.
    return undefined;
  }
}

// linkedom only builds <html>/<body> when the markup has them (a browser implies both), so fragments get a
// wrapper, and a page that has <html> but no <body> (content straight after </head>) gets its <body>: without
// one the page has no document.body, and Readability and the body fallback both find nothing.
function parseDocument(html: string) {
  const lean = leanHtml(html);
  if (!/<html[\s>]/i.test(lean)) return parseHTML(`<!doctype html><html><head></head><body>${lean}</body></html>`).document;
  if (/<body[\s>]/i.test(lean)) return parseHTML(lean).document;
  const at = /<\/head\s*>/i.exec(lean) ?? /<html\b[^>]*>/i.exec(lean);
  const cut = at ? at.index + at[0].length : 0;
  return parseHTML(`${lean.slice(0, cut)}<body>${lean.slice(cut)}</body>`).document;
}

// Scripts, styles and comments, in document order as a tokenizer meets them (a `<script>` inside a comment is
// part of the comment, a `<!--` inside a script part of the script).
const INERT = /<!--[\s\S]*?-->|<script\b[^>]*>[\s\S]*?<\/script\s*>|<style\b[^>]*>[\s\S]*?<\/style\s*>/gi;
// Tags whose boundaries end a line of text anyway (the BLOCK set, table cells, head-only and form elements).
const LAYOUT_TAG = 'html|head|body|title|meta|link|base|noscript|div|p|ul|ol|li|dl|dt|dd|table|thead|tbody|tfoot|tr|td|th|' +
  'h[1-6]|section|article|aside|header|footer|nav|main|form|select|option|blockquote|figure|figcaption|address|hr|br|iframe';
const SPACE_AFTER_LAYOUT = new RegExp(`(<\\/?(?:${LAYOUT_TAG})\\b[^<>]*>)\\s+(?=<)`, 'gi');
const SPACE_BEFORE_LAYOUT = new RegExp(`>\\s+(?=<\\/?(?:${LAYOUT_TAG})\\b)`, 'gi');

/**
 * The markup without what yields no text, before it is parsed: scripts, styles and comments (a fifth of the bytes
 * of real pages; Readability removes them first thing anyway), and the whitespace-only text between tags where
 * one side is a layout tag — the indentation of real pages is ~40% of their DOM nodes (each a linkedom node with
 * its own listener map), and beside a block boundary it carries no word break that the block does not already
 * give. Whitespace between two inline tags (`<a>x</a> <a>y</a>`) separates words and is kept, and so is
 * everything inside `<pre>` and `<textarea>`.
 */
export function leanHtml(html: string): string {
  const parts = html.replace(INERT, '').split(/(<(pre|textarea)\b[\s\S]*?<\/\2\s*>)/i);
  let out = '';
  for (let i = 0; i < parts.length; i += 3) {
    out += parts[i].replace(SPACE_AFTER_LAYOUT, '$1').replace(SPACE_BEFORE_LAYOUT, '>');
    if (i + 1 < parts.length) out += parts[i + 1];
  }
  return out;
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
