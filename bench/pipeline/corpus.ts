/**
 * The bench:pipeline web corpus, written as WARC files (one gzip member per record, as Common Crawl does):
 * generated pages inside boilerplate (navigation, cookie banners, sidebars, newsletters, footers) in three site
 * layouts, with exact duplicates (an earlier article again, in another layout and URL), near duplicates (an
 * earlier article with a few words changed and a sentence added), German, French and Chinese pages, low-quality
 * pages (link directories, repeated spam lines, product lists without sentences) and, among the English
 * articles, a share about the seed domain (shipping and ports) that the select stage should find. A small seed
 * corpus of that domain is written as JSONL for a source stage. Deterministic: the same options give the same
 * bytes, so generated corpora are cached under ~/.cache/dapt/bench-pipeline.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { httpResponse, warcRecord } from '../../test/helpers/warc';
import { ADS, COMMENTS, MENU, TEASERS, ZH_MENU, int, pick, rng, type Rng } from '../extract/text';
import { DE, DOMAIN, EN, FR, SHOP, ZH } from './words';

export type PageKind = 'en' | 'domain' | 'exact' | 'near' | 'de' | 'fr' | 'zh' | 'links' | 'spam' | 'list';

/** Shares of page kinds (the rest is English articles, `domainShare` of them about the seed domain). */
const MIX: [PageKind, number][] = [
  ['exact', 0.03],
  ['near', 0.07],
  ['de', 0.04],
  ['fr', 0.03],
  ['zh', 0.04],
  ['links', 0.02],
  ['spam', 0.02],
  ['list', 0.02],
];
const DOMAIN_SHARE = 0.12;

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function enPhrase(r: Rng, domain: boolean): string {
  const noun = domain && r() < 0.5 ? pick(r, DOMAIN.noun) : pick(r, EN.noun);
  const adj = domain && r() < 0.3 ? pick(r, DOMAIN.adj) : pick(r, EN.adj);
  return r() < 0.6 ? `${pick(r, EN.det)} ${adj} ${noun}` : `${pick(r, EN.det)} ${noun}`;
}

function enClause(r: Rng, domain: boolean): string {
  const adv = r() < 0.25 ? `${pick(r, EN.adv)} ` : '';
  const tail = r() < 0.7 ? ` ${pick(r, EN.prep)} ${enPhrase(r, domain)}` : '';
  return `${enPhrase(r, domain)} ${adv}${pick(r, EN.verb)} ${enPhrase(r, domain)}${tail}`;
}

function enSentence(r: Rng, domain: boolean): string {
  const u = r();
  if (u < 0.35) return `${cap(enClause(r, domain))}, ${pick(r, EN.conj)} ${enClause(r, domain)}.`;
  if (u < 0.5) return `${cap(pick(r, EN.prep))} ${enPhrase(r, domain)}, ${enClause(r, domain)}.`;
  if (u < 0.6) return `In ${int(r, 1890, 2024)}, ${enClause(r, domain)}.`;
  return `${cap(enClause(r, domain))}.`;
}

const enParagraph = (r: Rng, domain: boolean) => Array.from({ length: int(r, 2, 5) }, () => enSentence(r, domain)).join(' ');

function otherSentence(r: Rng, l: typeof DE | typeof FR): string {
  const words = [pick(r, l.det), pick(r, l.adj), pick(r, l.noun), pick(r, l.verb)];
  for (let i = int(r, 3, 8); i > 0; i--) words.push(r() < 0.5 ? pick(r, l.fill) : r() < 0.5 ? `${pick(r, l.det)} ${pick(r, l.noun)}` : pick(r, l.adj));
  return `${cap(words.join(' '))}.`;
}

/** Chinese: an opening phrase now and then (v1 opened every sentence with one of eight, which Gopher's repetition rule rightly dropped). */
const zhSentence = (r: Rng) =>
  `${r() < 0.25 ? `${pick(r, ZH.fill)}，` : ''}${r() < 0.5 ? pick(r, ZH.adj) : ''}${pick(r, ZH.noun)}${pick(r, ZH.verb)}` +
  `${r() < 0.5 ? pick(r, ZH.adj) : ''}${pick(r, ZH.noun)}${r() < 0.4 ? `和${pick(r, ZH.noun)}` : ''}。`;

interface Article {
  lang: 'en' | 'de' | 'fr' | 'zh';
  title: string;
  paragraphs: string[];
}

function article(r: Rng, kind: 'en' | 'domain' | 'de' | 'fr' | 'zh'): Article {
  const n = int(r, 4, 9);
  if (kind === 'de' || kind === 'fr') {
    const l = kind === 'de' ? DE : FR;
    return { lang: kind, title: otherSentence(r, l).slice(0, -1), paragraphs: Array.from({ length: n }, () => Array.from({ length: int(r, 2, 5) }, () => otherSentence(r, l)).join(' ')) };
  }
  if (kind === 'zh') return { lang: 'zh', title: zhSentence(r).slice(0, -1), paragraphs: Array.from({ length: n }, () => Array.from({ length: int(r, 3, 6) }, () => zhSentence(r)).join('')) };
  const domain = kind === 'domain';
  return { lang: 'en', title: enSentence(r, domain).replace(/[,.].*$/, ''), paragraphs: Array.from({ length: n }, () => enParagraph(r, domain)) };
}

/** A near duplicate: 1–4 words replaced (in different paragraphs) and one sentence added at the end. */
function nearCopy(r: Rng, a: Article): Article {
  const paragraphs = [...a.paragraphs];
  for (let e = int(r, 1, 4); e > 0; e--) {
    const i = Math.floor(r() * paragraphs.length);
    const words = paragraphs[i].split(' ');
    words[Math.floor(r() * words.length)] = pick(r, EN.noun);
    paragraphs[i] = words.join(' ');
  }
  paragraphs[paragraphs.length - 1] += ` ${enSentence(r, false)}`;
  return { ...a, paragraphs };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const links = (items: string[], cls = '') => `<ul class="${cls}">${items.map((t) => `<li><a href="/${encodeURIComponent(t)}">${esc(t)}</a></li>`).join('')}</ul>`;
const head = (title: string, lang: string) =>
  `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${esc(title)}</title><script>window.dataLayer=[];</script><style>body{font:16px sans-serif}</style></head>`;
const COOKIE = '<div id="cookie-consent" class="cookie-banner">We use cookies and similar technologies to personalise content and ads. <button>Accept all</button> <button>Settings</button></div>';
const footer = (r: Rng) =>
  `<footer class="site-footer">${links(['About us', 'Contact', 'Careers', 'Advertise', 'Privacy policy', 'Terms of use', 'Cookie settings'])}<p>© ${int(r, 2015, 2024)} Example Media Group. All rights reserved.</p></footer>`;

/** Three site layouts around the same article markup. */
function layout(r: Rng, a: Article, site: number): string {
  const menu = a.lang === 'zh' ? ZH_MENU : MENU;
  const paras = a.paragraphs.map((p, i) => `<p>${esc(p)}</p>${i === 1 && site === 2 ? `<div class="ad-slot">${pick(r, ADS)}</div>` : ''}`).join('\n');
  switch (site) {
    case 0:
      return `${head(a.title, a.lang)}<body>${COOKIE}<header><a class="logo" href="/">The Daily Example</a><form><input name="q"><button>Search</button></form></header>
<nav class="main-nav">${links(menu)}</nav><div class="breadcrumbs"><a href="/">Home</a> › <a href="/news">News</a> › Local</div>
<main><article><h1>${esc(a.title)}</h1><div class="byline">By Staff Reporter · ${int(r, 1, 28)} March 2024 · ${int(r, 2, 9)} min read</div>
<div class="share"><a>Share on Facebook</a> <a>Share on X</a> <a>Email</a></div>${paras}</article>
<aside class="most-read"><h3>Most read</h3>${links(TEASERS)}</aside></main>
<section class="newsletter"><h3>Get our newsletter</h3><p>Sign up for the morning briefing, delivered every weekday.</p><input type="email"></section>${footer(r)}</body></html>`;
    case 1: {
      const comments = Array.from({ length: int(r, 1, 3) }, () => `<div class="comment"><span class="author">reader${int(r, 1, 99)}</span><p>${pick(r, COMMENTS)}</p></div>`);
      return `${head(a.title, a.lang)}<body><div id="wrapper"><div id="top"><a href="/">Notes from the coast</a></div>${COOKIE}
<div id="sidebar"><h4>Categories</h4>${links(['Travel', 'Cooking', 'Gardening', 'Books'])}<h4>Archive</h4>${links(['January 2024', 'December 2023', 'November 2023'])}</div>
<div id="content"><div class="post"><h2 class="post-title">${esc(a.title)}</h2><div class="meta">Posted in Travel · ${int(r, 2, 40)} comments</div>
<div class="post-content">${paras}</div></div><div id="comments"><h3>Comments</h3>${comments.join('')}</div></div>${footer(r)}</div></body></html>`;
    }
    default:
      return `${head(a.title, a.lang)}<body><div class="topbar">${links(menu)}</div><div class="ad-banner">${pick(r, ADS)}</div>
<div class="layout"><div class="col-main"><div class="story"><h1>${esc(a.title)}</h1><p class="meta">Updated ${int(r, 1, 12)} hours ago</p>${paras}</div>
<div class="related"><h3>You may also like</h3>${links(TEASERS.slice(0, 3))}</div></div>
<div class="col-side"><div class="ad-box">${pick(r, ADS)}</div><h3>Trending</h3>${links(TEASERS.slice(2))}</div></div>${COOKIE}${footer(r)}</body></html>`;
  }
}

/** A low-quality page, and the text of its main element (what an extractor keeps of it). */
function lowQuality(r: Rng, kind: 'links' | 'spam' | 'list'): { html: string; text: string } {
  const title = pick(r, TEASERS);
  let lines: string[];
  let main: string;
  if (kind === 'links') {
    lines = Array.from({ length: int(r, 20, 40) }, () => `${pick(r, TEASERS)} ${int(r, 1, 999)}`);
    main = `<h1>Directory</h1>${links(lines)}`;
    lines.unshift('Directory');
  } else if (kind === 'spam') {
    const line = enSentence(r, false);
    lines = [title, ...Array.from({ length: int(r, 12, 25) }, () => `${line} Click here now!`)];
    main = `<h1>${esc(title)}</h1>${lines.slice(1).map((l) => `<p>${esc(l)}</p>`).join('\n')}`;
  } else {
    lines = Array.from({ length: int(r, 20, 40) }, () => `${pick(r, SHOP)} ${int(r, 2, 199)}.${int(r, 10, 99)} EUR`);
    main = `<h1>Shop</h1>${lines.map((l) => `<div class="item">${l}</div>`).join('\n')}`;
    lines.unshift('Shop');
  }
  return { html: `${head(title, 'en')}<body>${COOKIE}<nav>${links(MENU)}</nav><main>${main}</main>${footer(r)}</body></html>`, text: lines.join('\n') };
}

export interface CorpusOptions {
  docs: number;
  docsPerFile: number;
  seed?: number;
  /**
   * warc (default): the pages as WARC files; jsonl: the same pages' main text as gzip JSONL files ({text, url,
   * lang}), the input of a pipeline that starts after extraction (source → filter → dedupe → select).
   */
  format?: 'warc' | 'jsonl';
}

export interface Corpus {
  dir: string;
  format: 'warc' | 'jsonl';
  /** The input files' folder (WARC files, or JSONL files). */
  warcDir: string;
  seedDir: string;
  files: string[];
  /** Bytes of the input files as stored (gzip). */
  warcBytes: number;
  /** jsonl: bytes of the JSONL files uncompressed. */
  jsonlBytes?: number;
  docs: number;
  /** Pages per kind, as generated. */
  kinds: Record<PageKind, number>;
}

/** The corpus for `o`, generated into ~/.cache/dapt/bench-pipeline unless it is there already. */
export function ensureCorpus(o: CorpusOptions, log: (msg: string) => void): Corpus {
  const root = process.env.DAPT_BENCH_PIPELINE_CACHE ?? path.join(os.homedir(), '.cache', 'dapt', 'bench-pipeline');
  const dir = path.join(root, `corpus-v2-${o.docs}-${o.docsPerFile}-${o.seed ?? 1}${o.format === 'jsonl' ? '-jsonl' : ''}`);
  const done = path.join(dir, 'corpus.json');
  if (fs.existsSync(done)) {
    const saved = JSON.parse(fs.readFileSync(done, 'utf8')) as Omit<Corpus, 'dir'>;
    return { ...saved, dir, format: saved.format ?? 'warc' };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  log(`generating ${o.docs.toLocaleString('en')} pages as ${o.format === 'jsonl' ? 'JSONL of their main text' : 'WARC'} → ${dir}`);
  const c = writeCorpus(dir, o);
  fs.writeFileSync(done, JSON.stringify({ ...c, dir: undefined }));
  return c;
}

function writeCorpus(dir: string, o: CorpusOptions): Corpus {
  const jsonl = o.format === 'jsonl';
  const warcDir = path.join(dir, jsonl ? 'jsonl' : 'warc');
  const seedDir = path.join(dir, 'seed');
  fs.mkdirSync(warcDir, { recursive: true });
  fs.mkdirSync(seedDir, { recursive: true });
  const r = rng(o.seed ?? 1);
  const kinds = Object.fromEntries(['en', 'domain', ...MIX.map(([k]) => k)].map((k) => [k, 0])) as Record<PageKind, number>;
  const recent: Article[] = [];
  const files: string[] = [];
  let warcBytes = 0;
  let jsonlBytes = 0;
  let fd = -1;
  // jsonl: lines gzipped a thousand at a time (gzip members one after another read as one stream).
  let lines: string[] = [];
  const flushLines = () => {
    if (!lines.length) return;
    const text = lines.join('');
    jsonlBytes += Buffer.byteLength(text);
    const gz = zlib.gzipSync(text, { level: 1 });
    warcBytes += gz.length;
    fs.writeSync(fd, gz);
    lines = [];
  };
  for (let d = 0; d < o.docs; d++) {
    if (d % o.docsPerFile === 0) {
      flushLines();
      if (fd >= 0) fs.closeSync(fd);
      const file = path.join(warcDir, `CC-BENCH-${String(files.length).padStart(5, '0')}${jsonl ? '.jsonl.gz' : '.warc.gz'}`);
      files.push(file);
      fd = fs.openSync(file, 'w');
      if (!jsonl) fs.writeSync(fd, zlib.gzipSync(warcRecord({ type: 'warcinfo', contentType: 'application/warc-fields', block: 'software: dapt bench:pipeline\r\nformat: WARC File Format 1.0\r\n' })));
    }
    let u = r();
    let kind: PageKind = r() < DOMAIN_SHARE ? 'domain' : 'en';
    for (const [k, p] of MIX) {
      if (u < p) {
        kind = k;
        break;
      }
      u -= p;
    }
    if ((kind === 'exact' || kind === 'near') && recent.length === 0) kind = 'en';
    kinds[kind]++;
    const site = int(r, 0, 2);
    let html: string;
    let text: string;
    let lang = 'en';
    if (kind === 'links' || kind === 'spam' || kind === 'list') ({ html, text } = lowQuality(r, kind));
    else {
      const a = kind === 'exact' ? pick(r, recent) : kind === 'near' ? nearCopy(r, pick(r, recent)) : article(r, kind);
      if (kind === 'en' || kind === 'domain') {
        if (recent.length < 2000) recent.push(a);
        else recent[Math.floor(r() * recent.length)] = a;
      }
      html = layout(r, a, site);
      text = [a.title, ...a.paragraphs].join('\n\n');
      lang = a.lang;
    }
    const host = ['news.example.com', 'coast-notes.example.org', 'portal.example.net'][site];
    const uri = `https://${host}/${kind === 'zh' ? 'zh/' : ''}p/${d}`;
    if (jsonl) {
      // Both formats draw the same random numbers, so a size gives the same pages in either.
      lines.push(JSON.stringify({ text, url: uri, lang }) + '\n');
      if (lines.length === 1000) flushLines();
      continue;
    }
    const rec = warcRecord({
      type: 'response',
      uri,
      date: new Date(Date.UTC(2024, 4, 1) + d * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      contentType: 'application/http; msgtype=response',
      headers: { 'WARC-Identified-Payload-Type': 'text/html' },
      block: httpResponse(200, { 'Content-Type': 'text/html; charset=utf-8', Server: 'bench' }, html),
    });
    const gz = zlib.gzipSync(rec);
    warcBytes += gz.length;
    fs.writeSync(fd, gz);
  }
  flushLines();
  if (fd >= 0) fs.closeSync(fd);
  // The seed domain corpus: a few hundred short documents about ships and ports, from another generator seed.
  const s = rng((o.seed ?? 1) + 7919);
  const seed = Array.from({ length: 300 }, () => JSON.stringify({ text: Array.from({ length: int(s, 2, 4) }, () => enParagraph(s, true)).join('\n\n') }));
  fs.writeFileSync(path.join(seedDir, 'seed.jsonl'), seed.join('\n') + '\n');
  return { dir, format: jsonl ? 'jsonl' : 'warc', warcDir, seedDir, files, warcBytes, ...(jsonl ? { jsonlBytes } : {}), docs: o.docs, kinds };
}
