/** Serves the demo website on a loopback port, for the demo pipeline's crawl stage. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { demoSitePages } from './corpus';

export async function serveDemoSite(port = 0, pages: Map<string, string> = demoSitePages()): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const page = pages.get((req.url ?? '/').split('?')[0]);
    if (!page) {
      res.writeHead(404).end('not found');
      return;
    }
    const type = req.url === '/robots.txt' ? 'text/plain' : 'text/html; charset=utf-8';
    res.writeHead(200, { 'content-type': type }).end(page);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: p } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${p}/`, close: () => new Promise((r) => server.close(() => r())) };
}
