/**
 * A small web site on 127.0.0.1 for crawler tests, counting every request per path.
 *
 *   /               links to /p/0../p/4, /flaky, /short, /missing, /private/secret, /outside/x,
 *                   /redirect-out and an external host
 *   /p/i            (i < 30) links to /p/(i+5) and back to /; so /p/i is at depth 1 + floor(i/5), by one path only
 *   /flaky          500 twice, then 200;  /slow  answers after 1.5 s the first time, at once afterwards (not linked)
 *   /short          too little text to keep;  /missing  404;  /redirect-out  302 to /outside/x
 *   /robots.txt     disallows /private/;  /sitemap.xml  404 (neither counts as a page in `starts` or `served`)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const SITE_PAGES = 30;

export interface TestSite {
  origin: string;
  /** `127.0.0.1:port`, the host part of allow patterns. */
  host: string;
  counts: Map<string, number>;
  /** Start times (ms) of page requests, robots.txt excluded. */
  starts: number[];
  maxInFlight: number;
  /** Called after each page response is sent, with the number of pages served so far. */
  onServed?: (served: number) => void;
  served: number;
  close(): Promise<void>;
}

const para = (i: number | string) =>
  `<p>This is page ${i} of the test site. It has enough words to count as a real document for the crawler.</p>`;

function page(title: string, body: string, links: string[]): string {
  const a = links.map((l) => `<li><a href="${l}">${l}</a></li>`).join('');
  return `<!doctype html><html><head><title>${title}</title></head><body><main><h1>${title}</h1>${body}</main><ul>${a}</ul></body></html>`;
}

export async function startTestSite(opts: { latencyMs?: number } = {}): Promise<TestSite> {
  let inFlight = 0;
  const site = { counts: new Map<string, number>(), starts: [] as number[], maxInFlight: 0, served: 0 } as TestSite;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const n = (site.counts.get(path) ?? 0) + 1;
    site.counts.set(path, n);
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers });
      res.end(body);
      inFlight--;
      site.served++;
      site.onServed?.(site.served);
    };
    if (path === '/robots.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('User-agent: *\nDisallow: /private/\n');
      return;
    }
    // Not a page: the crawler looks for it when robots.txt names no sitemap.
    if (path === '/sitemap.xml') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no sitemap');
      return;
    }
    site.starts.push(Date.now());
    inFlight++;
    site.maxInFlight = Math.max(site.maxInFlight, inFlight);
    setTimeout(() => {
      const m = /^\/p\/(\d+)$/.exec(path);
      if (path === '/') {
        const links = [0, 1, 2, 3, 4].map((i) => `/p/${i}`);
        links.push('/flaky', '/short', '/missing', '/private/secret', '/outside/x', '/redirect-out', 'http://example.invalid/x');
        send(200, page('Home', para('home'), links));
      } else if (m && Number(m[1]) < SITE_PAGES) {
        const i = Number(m[1]);
        send(200, page(`Page ${i}`, para(i), [...(i + 5 < SITE_PAGES ? [`/p/${i + 5}#section`] : []), '/']));
      } else if (path === '/flaky') {
        if (n <= 2) send(500, 'try again');
        else send(200, page('Flaky', para('flaky'), []));
      } else if (path === '/slow') {
        setTimeout(() => send(200, page('Slow', para('slow'), [])), n === 1 ? 1500 : 0);
      } else if (path === '/short') send(200, page('S', '<p>tiny</p>', []));
      else if (path === '/redirect-out') send(302, '', { location: '/outside/x' });
      else send(404, page('Not found', '<p>no such page</p>', []));
    }, opts.latencyMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  site.origin = `http://127.0.0.1:${port}`;
  site.host = `127.0.0.1:${port}`;
  site.close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    });
  return site;
}
