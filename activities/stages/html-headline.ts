/**
 * The page's headline (html-text.ts puts it at the head of the article text): the heading (`h1`–`h3`) whose
 * text is the largest part of the document's `<title>`. "Site name: Post title" holds both the site's and the
 * post's heading; the post's is the longer. Readability drops the headline from the article it returns (a
 * heading that repeats the title) or keeps it (when it sits inside the article container), so whether a
 * document starts with its headline depended on the page's markup.
 */
interface HeadingNode {
  nodeName: string;
  textContent: string | null;
  getAttribute(name: string): string | null;
  closest(selector: string): HeadingNode | null;
  querySelector(selector: string): HeadingNode | null;
  firstElementChild: HeadingNode | null;
  nextElementSibling: HeadingNode | null;
  parentElement: HeadingNode | null;
}

// A link to a site's or a section's front page (`/`, `http://host/`, `/atlanta/`, `/new-york/`): the site name in
// the banner, not a post; post headings link to their permalink (`/2012/11/slug.html`, `/a-post-title-slug`) or
// to nothing.
const FRONT_PAGE = /^(?:https?:\/\/[^/?#]+)?(?:\/[^/?#.-]*(?:-[^/?#.-]*)?)?\/?$/i;
const linksHome = (h: HeadingNode) => {
  const href = (h.closest('a') ?? h.querySelector('a'))?.getAttribute('href');
  return href !== null && href !== undefined && FRONT_PAGE.test(href.trim());
};

const squash = (s: string | null) => (s ?? '').replace(/\s+/g, ' ').trim();

/** The heading that is the largest part of the title, or undefined when no heading is in it. */
function headingOf(doc: { querySelectorAll(selector: string): ArrayLike<HeadingNode> }, title: string | undefined): [HeadingNode, string] | undefined {
  const t = squash(title ?? '').toLowerCase();
  if (!t) return undefined;
  let best: [HeadingNode, string] | undefined;
  for (const h of Array.from(doc.querySelectorAll('h1, h2, h3'))) {
    const text = squash(h.textContent);
    if (text.length > (best?.[1].length ?? 2) && t.includes(text.toLowerCase()) && !linksHome(h)) best = [h, text];
  }
  return best;
}

export interface Headline {
  text: string;
  /** The post's byline and date lines under the headline ("By Jane Doe on May 3, 2012", "Posted Nov. 6, 2012 at 5:32 PM"). */
  dateline: string[];
}

/**
 * The headline (the heading that is the largest part of the title) and its dateline. Readability leaves the byline
 * and date out of the article when they sit beside the headline rather than in the body's container, but they
 * are part of a post as a reader sees it, and the Dragnet gold keeps them on most pages. Dateline lines are the
 * short blocks just after the headline that start like a byline or hold a date among other words; the search
 * stops at the first block of prose.
 */
export function findHeadline(doc: { querySelectorAll(selector: string): ArrayLike<HeadingNode> }, title: string | undefined): Headline | undefined {
  const found = headingOf(doc, title);
  if (!found) return undefined;
  const [heading, text] = found;
  const dateline: string[] = [];
  let node = nextAfter(heading);
  for (let seen = 0; node && seen < DATELINE_BLOCKS; ) {
    if (node.firstElementChild && hasBlockChild(node)) {
      node = node.firstElementChild;
      continue;
    }
    const line = squash(node.textContent);
    if (line) {
      seen++;
      const words = line.split(' ').length;
      if (words > 30) break;
      if (isDateline(line) && !dateline.includes(line)) dateline.push(line);
    }
    node = nextAfter(node);
  }
  return { text, dateline };
}

// How many non-empty blocks after the headline are looked at (byline, date, category or share-count lines); on the
// train pages 3 was better than 2 or 4 and 6 (further blocks are more often a teaser or a caption).
const DATELINE_BLOCKS = 3;
const BLOCK_TAGS = new Set(['ADDRESS', 'ARTICLE', 'ASIDE', 'BLOCKQUOTE', 'DD', 'DIV', 'DL', 'DT', 'FIGURE', 'FOOTER', 'FORM', 'H1', 'H2',
  'H3', 'H4', 'H5', 'H6', 'HEADER', 'LI', 'MAIN', 'NAV', 'OL', 'P', 'SECTION', 'TABLE', 'TBODY', 'TD', 'TR', 'UL']);
const hasBlockChild = (node: HeadingNode) => {
  for (let c = node.firstElementChild; c; c = c.nextElementSibling) if (BLOCK_TAGS.has(c.nodeName.toUpperCase())) return true;
  return false;
};
/** The element after `node` in document order, not descending into it. */
function nextAfter(node: HeadingNode): HeadingNode | null {
  for (let n: HeadingNode | null = node; n; n = n.parentElement) if (n.nextElementSibling) return n.nextElementSibling;
  return null;
}

const MONTH = '(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\\.?';
const DAY = '\\d{1,2}(?:st|nd|rd|th)?';
const DATE = `(?:${MONTH} ${DAY},? \\d{4}|${DAY} ${MONTH},? \\d{4}|\\d{1,2}[./-]\\d{1,2}[./-]\\d{2,4}|\\d{4}-\\d{2}-\\d{2})`;
const HAS_DATE = new RegExp(`\\b${DATE}\\b`, 'i');
// "Posted in <category>" is a category line (html-prune.ts drops it as chrome), not a byline.
const BYLINE = /^(?:by|posted|written|submitted|published|updated)\b(?! in\b)/i;
// A bare date line ("Monday, October 22, 2012") is left out: on the train pages the gold mostly leaves it out too.
const isDateline = (line: string) => line.length <= 200 && (BYLINE.test(line) || (HAS_DATE.test(line) && line.split(' ').length > 5));
