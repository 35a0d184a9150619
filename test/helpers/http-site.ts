/**
 * A scriptable web site on 127.0.0.1 for crawler tests: a route function answers each request, and every
 * request is recorded with its headers (conditional requests, Host) and start time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SiteRequest {
  path: string;
  /** Path with the query string. */
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
}

export interface Answer {
  status?: number;
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
}

export interface Site {
  port: number;
  origin: string;
  requests: SiteRequest[];
  count(path: string): number;
  close(): Promise<void>;
}

export type Route = (req: SiteRequest) => Answer | undefined;

export async function startSite(route: Route): Promise<Site> {
  const requests: SiteRequest[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const r: SiteRequest = { path: u.pathname, url: u.pathname + u.search, headers: req.headers, at: Date.now() };
    requests.push(r);
    const a = route(r) ?? { status: 404, body: 'not found', headers: { 'content-type': 'text/plain' } };
    const headers = Object.entries(a.headers ?? {}).filter((h): h is [string, string] => h[1] !== undefined);
    res.writeHead(a.status ?? 200, { 'content-type': 'text/html; charset=utf-8', ...Object.fromEntries(headers) });
    res.end(a.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    requests,
    count: (path) => requests.filter((r) => r.path === path).length,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

/** A page whose main text is `text` (in a <main>), with links. */
export function html(title: string, text: string, links: string[] = [], head = ''): string {
  const a = links.map((l) => `<li><a href="${l}">${l}</a></li>`).join('');
  return `<!doctype html><html><head>${head}<title>${title}</title></head><body><main><h1>${title}</h1><p>${text}</p></main><ul>${a}</ul></body></html>`;
}

const legacyTables = new Map<string, Map<string, number[]>>();

/** Encodes text in a legacy double-byte charset (gbk, big5) using the platform's decoder tables in reverse. */
export function encodeLegacy(text: string, encoding: 'gbk' | 'big5'): Buffer {
  let table = legacyTables.get(encoding);
  if (!table) {
    table = new Map();
    const dec = new TextDecoder(encoding);
    for (let lead = 0x81; lead <= 0xfe; lead++) {
      for (let trail = 0x40; trail <= 0xfe; trail++) {
        const ch = dec.decode(Uint8Array.of(lead, trail));
        if (ch.length === 1 && ch !== '\ufffd' && !table.has(ch)) table.set(ch, [lead, trail]);
      }
    }
    legacyTables.set(encoding, table);
  }
  const bytes: number[] = [];
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) bytes.push(ch.charCodeAt(0));
    else if (table.has(ch)) bytes.push(...table.get(ch)!);
    else throw new Error(`${ch} has no ${encoding} encoding`);
  }
  return Buffer.from(bytes);
}
