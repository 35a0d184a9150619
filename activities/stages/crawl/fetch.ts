/**
 * One GET, with the rules a crawler needs and a browser-ish client does not give in one place: keep-alive agents
 * whose DNS lookups go through the network guard, redirects followed by hand (each hop checked by the caller
 * before it is requested), a timeout over the whole exchange, gzip/deflate/br, the media type checked on the
 * headers (before any body byte is read) and the body cut off past a size limit.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { Readable } from 'node:stream';
import type { NetworkGuard } from './network-guard';

export const USER_AGENT = 'dapt-crawler/0.1 (+https://github.com/dapt)';
const MAX_REDIRECTS = 10;

/** `kind` is the failure class in metrics; `retryable` says whether trying again may help. */
export class FetchError extends Error {
  constructor(message: string, readonly kind: string, readonly retryable: boolean) {
    super(message);
  }
}

export interface FetchOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
  /** Media types whose body is read (2xx only); undefined reads any. */
  accept?: readonly string[];
  /** Called with each redirect target before it is requested; throws to refuse it. */
  onRedirect: (to: string) => Promise<void>;
}

export interface FetchResult {
  /** Where the last hop was answered from. */
  url: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Decompressed; empty unless the status is 2xx. */
  body: Buffer;
}

export class Fetcher {
  private readonly agents: { http: http.Agent; https: https.Agent };

  constructor(guard: NetworkGuard, maxSockets: number) {
    const opts = { keepAlive: true, maxSockets, lookup: guard.lookup };
    this.agents = { http: new http.Agent(opts), https: new https.Agent(opts) };
  }

  async get(url: string, o: FetchOptions): Promise<FetchResult> {
    const deadline = Date.now() + o.timeoutMs;
    for (let hop = 0; ; hop++) {
      const res = await this.once(url, o, deadline);
      const location = res.status >= 300 && res.status < 400 && res.status !== 304 ? res.headers.location : undefined;
      if (!location) return res;
      if (hop >= MAX_REDIRECTS) throw new FetchError(`more than ${MAX_REDIRECTS} redirects from ${url}`, 'redirects', false);
      url = new URL(location, url).toString();
      await o.onRedirect(url);
    }
  }

  close(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private once(url: string, o: FetchOptions, deadline: number): Promise<FetchResult> {
    const u = new URL(url);
    const client = u.protocol === 'https:' ? https : http;
    const headers = { 'user-agent': USER_AGENT, accept: 'text/html,application/xhtml+xml;q=0.9,*/*;q=0.8', 'accept-encoding': 'gzip, deflate, br', ...o.headers };
    return new Promise<FetchResult>((resolve, reject) => {
      // Settles once; destroying the request also ends a body still being read.
      const timer = setTimeout(() => fail(new FetchError(`request timed out after ${o.timeoutMs / 1000} s`, 'timeout', true)), Math.max(1, deadline - Date.now()));
      const fail = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
        req.destroy();
      };
      const req = client.get(u, { headers, agent: u.protocol === 'https:' ? this.agents.https : this.agents.http }, (res) => {
        const status = res.statusCode ?? 0;
        const done = (body: Buffer) => {
          clearTimeout(timer);
          resolve({ url, status, headers: res.headers, body });
        };
        res.on('error', (e) => fail(e));
        if (status < 200 || status >= 300) {
          res.resume();
          return done(Buffer.alloc(0));
        }
        const type = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (o.accept && type && !o.accept.includes(type)) {
          return fail(new FetchError(`${url} served Content-Type ${type}, not one of ${o.accept.join(', ')}`, 'content_type', false));
        }
        if (Number(res.headers['content-length']) > o.maxBytes) return fail(tooLarge(url, o.maxBytes));
        readLimited(decompressed(res), o.maxBytes, url).then(done, fail);
      });
      req.on('error', fail);
    });
  }
}

function decompressed(res: http.IncomingMessage): Readable {
  const enc = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (enc === 'gzip' || enc === 'x-gzip' || enc === 'deflate') return res.pipe(zlib.createUnzip());
  if (enc === 'br') return res.pipe(zlib.createBrotliDecompress());
  return res;
}

async function readLimited(stream: Readable, maxBytes: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      stream.destroy();
      throw tooLarge(url, maxBytes);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(url: string, maxBytes: number): FetchError {
  return new FetchError(`${url} is larger than maxPageBytes (${maxBytes})`, 'too_large', false);
}
