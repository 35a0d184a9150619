/**
 * Unit tests of the crawl stage's pure parts: URL normalization, charset detection, sitemap parsing,
 * Retry-After, the link scanner and the snapshot diff. No server, no store.
 */
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { describe, test } from 'node:test';
import { decodeBody, prescanCharset } from '../activities/stages/crawl/decode';
import { scanLinks } from '../activities/stages/crawl/links';
import { normalizeUrl } from '../activities/stages/crawl/normalize';
import { retryAfterMs } from '../activities/stages/crawl/polite-client';
import { parseSitemap } from '../activities/stages/crawl/sitemaps';
import { nextSnapshot, removedDocs } from '../activities/stages/crawl/snapshot';
import type { PageEntry } from '../activities/stages/crawl/ledger';
import { encodeLegacy } from './helpers/http-site';

describe('URL normalization', () => {
  const cases: [string, string | undefined][] = [
    ['HTTP://Example.COM:80/a/./b/../c', 'http://example.com/a/c'],
    ['https://example.com:443/', 'https://example.com/'],
    ['https://example.com:8443/x', 'https://example.com:8443/x'],
    ['http://example.com/page#section', 'http://example.com/page'],
    ['http://example.com/?b=2&a=1&a=0', 'http://example.com/?a=1&a=0&b=2'],
    ['http://example.com/p?utm_source=x&utm_Medium=y&id=3&gclid=z&fbclid=w&msclkid=v', 'http://example.com/p?id=3'],
    ['http://example.com/p?utm_source=x', 'http://example.com/p'],
    ['http://example.com/p?', 'http://example.com/p'],
    ['http://example.com/%7euser/%2fx?q=%e4%b8%ad', 'http://example.com/~user/%2Fx?q=%E4%B8%AD'],
    ['http://user:pw@example.com./a', 'http://example.com/a'],
    ['http://例子.测试/路径', 'http://xn--fsqu00a.xn--0zwm56d/%E8%B7%AF%E5%BE%84'],
    ['mailto:someone@example.com', undefined],
    ['javascript:void(0)', undefined],
    ['ftp://example.com/file', undefined],
  ];
  for (const [input, expected] of cases) test(input, () => assert.equal(normalizeUrl(input), expected));

  test('relative links resolve against a base', () => {
    assert.equal(normalizeUrl('../x?b=1&a=2#f', 'http://h.test/dir/sub/page'), 'http://h.test/dir/x?a=2&b=1');
    assert.equal(normalizeUrl('  /y  ', 'https://h.test/a'), 'https://h.test/y');
    assert.equal(normalizeUrl('//other.test/z', 'https://h.test/a'), 'https://other.test/z');
  });
});

describe('charset detection', () => {
  const zh = '领域自适应预训练';
  test('header, meta, XML declaration, BOM, sniffing', () => {
    assert.equal(decodeBody(encodeLegacy(zh, 'gbk'), 'text/html; charset="GB2312"').text, zh);
    assert.equal(prescanCharset(Buffer.from('<html><head><meta charset=big5></head>')), 'big5');
    assert.equal(prescanCharset(Buffer.from('<!-- <meta charset=koi8-r> --><meta http-equiv="content-type" content="text/html;charset=gbk">')), 'gbk');
    assert.equal(prescanCharset(Buffer.from('<?xml version="1.0" encoding="Big5"?><urlset/>')), 'Big5');
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(zh)]);
    assert.deepEqual(decodeBody(bom, 'text/html; charset=gbk'), { text: zh, encoding: 'utf-8', source: 'bom' });
    assert.equal(decodeBody(Buffer.from(zh)).source, 'sniffed');
    const sentence = '深度学习模型在领域语料上继续预训练，词汇和搭配都会改变。';
    assert.deepEqual(decodeBody(encodeLegacy(sentence, 'gbk'), 'text/html'), { text: sentence, encoding: 'gb18030', source: 'sniffed' });
    const unknown = decodeBody(Buffer.from('<p>caf\xe9</p>', 'latin1'), 'text/html; charset=x-no-such');
    assert.ok(unknown.text.includes('café'), unknown.text);
  });
});

describe('sitemaps, Retry-After, links, snapshots', () => {
  test('parseSitemap: urlset and index, gzip, entities, CDATA, lastmod', () => {
    const xml = '<urlset><url><loc>http://h.test/a?x=1&amp;y=2</loc><lastmod>2024-05-01</lastmod></url><url><loc><![CDATA[http://h.test/b]]></loc></url></urlset>';
    assert.deepEqual(parseSitemap(zlib.gzipSync(xml)).pages, [{ url: 'http://h.test/a?x=1&y=2', lastmod: '2024-05-01' }, { url: 'http://h.test/b' }]);
    const index = '<sm:sitemapindex xmlns:sm="x"><sm:sitemap><sm:loc>http://h.test/s1.xml.gz</sm:loc></sm:sitemap></sm:sitemapindex>';
    assert.deepEqual(parseSitemap(Buffer.from(index)), { pages: [], sitemaps: [{ url: 'http://h.test/s1.xml.gz' }] });
  });

  test('retryAfterMs: seconds or an HTTP date', () => {
    assert.equal(retryAfterMs('3'), 3000);
    assert.equal(retryAfterMs('Wed, 01 Jan 2025 00:00:10 GMT', Date.parse('Wed, 01 Jan 2025 00:00:00 GMT')), 10_000);
    assert.equal(retryAfterMs('soon'), undefined);
    assert.equal(retryAfterMs(undefined), undefined);
  });

  test('scanLinks: anchors, base, canonical, robots meta', () => {
    const page = '<head><base href="/b/"><link rel="Canonical" href="/c"><meta name="robots" content="NOINDEX"></head><a href="x">x</a><area href="y">';
    assert.deepEqual(scanLinks(page), { hrefs: ['x', 'y'], baseHref: '/b/', canonical: '/c', noindex: true, nofollow: false });
    assert.deepEqual(scanLinks('<meta name=robots content="none"><a href=x>').hrefs, []);
  });

  test('snapshot diff: gone and non-transient failures are removed; unvisited and transient failures kept', () => {
    const prev = {
      'http://h/a': { depth: 0, fetchedAt: 't', doc: 'http://h/a' },
      'http://h/b': { depth: 1, fetchedAt: 't', doc: 'http://h/b' },
      'http://h/c': { depth: 1, fetchedAt: 't', doc: 'http://h/c' },
      'http://h/d': { depth: 1, fetchedAt: 't', doc: 'http://h/d' },
      'http://h/e': { depth: 1, fetchedAt: 't', doc: 'http://h/e' },
    };
    const e = (url: string, outcome: PageEntry['outcome'], failure?: string): PageEntry => ({ url, depth: 1, fetchedAt: 'u', outcome, bytes: 0, outlinks: [], ...(failure ? { failure } : {}) });
    const done = new Map([e('http://h/a', 'not_modified'), e('http://h/b', 'failed', 'http_404'), e('http://h/c', 'failed', 'timeout')].map((x) => [x.url, x]));
    const next = nextSnapshot(prev, done, (x) => (x.outcome === 'stored' ? x.url : undefined), new Set(['http://h/e']));
    assert.deepEqual(Object.keys(next).sort(), ['http://h/a', 'http://h/c', 'http://h/d']);
    assert.deepEqual(removedDocs(prev, next), ['http://h/b', 'http://h/e']);
  });
});
