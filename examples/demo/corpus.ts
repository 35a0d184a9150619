/**
 * The demo's data, generated (no downloads): a small domain-flavoured corpus with planted exact duplicates,
 * and a tiny website of linked pages for the crawl stage. Deterministic for a given seed.
 */
import fs from 'node:fs';
import path from 'node:path';

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

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function sentence(r: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  return `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)} ${pick(TAILS)}.`;
}

export function paragraph(r: () => number, sentences = 6): string {
  return Array.from({ length: sentences }, () => sentence(r)).join(' ');
}

/** Writes `docs` text files and a JSONL file into dir; every 10th document is an exact duplicate of another. */
export function writeDemoCorpus(dir: string, docs = 60, seed = 7): { files: number } {
  const r = rng(seed);
  fs.mkdirSync(dir, { recursive: true });
  const texts: string[] = [];
  for (let i = 0; i < docs; i++) texts.push(i % 10 === 9 ? texts[i - 5] : paragraph(r, 4 + (i % 5)));
  const half = Math.floor(docs / 2);
  texts.slice(0, half).forEach((t, i) => fs.writeFileSync(path.join(dir, `clause-${String(i).padStart(3, '0')}.txt`), `${t}\n`));
  fs.writeFileSync(path.join(dir, 'more-clauses.jsonl'), texts.slice(half).map((t, i) => JSON.stringify({ text: t, n: i })).join('\n') + '\n');
  return { files: half + 1 };
}

/** Pages of the demo site: an index linking to `n` articles, each linking to its neighbours. */
export function demoSitePages(n = 12, seed = 11): Map<string, string> {
  const r = rng(seed);
  const pages = new Map<string, string>();
  const link = (i: number) => `<a href="/articles/${i}.html">Article ${i}</a>`;
  pages.set('/', `<html><head><title>Domain law notes</title></head><body><nav>${Array.from({ length: n }, (_, i) => link(i)).join(' ')}</nav></body></html>`);
  for (let i = 0; i < n; i++) {
    const body = Array.from({ length: 3 }, () => `<p>${paragraph(r)}</p>`).join('\n');
    const nav = [i > 0 ? link(i - 1) : '', i + 1 < n ? link(i + 1) : ''].join(' ');
    pages.set(`/articles/${i}.html`, `<html><head><title>Article ${i}</title></head><body><header><nav>${nav}</nav></header><article><h1>Article ${i}</h1>${body}</article><footer>© demo</footer></body></html>`);
  }
  pages.set('/robots.txt', 'User-agent: *\nDisallow: /private/\n');
  return pages;
}
