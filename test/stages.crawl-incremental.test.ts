/**
 * Incremental recrawls (conditional requests against the previous snapshot, only new or changed documents,
 * removed URLs) and the private-network guard on redirects and DNS answers, against local sites and MinIO.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { crawlStage, createCrawlStage } from '../activities/stages/crawl/run';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { html, startSite } from './helpers/http-site';
import { makeStageContext, readOutput, startTestMinio, type TestMinio } from './helpers/stage-context';

let minio: TestMinio;
before(async () => {
  minio = await startTestMinio('crawl-incremental');
});
after(async () => {
  await minio?.stop();
});

function params(seed: string, over: Partial<StageParamsInput<'crawl'>> = {}) {
  return stageKinds.crawl.params.parse({
    seeds: [seed], maxPages: 100, maxDepth: 5, perHostConcurrency: 2, maxRetries: 1, retryBackoffMs: 20,
    requestTimeoutSecs: 5, allowPrivateNetworks: true, minChars: 10, ...over,
  });
}


describe('incremental crawl', () => {
  test('a rerun sends conditional requests and emits only new or changed documents, and lists removed URLs', async () => {
    const body: Record<string, string | undefined> = {
      '/': html('Home', 'The home page of a small site that changes slowly.', ['/a', '/b', '/c', '/plain']),
      '/a': html('A', 'Page A says something that will not change.'),
      '/b': html('B', 'Page B, first version of its text.'),
      '/c': html('C', 'Page C exists for now, but not for long.'),
      '/plain': html('Plain', 'A page served without any validators.'),
    };
    const modified = 'Wed, 01 Jan 2025 00:00:00 GMT';
    const site = await startSite((r) => {
      const b = body[r.path];
      if (b === undefined) return undefined;
      if (r.path === '/plain') return { body: b };
      const etag = `"${createHash('sha1').update(b).digest('hex').slice(0, 12)}"`;
      if (r.headers['if-none-match'] === etag) return { status: 304, headers: { etag } };
      return { body: b, headers: { etag, 'last-modified': modified } };
    });
    try {
      const store = await minio.freshStore();
      const crawl = async (run: string) => {
        const t = makeStageContext({ store, params: params(`${site.origin}/`, { incremental: true }), run, stage: 'crawl' });
        const out = await crawlStage.run!(t.ctx);
        return { out, docs: (await readOutput(store, out)).map((d) => new URL(d.source).pathname) };
      };
      const first = await crawl('r1');
      assert.deepEqual(first.docs, ['/', '/a', '/b', '/c', '/plain']);
      assert.equal(first.out.metrics!.new, 5);

      const before2 = site.requests.length;
      const second = await crawl('r2');
      const pages = site.requests.slice(before2).filter((r) => body[r.path] !== undefined);
      assert.equal(pages.length, 5, 'each page asked once');
      for (const r of pages.filter((p) => p.path !== '/plain')) {
        assert.match(String(r.headers['if-none-match']), /^"[0-9a-f]+"$/, `${r.path} conditional`);
        assert.equal(r.headers['if-modified-since'], modified);
      }
      assert.deepEqual(second.docs, [], 'nothing new');
      assert.equal(second.out.metrics!.notModified, 4);
      assert.equal(second.out.metrics!.unchanged, 1, '/plain: same text, no validators');
      assert.deepEqual(second.out.metrics!.removedUrls, []);

      body['/b'] = html('B', 'Page B, second version: the text changed.');
      body['/c'] = undefined;
      const third = await crawl('r3');
      assert.deepEqual(third.docs, ['/b'], 'exactly the changed page');
      assert.equal(third.out.metrics!.changed, 1);
      assert.deepEqual(third.out.metrics!.removedUrls, [`${site.origin}/c`]);
      const removedFile = third.out.files.find((f) => f.name === 'removed-urls.json');
      assert.ok(removedFile, 'removed URLs are a file of the output');
      const removed = await new Promise<string>((resolve) => {
        let s = '';
        void store.getStream(removedFile.key).then((st) => st.on('data', (c: Buffer) => (s += c.toString())).on('end', () => resolve(s)));
      });
      assert.deepEqual(JSON.parse(removed), { removed: [`${site.origin}/c`] });

      // A retry of run r3 (after it moved the snapshot pointer) still compares against r2's snapshot.
      const retry = await crawl('r3');
      assert.deepEqual(retry.docs, ['/b']);
    } finally {
      await site.close();
    }
  });
});

describe('private networks', () => {
  test('redirects to 127.0.0.1, and names resolving to private addresses, are refused', async () => {
    const site = await startSite((r) => {
      const port = String(r.headers.host).split(':')[1];
      if (r.path === '/robots.txt') return { status: 404, body: '' };
      if (r.path === '/') return { body: html('Home', 'A public page with links.', ['/ok', '/to-loopback', '/to-private-name', `http://rebind.test:${port}/x`]) };
      if (r.path === '/ok') return { body: html('OK', 'A page that may be crawled.') };
      if (r.path === '/to-loopback') return { status: 302, headers: { location: `http://127.0.0.1:${port}/secret` } };
      if (r.path === '/to-private-name') return { status: 302, headers: { location: `http://intranet.test:${port}/secret` } };
      if (r.path === '/secret' || r.path === '/x') return { body: html('Secret', 'Must never be fetched.') };
      return undefined;
    });
    // site.test and rebind.test look public to the guard (TEST-NET-3); the translation dials the local server.
    // intranet.test resolves to 10.0.0.7; rebind.test answers 203.0.113.11 once, then 127.0.0.1.
    let rebinds = 0;
    const resolve = async (host: string): Promise<string[]> => {
      if (host === 'site.test') return ['203.0.113.10'];
      if (host === 'intranet.test') return ['10.0.0.7'];
      if (host === 'rebind.test') return [rebinds++ === 0 ? '203.0.113.11' : '127.0.0.1'];
      throw Object.assign(new Error(`${host} not found`), { code: 'ENOTFOUND' });
    };
    const translate = (a: string) => (a.startsWith('203.0.113.') ? '127.0.0.1' : a);
    try {
      const store = await minio.freshStore();
      const seed = `http://site.test:${site.port}/`;
      const allow = [`site.test:${site.port}/**`, `127.0.0.1:${site.port}/**`, `intranet.test:${site.port}/**`, `rebind.test:${site.port}/**`];
      const p = params(seed, { allow, allowPrivateNetworks: false, sitemaps: false });
      const out = await createCrawlStage({ resolve, translate }).run!(makeStageContext({ store, params: p }).ctx);
      assert.deepEqual((await readOutput(store, out)).map((d) => d.source), [seed, `${seed}ok`]);
      assert.equal(site.count('/secret'), 0, 'no redirect reached a private address');
      // rebind.test passed the check when its link was queued; its robots.txt connection got 127.0.0.1 and was refused.
      assert.equal(site.requests.filter((r) => String(r.headers.host).startsWith('rebind.test')).length, 0, 'rebinding caught at connect');
      assert.equal(out.metrics!.skippedRobotsUnavailable, 1);
      assert.equal(site.count('/to-loopback'), 1, 'a refused redirect is not retried');
      assert.deepEqual(out.metrics!.failed, { blocked: 2 });
    } finally {
      await site.close();
    }
  });
});
