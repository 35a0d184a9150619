/**
 * The crawl stage's web-facing features against scriptable local sites and a real MinIO: legacy charsets,
 * sitemaps, canonical links and URL normalization, retries and politeness, limits, the private-network guard on
 * redirects and DNS answers, and incremental recrawls with conditional requests.
 */
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { crawlStage } from '../activities/stages/crawl/run';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { encodeLegacy, html, startSite, type Answer } from './helpers/http-site';
import { makeStageContext, readOutput, startTestMinio, type TestMinio } from './helpers/stage-context';

let minio: TestMinio;
before(async () => {
  minio = await startTestMinio('crawl-features');
});
after(async () => {
  await minio?.stop();
});

function params(seed: string, over: Partial<StageParamsInput<'crawl'>> = {}) {
  return stageKinds.crawl.params.parse({
    seeds: [seed], maxPages: 100, maxDepth: 5, perHostConcurrency: 2, maxRetries: 2, retryBackoffMs: 20,
    requestTimeoutSecs: 5, allowPrivateNetworks: true, minChars: 10, shardSize: 100, ...over,
  });
}


const text = (s: string) => `${s} ${s} ${s}`;

describe('crawl stage features', () => {
  test('GBK by the HTTP header, Big5 by <meta http-equiv>, GB2312 by <meta charset>, GB18030 sniffed', async () => {
    const zh = '深度学习模型在领域语料上继续预训练，词汇和搭配都会改变。';
    const tw = '深度學習模型在領域語料上繼續預訓練，詞彙和搭配都會改變。';
    const page = (title: string, body: string, head = '') => `<html><head>${head}<title>${title}</title></head><body><main><p>${body}</p></main></body></html>`;
    const site = await startSite((r): Answer | undefined => {
      if (r.path === '/') return { body: html('Home', text('links to pages in four encodings'), ['/gbk', '/big5', '/gb2312', '/sniff']) };
      if (r.path === '/gbk') return { headers: { 'content-type': 'text/html; charset=GBK' }, body: encodeLegacy(page('GBK', zh), 'gbk') };
      const equiv = '<meta http-equiv="Content-Type" content="text/html; charset=big5">';
      if (r.path === '/big5') return { headers: { 'content-type': 'text/html' }, body: encodeLegacy(page('Big5', tw, equiv), 'big5') };
      if (r.path === '/gb2312') return { headers: { 'content-type': 'text/html' }, body: encodeLegacy(page('GB2312', zh, '<meta charset="gb2312">'), 'gbk') };
      if (r.path === '/sniff') return { headers: { 'content-type': 'text/html' }, body: encodeLegacy(page('Sniffed', zh.repeat(20)), 'gbk') };
      return undefined;
    });
    try {
      const store = await minio.freshStore();
      const out = await crawlStage.run!(makeStageContext({ store, params: params(`${site.origin}/`) }).ctx);
      const docs = new Map((await readOutput(store, out)).map((d) => [new URL(d.source).pathname, d]));
      assert.ok(docs.get('/gbk')!.text.includes(zh), docs.get('/gbk')!.text);
      assert.ok(docs.get('/big5')!.text.includes(tw), docs.get('/big5')!.text);
      assert.ok(docs.get('/gb2312')!.text.includes(zh));
      assert.ok(docs.get('/sniff')!.text.includes(zh));
      assert.deepEqual(['/gbk', '/big5', '/gb2312', '/sniff'].map((p) => docs.get(p)!.metadata.encoding), ['gbk', 'big5', 'gbk', 'gb18030']);
    } finally {
      await site.close();
    }
  });

  test('sitemaps from robots.txt (index → gzipped urlset) find pages linked from nowhere', async () => {
    let origin = '';
    const urlset = (paths: string[]) =>
      `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">${paths
        .map((p) => `<url><loc>${origin}${p}</loc><lastmod>2020-01-01</lastmod></url>`)
        .join('')}</urlset>`;
    const site = await startSite((r) => {
      if (r.path === '/robots.txt') return { headers: { 'content-type': 'text/plain' }, body: `User-agent: *\nDisallow: /hidden/\nSitemap: ${origin}/sitemap-index.xml\n` };
      if (r.path === '/sitemap-index.xml') {
        return { headers: { 'content-type': 'application/xml' }, body: `<sitemapindex><sitemap><loc>${origin}/pages.xml.gz</loc></sitemap></sitemapindex>` };
      }
      if (r.path === '/pages.xml.gz') return { headers: { 'content-type': 'application/gzip' }, body: zlib.gzipSync(urlset(['/orphan/1', '/orphan/2?utm_source=x&amp;b=2&amp;a=1', '/hidden/3'])) };
      if (r.path === '/') return { body: html('Home', text('the home page links to nothing')) };
      if (r.path.startsWith('/orphan/')) return { body: html(`Orphan ${r.url}`, text('reachable only through the sitemap')) };
      return undefined;
    });
    origin = site.origin;
    try {
      const store = await minio.freshStore();
      const out = await crawlStage.run!(makeStageContext({ store, params: params(`${site.origin}/`) }).ctx);
      const sources = (await readOutput(store, out)).map((d) => d.source);
      assert.deepEqual(sources, [`${origin}/`, `${origin}/orphan/1`, `${origin}/orphan/2?a=1&b=2`]);
      assert.equal(out.metrics!.sitemapUrls, 3);
      assert.equal(out.metrics!.sitemapFiles, 2);
      assert.equal(out.metrics!.skippedByRobots, 1, 'a sitemap entry disallowed by robots.txt is not fetched');
      assert.equal(site.count('/hidden/3'), 0);
      assert.equal(site.count('/sitemap.xml'), 0, 'robots.txt named the sitemap');

      // An incremental rerun trusts the sitemap's lastmod (older than the last fetch): the orphans are not asked for.
      const again = await crawlStage.run!(makeStageContext({ store, params: params(`${site.origin}/`, { incremental: true }), run: 'run-2' }).ctx);
      assert.equal(site.count('/orphan/1'), 1);
      assert.equal(site.count('/orphan/2'), 1);
      assert.equal(again.metrics!.notModified, 2);
      assert.deepEqual(again.metrics!.removedUrls, []);
    } finally {
      await site.close();
    }
  });

  test('canonical links and redirects: one document per canonical URL; tracking parameters and fragments normalized away', async () => {
    const canon = (p: string) => `<link rel="canonical" href="${p}">`;
    const site = await startSite((r) => {
      if (r.path === '/') return { body: html('Home', text('home page'), ['/article/1', '/print/1', '/article?id=1&utm_medium=mail#top', '/article?id=1&fbclid=abc', '/moved', '/other']) };
      if (r.path === '/moved') return { status: 301, headers: { location: '/article/1' } };
      if (r.path === '/article/1') return { body: html('Article', text('the article body'), [], canon('/article/1')) };
      if (r.path === '/print/1' || r.path === '/article') return { body: html('Article', text('the article body'), [], canon('/article/1')) };
      if (r.path === '/other') return { body: html('Other', text('another article')) };
      return undefined;
    });
    try {
      const store = await minio.freshStore();
      const out = await crawlStage.run!(makeStageContext({ store, params: params(`${site.origin}/`) }).ctx);
      const docs = await readOutput(store, out);
      assert.deepEqual(docs.map((d) => new URL(d.source).pathname), ['/', '/article/1', '/other']);
      assert.equal(site.requests.filter((r) => r.path === '/article').length, 1, 'the tracking-parameter variants are one URL');
      assert.equal(site.requests.find((r) => r.path === '/article')!.url, '/article?id=1');
      assert.ok((out.metrics!.canonicalDuplicates as number) >= 1);
    } finally {
      await site.close();
    }
  });

  test('maxBytes stops taking new pages once the body bytes read reach it', async () => {
    const site = await startSite((r) => {
      const m = /^\/p\/(\d+)$/.exec(r.path);
      if (r.path === '/' || m) return { body: html(`P ${r.path}`, 'y '.repeat(2000), Array.from({ length: 20 }, (_, i) => `/p/${i}`)) };
      return undefined;
    });
    try {
      const store = await minio.freshStore();
      const out = await crawlStage.run!(makeStageContext({ store, params: params(`${site.origin}/`, { perHostConcurrency: 1, maxBytes: 20_000 }) }).ctx);
      const pageBytes = (out.metrics!.bytes as number) / (out.metrics!.pages as number);
      assert.ok((out.metrics!.bytes as number) >= 20_000 && (out.metrics!.bytes as number) < 20_000 + pageBytes + 1, String(out.metrics!.bytes));
      assert.ok((out.metrics!.pages as number) < 21);
    } finally {
      await site.close();
    }
  });

  test('retries on 408/429/503 with backoff and Retry-After; Crawl-delay; size and content-type limits', async () => {
    const seen = new Map<string, number>();
    const site = await startSite((r) => {
      const n = (seen.get(r.path) ?? 0) + 1;
      seen.set(r.path, n);
      if (r.path === '/robots.txt') return { headers: { 'content-type': 'text/plain' }, body: 'User-agent: *\nCrawl-delay: 0.2\n' };
      if (r.path === '/') return { body: html('Home', text('home'), ['/busy', '/unavailable', '/timeout408', '/big', '/data.json', '/gone']) };
      if (r.path === '/busy' && n === 1) return { status: 429, headers: { 'retry-after': '1' }, body: 'slow down' };
      if (r.path === '/unavailable' && n <= 2) return { status: 503, body: 'later' };
      if (r.path === '/timeout408' && n === 1) return { status: 408, body: 'again' };
      if (r.path === '/big') return { body: html('Big', 'x'.repeat(200_000)) };
      if (r.path === '/data.json') return { headers: { 'content-type': 'application/json' }, body: '{}' };
      if (r.path === '/gone') return { status: 410, body: 'gone' };
      if (['/busy', '/unavailable', '/timeout408'].includes(r.path)) return { body: html(r.path, text('finally served')) };
      return undefined;
    });
    try {
      const store = await minio.freshStore();
      const out = await crawlStage.run!(makeStageContext({ store, params: params(`${site.origin}/`, { maxPageBytes: 100_000 }) }).ctx);
      assert.deepEqual((await readOutput(store, out)).map((d) => new URL(d.source).pathname), ['/', '/busy', '/timeout408', '/unavailable']);
      assert.deepEqual(out.metrics!.failed, { too_large: 1, content_type: 1, http_410: 1 });
      assert.equal(out.metrics!.retries, 4);
      const busy = site.requests.filter((r) => r.path === '/busy');
      assert.ok(busy[1].at - busy[0].at >= 950, `Retry-After honoured (${busy[1].at - busy[0].at} ms)`);
      const pages = site.requests.filter((r) => r.path !== '/robots.txt' && r.path !== '/sitemap.xml').map((r) => r.at);
      for (let i = 1; i < pages.length; i++) assert.ok(pages[i] - pages[i - 1] >= 180, `Crawl-delay: gap ${pages[i] - pages[i - 1]} ms`);
    } finally {
      await site.close();
    }
  });
});
