/**
 * Boilerplate pruning inside the article element Readability picked (html-text.ts): what Readability keeps
 * around the article body on real pages — share/follow bars, post metadata, author boxes, related/most-popular
 * lists, comment-form chrome, tag and category lists, newsletter and cookie boxes, runs of navigation links.
 * Three general signals, none tied to a site:
 *   - the class/id tokens of an element (`sidebar`, `post-meta`, `related-posts`, `share`, `newsletter`, …);
 *   - link density: a run of short blocks that are mostly link text is navigation, not prose;
 *   - short blocks that are only a stock phrase of page chrome ("Leave a reply", "Posted in …", "© 2024 …").
 * A removal never takes the article's main body: an element holding more than a third of the article's text is
 * kept whatever its class says (a site that calls its whole post `entry-meta` keeps it).
 */

/** The DOM surface used here; linkedom's elements provide it. */
export interface PruneNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<PruneNode>;
  parentNode: PruneNode | null;
  getAttribute?(name: string): string | null;
  remove?(): void;
}

const TEXT_NODE = 3;
const ELEMENT_NODE = 1;

/**
 * Whole class/id tokens (lowercased) that name page chrome. A token matches when one of these is the token or a
 * `-`/`_`-separated part of it (`post-meta`, `entry_tags`, `share-buttons`), or the token is one of the
 * compounds; words that also name article parts on common CMSs (`tag-<slug>` and `category-<slug>` on
 * WordPress posts, `meta` alone) are matched only as the listed whole tokens.
 */
const CHROME_PARTS = new Set([
  'sidebar', 'widget', 'widgets', 'share', 'sharing', 'sharebar', 'social', 'sociable',
  'addthis', 'sharedaddy', 'related', 'recommended', 'popular', 'mostpopular', 'trending', 'newsletter', 'subscribe', 'subscription',
  'signup', 'cookie', 'cookies', 'consent', 'gdpr', 'promo', 'sponsor', 'sponsored', 'advert', 'advertisement', 'advertising',
  'postmeta', 'postmetadata', 'metadata', 'pagination', 'pager', 'pagenav', 'postnav', 'storynav',
  'navigation', 'navbar', 'menu', 'respond', 'commentform', 'trackbacks', 'pingbacks', 'taglist', 'tagcloud',
  'printfriendly', 'rail',
]);
const CHROME_TOKENS = new Set([
  'tags', 'post-tags', 'entry-tags', 'article-tags', 'tag-links', 'tags-links', 'cat-links', 'categories', 'post-categories',
  'entry-meta', 'post-meta', 'article-meta', 'entry-footer', 'post-footer', 'article-footer', 'entry-utility', 'post-info',
  'post-details', 'author-bio', 'author-info', 'author-box', 'about-author', 'author-profile', 'author_info', 'mini-bio',
  'comment-reply-link', 'reply', 'most-read', 'read-more', 'more-link', 'see-also', 'sr-only', 'screen-reader-text',
  'visually-hidden', 'visuallyhidden', 'hidden', 'comment-form', 'comment-respond', 'nav', 'footer', 'ad', 'ads', 'form-allowed-tags',
  'jump-to-comments', 'print', 'email', 'follow',
]);

/** Stock phrases of page chrome; a block is dropped when its whole text is short and starts with one. */
const CHROME_TEXT = new RegExp(
  '^(?:' + [
    'posted in', 'filed (?:under|in)', 'tags?:', 'tagged(?: with| as)?:?', 'categor(?:y|ies):', 'share(?: this)?(?: article| post| story)?:?$',
    'related (?:posts|articles|stories|links):?$', 'you (?:may|might) also (?:like|enjoy)', 'more from', 'continue reading',
    'leave a (?:reply|comment|response)', 'post a comment', 'add (?:a )?comment', 'no comments', '\\d+ comments?$', 'comments? \\(\\d+\\)',
    'reply$', 'permalink', 'subscribe(?: to| now|$)', 'follow (?:us|me)', 'sign up', 'advertisement$', 'sponsored',
    'copyright', '\\(c\\) ?\\d{4}', '©', 'all rights reserved', 'powered by', 'this (?:entry|post) was posted', 'you can follow any responses',
    'your email address will not be published', 'required fields are marked', 'email this', 'print this', 'back to top',
    '[‹«]? ?back to (?:story|article)', '[‹«]? ?(?:previous|next) (?:post|article|story|entry)\\b', 'previously posted',
    'view all posts by', 'more posts(?: -|$)', 'write (?:a )?comment$',
    'discuss (?:this )?story$', 'pin it$', 'loading ?(?:\\.\\.\\.|…)$', 'comments$', 'rss$', 'archives$', 'related topics:',
    'printer[- ]friendly', 'newsletter sign[- ]?up', 'featured post$', 'the comments to this entry are closed', 'your rating:',
    'write to .* at \\S+@\\S+',
  ].join('|') + ')',
  'i',
);
/** Stock sentences of post metadata and print-edition notes: dropped as whole blocks of up to 60 words. */
const CHROME_SENTENCE = /^(?:this (?:entry|post) was posted|you can (?:follow any responses|leave a response)|a version of this article appeared|tags:)/i;

const BLOCK = new Set([
  'ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'DD', 'DIV', 'DL', 'DT', 'FIGCAPTION', 'FIGURE', 'FOOTER', 'FORM', 'H1', 'H2', 'H3', 'H4',
  'H5', 'H6', 'HEADER', 'LI', 'MAIN', 'OL', 'P', 'PRE', 'SECTION', 'TABLE', 'TBODY', 'TD', 'TH', 'TR', 'UL',
]);

interface Stats {
  node: PruneNode;
  chars: number;
  linkChars: number;
  /** Whether the element has block-level children (then its own text is judged through them). */
  hasBlockChild: boolean;
}

const words = (s: string) => s.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
const squash = (s: string | null) => (s ?? '').replace(/\s+/g, ' ').trim();

function chromeByName(node: PruneNode): string | undefined {
  const names = `${node.getAttribute?.('class') ?? ''} ${node.getAttribute?.('id') ?? ''}`.toLowerCase();
  for (const token of names.split(/\s+/)) {
    if (!token) continue;
    if (CHROME_TOKENS.has(token)) return token;
    for (const part of token.split(/[-_]+/)) if (CHROME_PARTS.has(part)) return token;
  }
  return undefined;
}

/** Per element: its text length and the part of it inside links, children first. */
function measure(root: PruneNode): Stats[] {
  const out: Stats[] = [];
  const walk = (node: PruneNode, inLink: boolean): [number, number] => {
    if (node.nodeType === TEXT_NODE) {
      const n = squash(node.textContent).length;
      return [n, inLink ? n : 0];
    }
    if (node.nodeType !== ELEMENT_NODE) return [0, 0];
    const link = inLink || node.nodeName.toUpperCase() === 'A';
    let [chars, linkChars, hasBlockChild] = [0, 0, false];
    for (const child of Array.from(node.childNodes)) {
      const [c, l] = walk(child, link);
      chars += c;
      linkChars += l;
      if (child.nodeType === ELEMENT_NODE && BLOCK.has(child.nodeName.toUpperCase())) hasBlockChild = true;
    }
    out.push({ node, chars, linkChars, hasBlockChild });
    return [chars, linkChars];
  };
  walk(root, false);
  return out;
}

/**
 * Words in the element's prose: leaf blocks of at least 15 words that are less than 30% link text. Menus,
 * link lists and one-line captions count for nothing, so a sidebar scores low however long it is.
 */
export function proseWords(root: PruneNode): number {
  let n = 0;
  for (const s of measure(root)) {
    if (s.hasBlockChild || s.chars === 0 || s.linkChars / s.chars >= 0.3) continue;
    if (s.node !== root && !BLOCK.has(s.node.nodeName.toUpperCase())) continue;
    const w = words(squash(s.node.textContent));
    if (w >= 15) n += w;
  }
  return n;
}

/** Removes page chrome from the article element in place; returns how many elements were removed. `log` sees each removal. */
export function pruneBoilerplate(root: PruneNode, log?: (rule: string, text: string) => void): number {
  const stats = measure(root);
  const total = stats[stats.length - 1]?.chars ?? 0;
  const cap = total / 3;
  const removed = new Set<PruneNode>();
  const drop = (s: Stats, rule: string) => {
    if (s.node === root || s.chars > cap || removed.has(s.node)) return;
    removed.add(s.node);
    log?.(rule, squash(s.node.textContent));
  };
  // Leaf blocks (no block-level children) in document order, for the link-run rule.
  const leaves: Stats[] = [];
  for (const s of stats) {
    if (s.node === root) continue;
    const chrome = chromeByName(s.node);
    if (chrome) {
      drop(s, `name:${chrome}`);
      continue;
    }
    const tag = s.node.nodeName.toUpperCase();
    if (!BLOCK.has(tag) || s.hasBlockChild || s.chars === 0) continue;
    leaves.push(s);
    const text = squash(s.node.textContent);
    const n = words(text);
    if ((n <= 25 && CHROME_TEXT.test(text)) || (n <= 60 && CHROME_SENTENCE.test(text))) drop(s, 'phrase');
  }
  // Runs of three or more consecutive short blocks that are mostly link text: menus, archives, "more stories".
  const linky = (s: Stats) => s.linkChars / s.chars >= 0.5 && words(squash(s.node.textContent)) < 8;
  for (let i = 0; i < leaves.length; ) {
    let j = i;
    while (j < leaves.length && linky(leaves[j])) j++;
    if (j - i >= 3) for (let k = i; k < j; k++) drop(leaves[k], 'links');
    i = Math.max(j, i + 1);
  }
  let count = 0;
  for (const node of removed) {
    // Skip nodes inside an already removed ancestor (removing them again is harmless, counting them is not).
    let inside = false;
    for (let p = node.parentNode; p && p !== root; p = p.parentNode) if (removed.has(p)) inside = true;
    node.remove?.();
    if (!inside) count++;
  }
  return count;
}
