/**
 * User comments under a page's article, found by their markup: the comment threads of blog and news CMSs
 * (WordPress `ol.commentlist` / `#comments`, Blogger `#comments-block`, `div.comments`, `.comment-list`, …).
 * Readability drops them (its strict pass strips anything whose class says `comment`); html-text.ts asks for them
 * only when the caller wants comments (the extract stage's `comments` param).
 *
 * Evidence that an element is a comment thread, not just something named like one:
 *   - a class/id token that names a comment list or section (`comments`, `commentlist`, `comment-list`,
 *     `comments-area`, …; not a single-purpose part such as `comment-form`, `comments-link`, `comment-count`);
 *   - it sits in no chrome container (`recentcomments` widgets in a sidebar are links to comments, not comments);
 *   - what is left after the form, reply links and stock phrases are pruned is prose: at least 8 words in blocks
 *     that are mostly not link text.
 * The outermost such elements are kept, in document order.
 */
import { pruneBoilerplate, type PruneNode } from './html-prune';

export interface CommentNode extends PruneNode {
  cloneNode(deep: boolean): CommentNode;
  querySelectorAll(selector: string): ArrayLike<CommentNode>;
}

/** Token parts that mark a comment section or list. */
const THREAD_PARTS = new Set(['comments', 'commentlist', 'commentslist', 'comment', 'discussion', 'responses']);
/** Token parts that, beside a THREAD_PARTS part, name one piece of the thread's chrome rather than the thread. */
const PIECE_PARTS = new Set([
  'form', 'reply', 'respond', 'link', 'links', 'count', 'counts', 'num', 'number', 'nonce', 'subscribe', 'subscription',
  'notes', 'rss', 'feed', 'recent', 'recentcomments', 'button', 'btn', 'icon', 'error', 'spinner', 'noscript', 'closed',
  'rules', 'policy', 'login', 'author', 'avatar', 'meta', 'metadata', 'date', 'time', 'header', 'footer', 'title', 'nav',
  'navigation', 'pagination', 'tab', 'tabs', 'bubble', 'share',
]);
/** Whole tokens that name the list of comments itself; accepted before the part rules below are tried. */
const THREAD_CONTAINERS = new Set(['comments', 'commentlist', 'comment-list', 'comments-list', 'comment_list', 'comments_list', 'commentslist']);

function threadToken(node: PruneNode): string | undefined {
  const names = `${node.getAttribute?.('class') ?? ''} ${node.getAttribute?.('id') ?? ''}`.toLowerCase();
  for (const token of names.split(/\s+/)) {
    if (!token) continue;
    if (THREAD_CONTAINERS.has(token)) return token;
    const parts = token.split(/[-_]+/);
    if (!parts.some((p) => THREAD_PARTS.has(p) || p.startsWith('comment'))) continue;
    if (parts.some((p) => PIECE_PARTS.has(p))) continue;
    return token;
  }
  return undefined;
}

/**
 * Sidebars list recent comments of other posts; body-level classes such as `has-sidebar` do not count, and
 * neither does `widget` (Blogger wraps the main post and its comments in `div.widget.Blog`).
 */
function inChrome(node: PruneNode): boolean {
  const tag = node.nodeName.toUpperCase();
  if (tag === 'ASIDE' || tag === 'NAV') return true;
  const names = `${node.getAttribute?.('class') ?? ''} ${node.getAttribute?.('id') ?? ''}`.toLowerCase();
  return names.split(/\s+/).some((t) => t === 'sidebar' || t.startsWith('sidebar-') || t.startsWith('sidebar_'));
}

// The comment form and what a browser does not show (previews, error messages, moderation notices).
const FORM_PARTS = 'form, textarea, input, button, select, script, style, noscript, iframe, [hidden], [style*="display:none"], [style*="display: none"]';
const words = (s: string) => s.match(/[\p{L}\p{N}]+/gu)?.length ?? 0;

/** The comment threads of the page (text per thread, chrome pruned); empty when the page shows none. */
export function findComments(doc: { querySelectorAll(selector: string): ArrayLike<CommentNode> }): CommentNode[] {
  const candidates = Array.from(doc.querySelectorAll('[class*="omment"], [id*="omment"], [class*="iscussion"], [id*="iscussion"], [class*="esponses"], [id*="esponses"]'));
  const threads = new Set<CommentNode>();
  const out: CommentNode[] = [];
  for (const node of candidates) {
    if (['FORM', 'TEXTAREA', 'INPUT', 'A', 'SPAN', 'BUTTON', 'LABEL', 'SCRIPT', 'IMG'].includes(node.nodeName.toUpperCase())) continue;
    if (!threadToken(node)) continue;
    let nested = false;
    let chrome = false;
    for (let p = node.parentNode; p; p = p.parentNode) {
      if (threads.has(p as CommentNode)) nested = true;
      if (p.nodeType === 1 && inChrome(p)) chrome = true;
    }
    if (nested || chrome) continue;
    const copy = node.cloneNode(true);
    for (const el of Array.from(copy.querySelectorAll(FORM_PARTS))) el.remove?.();
    pruneBoilerplate(copy);
    if (proseOf(copy) < 8) continue;
    threads.add(node);
    out.push(copy);
  }
  return out;
}

/** Words in blocks of the element that are less than half link text. */
function proseOf(root: PruneNode): number {
  let [all, link] = [0, 0];
  const walk = (node: PruneNode, inLink: boolean): void => {
    if (node.nodeType === 3) {
      const n = words(node.textContent ?? '');
      all += n;
      if (inLink) link += n;
      return;
    }
    if (node.nodeType !== 1) return;
    const a = inLink || node.nodeName.toUpperCase() === 'A';
    for (const child of Array.from(node.childNodes)) walk(child, a);
  };
  walk(root, false);
  return link * 2 > all ? 0 : all - link;
}
