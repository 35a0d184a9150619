/**
 * Writes WARC files by hand for the warc stage's tests: WARC/1.0 records (header block, CRLF, content, two
 * CRLFs), each gzipped on its own as Common Crawl does, so the file is a series of gzip members.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export interface WarcRecordSpec {
  type: 'warcinfo' | 'request' | 'response' | 'resource' | 'metadata' | 'conversion';
  uri?: string;
  date?: string;
  /** The record's own Content-Type (`application/http; msgtype=response` for responses). */
  contentType?: string;
  headers?: Record<string, string>;
  block: string | Buffer;
}

let serial = 0;

export function warcRecord(r: WarcRecordSpec): Buffer {
  const block = Buffer.isBuffer(r.block) ? r.block : Buffer.from(r.block, 'utf8');
  const id = `<urn:uuid:00000000-0000-4000-8000-${String(++serial).padStart(12, '0')}>`;
  const lines = [
    'WARC/1.0',
    `WARC-Type: ${r.type}`,
    `WARC-Record-ID: ${id}`,
    `WARC-Date: ${r.date ?? '2024-05-01T12:00:00Z'}`,
    ...(r.uri ? [`WARC-Target-URI: ${r.uri}`] : []),
    ...(r.contentType ? [`Content-Type: ${r.contentType}`] : []),
    ...Object.entries(r.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${block.length}`,
  ];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), block, Buffer.from('\r\n\r\n')]);
}

/** An HTTP/1.1 response message, as a response record's block. */
export function httpResponse(status: number, headers: Record<string, string>, body: string | Buffer): Buffer {
  const head = [`HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Status'}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8')]);
}

export function response(uri: string, status: number, headers: Record<string, string>, body: string | Buffer): WarcRecordSpec {
  return { type: 'response', uri, contentType: 'application/http; msgtype=response', block: httpResponse(status, headers, body) };
}

/** Write records to `file`, each its own gzip member when `gzip` (the default for .gz names). */
export function writeWarc(file: string, records: WarcRecordSpec[], gzip = file.endsWith('.gz')): void {
  fs.writeFileSync(file, Buffer.concat(records.map((r) => (gzip ? zlib.gzipSync(warcRecord(r)) : warcRecord(r)))));
}

export const ARTICLE = [
  'The old harbour of the town was rebuilt after the storm of 1953, when most of the wooden piers were destroyed in a single night.',
  'Engineers from the capital designed a new breakwater of granite blocks, and local masons spent four summers fitting the stones together by hand.',
  'Fishing families returned slowly; by the end of the decade the quay was again lined with boats, nets and the smell of tar.',
  'Today the harbour museum keeps the original drawings, together with photographs of the workers and the tools they used.',
];
export const page = (title: string, paragraphs: string[], lang = 'en') => `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${title}</title></head><body>
<header><a href="/">Coastal Times</a><form><input name="q" placeholder="Search"></form></header>
<nav><ul><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li><li><a href="/weather">Weather</a></li><li><a href="/travel">Travel</a></li></ul></nav>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
<main><article><h1>${title}</h1><p class="byline">By a staff writer</p>${paragraphs.map((p) => `<p>${p}</p>`).join('\n')}</article>
<aside class="sidebar"><div class="ad">Advertisement: Cheap flights to the sun, book now!</div><h3>Related</h3><ul><li><a href="/a">Ten best beaches</a></li><li><a href="/b">Storm warning issued</a></li></ul></aside></main>
<footer><p>© 2024 Coastal Times. All rights reserved.</p><a href="/privacy">Privacy policy</a> <a href="/terms">Terms of use</a></footer>
</body></html>`;

export const ZH = ['这座城市的老港口在一九五三年的风暴之后重建，当时大部分木制码头在一夜之间被摧毁。', '来自首都的工程师设计了新的花岗岩防波堤，当地的石匠花了四个夏天用手把石块拼接在一起。'];

/**
 * The sample files of the warc and extract tests under `dir`: crawl/a.warc.gz (warcinfo, request, five responses:
 * UTF-8, GBK declared only by <meta>, a 404, a PNG, a tiny page; a metadata record), crawl/a.warc.wet.gz (two
 * conversions, one empty), plain.wet (uncompressed) and broken.warc.gz (truncated).
 */
export function writeSampleWarcs(dir: string): void {
  fs.mkdirSync(path.join(dir, 'crawl'), { recursive: true });
  const gbk = encodeGbk(page('港口的历史', ZH, 'zh-CN').replace('<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=gbk">'));
  writeWarc(path.join(dir, 'crawl', 'a.warc.gz'), [
    { type: 'warcinfo', contentType: 'application/warc-fields', block: 'software: dapt-test\r\n' },
    { type: 'request', uri: 'https://example.org/harbour', contentType: 'application/http; msgtype=request', block: 'GET /harbour HTTP/1.1\r\nHost: example.org\r\n\r\n' },
    response('https://example.org/harbour', 200, { 'Content-Type': 'text/html; charset=utf-8' }, page('The old harbour', ARTICLE)),
    response('https://example.cn/gang', 200, { 'Content-Type': 'text/html' }, gbk),
    response('https://example.org/missing', 404, { 'Content-Type': 'text/html' }, '<html><body>Not found</body></html>'),
    response('https://example.org/logo.png', 200, { 'Content-Type': 'image/png' }, Buffer.from([0x89, 0x50, 0x4e, 0x47])),
    response('https://example.org/tiny', 200, { 'Content-Type': 'text/html' }, page('Tiny', ['Too short to keep.'])),
    { type: 'metadata', uri: 'https://example.org/harbour', contentType: 'application/warc-fields', block: 'fetchTimeMs: 120\r\n' },
  ]);
  writeWarc(path.join(dir, 'crawl', 'a.warc.wet.gz'), [
    { type: 'warcinfo', contentType: 'application/warc-fields', block: 'software: dapt-test\r\n' },
    { type: 'conversion', uri: 'https://example.org/harbour', contentType: 'text/plain', headers: { 'WARC-Identified-Content-Language': 'eng' }, block: `The old harbour\n${ARTICLE.join('\n')}` },
    { type: 'conversion', uri: 'https://example.org/empty', contentType: 'text/plain', block: '' },
  ]);
  writeWarc(path.join(dir, 'plain.wet'), [{ type: 'conversion', uri: 'https://example.cn/gang', contentType: 'text/plain', block: ZH.join('\n') }]);
  fs.writeFileSync(path.join(dir, 'broken.warc.gz'), Buffer.concat([fs.readFileSync(path.join(dir, 'crawl', 'a.warc.gz')).subarray(0, 300)]));
}

/** GBK bytes for the test page: Node has a GBK decoder but no encoder, so encode by inverting the decoder. */
function encodeGbk(s: string): Buffer {
  const dec = new TextDecoder('gbk');
  const table = new Map<string, number[]>();
  for (let hi = 0x81; hi <= 0xfe; hi++) {
    for (let lo = 0x40; lo <= 0xfe; lo++) {
      const ch = dec.decode(Uint8Array.of(hi, lo));
      if (ch.length === 1 && !table.has(ch)) table.set(ch, [hi, lo]);
    }
  }
  const out: number[] = [];
  for (const ch of s) out.push(...(ch.charCodeAt(0) < 0x80 ? [ch.charCodeAt(0)] : table.get(ch) ?? [0x3f]));
  return Buffer.from(out);
}
