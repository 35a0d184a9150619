/**
 * The benchmark's web site, run as its own process so neither crawler shares an event loop with it: N pages
 * of about 7 KB (header, navigation, a few paragraphs of an article, footer), page i linking to pages
 * 10i+1 … 10i+10, so the whole site is reachable from / within four hops. robots.txt allows everything.
 * Prints `{"port": P}` on stdout once listening; a line on stdin, or its closing, stops it.
 *
 *   node --import tsx bench/crawl/site.ts [pages]
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const PAGES = Number(process.argv[2] ?? 2000);
const WORDS = 'domain adaptive continual pretraining corpus crawler document token vocabulary model training data'.split(' ');

function paragraph(i: number, k: number): string {
  const words = Array.from({ length: 90 }, (_, j) => WORDS[(i * 7 + k * 13 + j * j) % WORDS.length]);
  return `<p>${words.join(' ')}.</p>`;
}

function page(i: number): string {
  const links = Array.from({ length: 10 }, (_, k) => i * 10 + k + 1).filter((j) => j < PAGES);
  const nav = ['/', '/p/1', '/p/2', '/p/3'].map((h) => `<a href="${h}">${h}</a>`).join(' | ');
  const body = Array.from({ length: 8 }, (_, k) => paragraph(i, k)).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Article ${i}</title></head><body>
<header><nav>${nav}</nav></header>
<main><article><h1>Article ${i}</h1>${body}</article>
<aside><ul>${links.map((j) => `<li><a href="/p/${j}">Article ${j}</a></li>`).join('')}</ul></aside></main>
<footer><p>Benchmark site, page ${i} of ${PAGES}.</p></footer></body></html>`;
}

const server = http.createServer((req, res) => {
  const path = req.url ?? '/';
  if (path === '/robots.txt') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('User-agent: *\nAllow: /\n');
  }
  const m = /^\/p\/(\d+)$/.exec(path);
  const i = path === '/' ? 0 : m ? Number(m[1]) : -1;
  if (i < 0 || i >= PAGES) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found');
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page(i));
});

server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.on('data', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
