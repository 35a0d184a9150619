/** The demo website's pages (domain-flavoured articles) for the crawl stage, generated: deterministic per seed. */
import { rng } from '../../activities/rng';

const SUBJECTS = ['The lessee', 'The contractor', 'The court', 'The plaintiff', 'The arbitration panel', 'The licensor'];
const VERBS = ['shall indemnify', 'may terminate', 'must notify', 'is liable to', 'shall reimburse', 'may assign rights to'];
const OBJECTS = ['the lessor', 'any subcontractor', 'the defendant', 'the guarantor', 'the registered agent', 'the insurer'];
const TAILS = [
  'within thirty days of written notice',
  'subject to the limitation of liability clause',
  'unless otherwise agreed in a signed amendment',
  'in accordance with the governing law of the contract',
  'save for gross negligence or wilful misconduct',
];


function sentence(r: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  return `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(TAILS)}.`;
}

export function paragraph(r: () => number, sentences = 6): string {
  return Array.from({ length: sentences }, () => sentence(r)).join(' ');
}

export interface SiteContent {
  title: string;
  /** One article paragraph from the site's generator. */
  paragraph: (r: () => number) => string;
}

/** Pages of the demo site: an index linking to `n` articles, each linking to its neighbours. */
export function demoSitePages(n = 12, seed = 11, content: SiteContent = { title: 'Domain law notes', paragraph }): Map<string, string> {
  const r = rng(seed);
  const pages = new Map<string, string>();
  const link = (i: number) => `<a href="/articles/${i}.html">Article ${i}</a>`;
  pages.set('/', `<html><head><title>${content.title}</title></head><body><nav>${Array.from({ length: n }, (_, i) => link(i)).join(' ')}</nav></body></html>`);
  for (let i = 0; i < n; i++) {
    const body = Array.from({ length: 3 }, () => `<p>${content.paragraph(r)}</p>`).join('\n');
    const nav = [i > 0 ? link(i - 1) : '', i + 1 < n ? link(i + 1) : ''].join(' ');
    pages.set(`/articles/${i}.html`, `<html><head><title>Article ${i}</title></head><body><header><nav>${nav}</nav></header><article><h1>Article ${i}</h1>${body}</article><footer>© demo</footer></body></html>`);
  }
  pages.set('/robots.txt', 'User-agent: *\nDisallow: /private/\n');
  return pages;
}
