/**
 * The page's headline (html-text.ts puts it at the head of the article text): the heading (`h1`–`h3`) whose
 * text is the largest part of the document's `<title>`. "Site name: Post title" holds both the site's and the
 * post's heading; the post's is the longer. Readability drops the headline from the article it returns (a
 * heading that repeats the title) or keeps it (when it sits inside the article container), so whether a
 * document starts with its headline depended on the page's markup.
 */
interface HeadingNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
  closest(selector: string): HeadingNode | null;
  querySelector(selector: string): HeadingNode | null;
}

// A link to a site's or a section's front page (`/`, `http://host/`, `/atlanta/`): the site name in the banner,
// not a post; post headings link to their permalink (`/2012/11/slug.html`) or to nothing.
const FRONT_PAGE = /^(?:https?:\/\/[^/?#]+)?(?:\/[^/?#.]*)?\/?$/i;
const linksHome = (h: HeadingNode) => {
  const href = (h.closest('a') ?? h.querySelector('a'))?.getAttribute('href');
  return href !== null && href !== undefined && FRONT_PAGE.test(href.trim());
};

const squash = (s: string | null) => (s ?? '').replace(/\s+/g, ' ').trim();

/** The text of the heading that is the largest part of the title, or undefined when no heading is in it. */
export function findHeadline(doc: { querySelectorAll(selector: string): ArrayLike<HeadingNode> }, title: string | undefined): string | undefined {
  const t = squash(title ?? '').toLowerCase();
  if (!t) return undefined;
  let best: string | undefined;
  for (const h of Array.from(doc.querySelectorAll('h1, h2, h3'))) {
    const text = squash(h.textContent);
    if (text.length > (best?.length ?? 2) && t.includes(text.toLowerCase()) && !linksHome(h)) best = text;
  }
  return best;
}

