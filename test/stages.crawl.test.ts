/**
 * The crawl stage against a local test site and a real MinIO: robots.txt, allow/deny, retries, limits,
 * politeness, the private-network guard, and resuming after a crash without fetching any page twice.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readDocuments } from '../activities/documents';
import { ConfigError } from '../activities/errors';
import { crawlStage } from '../activities/stages/crawl/run';
import { CrawlLedger, crawlLedgerPrefix } from '../activities/stages/crawl/ledger';
import { isPrivateAddress } from '../activities/stages/crawl/network-guard';
import type { StageOutput } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import type { DocumentRecordT } from '../schemas/manifest';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';
import { SITE_PAGES, startTestSite, type TestSite } from './helpers/test-site';
import { tempDir } from './helpers/tmp';

let minio: TestMinio;

before(async () => {
  minio = await startTestMinio('stages-crawl');
});
after(async () => {
  await minio?.stop();
});

function crawlParams(site: TestSite, over: Partial<StageParamsInput<'crawl'>> = {}) {
  return stageKinds.crawl.params.parse({
    seeds: [`${site.origin}/`],
    // `*` stays in one segment: /outside/x is not allowed, and /p/29 is denied.
    allow: [`${site.host}/*`, `${site.host}/p/*`, `${site.host}/private/*`],
    deny: [`${site.host}/p/29`],
    maxPages: 100,
    maxDepth: 10,
    perHostConcurrency: 2,
    maxRetries: 3,
    requestTimeoutSecs: 5,
    allowPrivateNetworks: true,
    minChars: 50,
    shardSize: 10,
    ...over,
  });
}

async function documents(store: ArtifactStore, out: StageOutput): Promise<DocumentRecordT[]> {
  const input = await publishAsInput(store, 'crawl', out);
  const docs: DocumentRecordT[] = [];
  for await (const d of readDocuments(store, input.manifest)) docs.push(d);
  return docs;
}

/** Every URL the full crawl stores: the home page, /p/0../p/28 (29 denied) and /flaky. */
function expectedUrls(site: TestSite): string[] {
  const paths = ['/', '/flaky', ...Array.from({ length: SITE_PAGES - 1 }, (_, i) => `/p/${i}`)];
  return paths.map((p) => `${site.origin}${p}`).sort();
}

describe('crawl stage', () => {
  test('full crawl: robots.txt, allow/deny, retries on 500, short pages, 404, refused redirect', async () => {
    const site = await startTestSite();
    try {
      const store = await minio.freshStore();
      const out = await crawlStage.run!(makeStageContext({ store, params: crawlParams(site) }).ctx);
      const docs = await documents(store, out);
      assert.deepEqual(docs.map((d) => d.source), expectedUrls(site), 'every page once, sorted by URL');
      assert.ok(docs.every((d) => d.text.includes('enough words')), 'main text extracted');
      assert.equal(docs.find((d) => d.source === `${site.origin}/p/3`)?.metadata.depth, 1);

      assert.equal(site.counts.get('/private/secret'), undefined, 'robots.txt Disallow honoured');
      assert.equal(site.counts.get('/outside/x'), undefined, 'neither linked nor redirected pages outside allow');
      assert.equal(site.counts.get('/p/29'), undefined, 'denied');
      assert.equal(site.counts.get('/flaky'), 3, 'two 500s, then a 200');
      assert.equal(site.counts.get('/redirect-out'), 1, 'a refused redirect is not retried');
      for (const [path, n] of site.counts) if (path !== '/flaky' && path !== '/robots.txt') assert.equal(n, 1, path);

      const m = out.metrics!;
      assert.equal(m.pages, 34);
      assert.equal(m.documents, 31);
      assert.equal(m.dropped, 1);
      assert.deepEqual(m.failed, { http_404: 1, blocked: 1 });
      assert.equal(m.skippedByRobots, 1);
      assert.ok((m.bytes as number) > 0 && (m.pagesPerSec as number) > 0);
      assert.ok(site.maxInFlight <= 2, `per-host concurrency ${site.maxInFlight}`);
    } finally {
      await site.close();
    }
  });

  test('a request timeout is retried', async () => {
    const site = await startTestSite();
    try {
      const store = await minio.freshStore();
      const params = crawlParams(site, { seeds: [`${site.origin}/slow`], requestTimeoutSecs: 1, maxDepth: 0 });
      const out = await crawlStage.run!(makeStageContext({ store, params }).ctx);
      assert.equal(site.counts.get('/slow'), 2);
      assert.deepEqual((await documents(store, out)).map((d) => d.metadata.title), ['Slow']);
      assert.deepEqual(out.metrics!.failed, {});
    } finally {
      await site.close();
    }
  });

  test('maxDepth and maxPages limit the crawl; delayMs spaces requests to a host', async () => {
    const site = await startTestSite();
    try {
      const store = await minio.freshStore();
      const shallow = await crawlStage.run!(makeStageContext({ store, params: crawlParams(site, { maxDepth: 2 }), run: 'depth' }).ctx);
      // depth 0: /; depth 1: /p/0-4, /flaky, /short, /missing, /redirect-out; depth 2: /p/5-9.
      assert.equal(shallow.metrics!.pages, 1 + 9 + 5);
      assert.equal(site.counts.get('/p/10'), undefined);

      const starts = site.starts.length;
      const few = await crawlStage.run!(
        makeStageContext({ store, params: crawlParams(site, { maxPages: 5, delayMs: 150 }), run: 'pages' }).ctx,
      );
      assert.equal(few.metrics!.pages, 5);
      const times = site.starts.slice(starts);
      assert.equal(times.length, 5, 'no request beyond maxPages');
      for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 120, `gap ${times[i] - times[i - 1]}ms`);
    } finally {
      await site.close();
    }
  });

  test('resume after crashes: no page fetched twice, every record exactly once', async () => {
    const site = await startTestSite({ latencyMs: 15 });
    try {
      const store = await minio.freshStore();
      const params = crawlParams(site);
      const attempt = (n: number, resumeFrom: unknown, crashAfter?: number) => {
        const t = makeStageContext({ store, params, run: 'resume', stage: 'crawl', attempt: n, resumeFrom });
        site.onServed = crashAfter === undefined ? undefined : (served) => served >= crashAfter && t.controller.abort();
        return { t, result: crawlStage.run!(t.ctx) };
      };

      // Attempt 1 dies after 8 pages; attempt 2 dies too and its heartbeat is lost (no checkpoint reaches
      // attempt 3, which gets attempt 1's stale one instead).
      const a1 = attempt(1, undefined, 8);
      await assert.rejects(a1.result, /abort/i);
      const checkpoint1 = a1.t.lastCheckpoint();
      assert.ok(checkpoint1, 'attempt 1 heartbeated a checkpoint');
      const after1 = site.served;
      assert.ok(after1 < 34, `attempt 1 stopped early (${after1} responses)`);

      const a2 = attempt(2, checkpoint1, after1 + 10);
      await assert.rejects(a2.result, /abort/i);
      assert.ok(site.served < 36, 'attempt 2 stopped early too');

      const a3 = attempt(3, checkpoint1);
      const out = await a3.result;
      const docs = await documents(store, out);
      assert.deepEqual(docs.map((d) => d.source), expectedUrls(site));
      assert.equal(new Set(docs.map((d) => d.id)).size, docs.length);
      for (const [path, n] of site.counts) {
        if (path === '/robots.txt') continue;
        assert.equal(n, path === '/flaky' ? 3 : 1, `${path} requested ${n} times`);
      }
      assert.equal(out.metrics!.pages, 34);
      assert.ok((out.metrics!.fetchedThisAttempt as number) < 34, 'attempt 3 continued, it did not start over');
      assert.ok(site.counts.get('/robots.txt')! >= 3, 'robots.txt is fetched again by each attempt');
    } finally {
      await site.close();
    }
  });

  test('resume after the worker process is SIGKILLed: stored pages are never requested again', async () => {
    const site = await startTestSite({ latencyMs: 20 });
    try {
      const store = await minio.freshStore();
      const params = crawlParams(site);
      const input = JSON.stringify({ store: store.config, params, run: 'kill', stage: 'crawl', workDir: tempDir('crawl-child') });
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'helpers', 'crawl-child.ts'), input], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let checkpoint: unknown;
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (buffered + chunk.toString()).split('\n');
        buffered = lines.pop()!;
        for (const l of lines) checkpoint = (JSON.parse(l) as { checkpoint?: unknown }).checkpoint ?? checkpoint;
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      site.onServed = (served) => served >= 10 && child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      site.onServed = undefined;
      await new Promise((r) => setTimeout(r, 300)); // a PUT the child had fully sent may still land

      const countsAtKill = new Map(site.counts);
      const stored = (await new CrawlLedger(store, crawlLedgerPrefix('kill', 'crawl')).loadAll()).map((e) => new URL(e.url).pathname);
      assert.ok(stored.length >= 5 && stored.length < 34, `${stored.length} pages in the ledger at the kill`);
      assert.ok(checkpoint, 'the child heartbeated a checkpoint');

      const t = makeStageContext({ store, params, run: 'kill', stage: 'crawl', attempt: 2, resumeFrom: checkpoint });
      const out = await crawlStage.run!(t.ctx);
      assert.deepEqual((await documents(store, out)).map((d) => d.source), expectedUrls(site), 'every record exactly once');
      for (const p of stored) assert.equal(site.counts.get(p), countsAtKill.get(p), `${p} was stored, yet requested again`);
      // Only pages in flight at the kill (fetched, not yet stored) may be fetched a second time.
      const again = [...site.counts].filter(([p, n]) => p !== '/robots.txt' && p !== '/flaky' && n > 1).map(([p]) => p);
      assert.ok(again.length <= params.perHostConcurrency, `refetched: ${again.join(', ')}`);
      assert.ok(again.every((p) => !stored.includes(p)));
      assert.equal(out.metrics!.pages, 34);
    } finally {
      await site.close();
    }
  });

  test('private targets are refused unless allowPrivateNetworks', async () => {
    const site = await startTestSite();
    try {
      const store = await minio.freshStore();
      for (const seed of [`${site.origin}/`, `http://localhost:${site.host.split(':')[1]}/`]) {
        const params = crawlParams(site, { seeds: [seed], allow: [], allowPrivateNetworks: false });
        await assert.rejects(crawlStage.run!(makeStageContext({ store, params }).ctx), (e: Error) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.match(e.message, /resolves to (127\.0\.0\.1|::1), a loopback\/private\/link-local address.*allowPrivateNetworks/);
          return true;
        });
      }
      assert.equal(site.served, 0, 'nothing was fetched');
      for (const ip of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1']) {
        assert.ok(isPrivateAddress(ip), ip);
      }
      for (const ip of ['8.8.8.8', '1.1.1.1', '2606:4700::1111', '172.32.0.1']) assert.ok(!isPrivateAddress(ip), ip);
    } finally {
      await site.close();
    }
  });
});
