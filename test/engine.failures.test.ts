/** Real failures injected into real servers: MinIO stopped mid-run, a worker process SIGKILLed mid-crawl. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { readDocuments } from '../activities/documents';
import { getRunStatus, startRun, waitForRun } from '../client/runs';
import { configEnv, type DaptConfig } from '../config';
import { plan, waitFor } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { SITE_PAGES, startTestSite } from './helpers/test-site';

let stack: Stack;
before(async () => {
  stack = await startStack('failures');
});
after(async () => {
  await stack?.stop();
});

test('MinIO stopped mid-run and restarted: stages retry and the run completes with intact artifacts', async () => {
  const cfg = stack.config('minio');
  await stack.workers(cfg, ['cpu']);
  const corpus = path.join(stack.dir, 'minio-corpus');
  fs.mkdirSync(corpus);
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(corpus, `d${i}.txt`), `clause ${i % 15} of the agreement\n`);
  const p = plan({
    name: 'minio-outage',
    defaults: { retry: { maxAttempts: 30, initialInterval: '300ms', maxInterval: '1s' } },
    stages: {
      wait: { uses: 'noop', with: { sleepMs: 1500 } },
      src: { uses: 'source', needs: ['wait'], with: { paths: [corpus], shardSize: 5 } },
      dedupe: { uses: 'dedupe', needs: ['src'] },
    },
  });
  const run = await startRun(stack.client, cfg, p);
  await waitFor('stage wait running', async () => (await getRunStatus(stack.client, run.workflowId)).stages.wait.state === 'running');
  await stack.minio.stop();
  // While MinIO is down the first attempt of `wait` cannot publish its manifest: it must retry.
  await waitFor('a failed attempt', async () => (await getRunStatus(stack.client, run.workflowId)).stages.wait.attempt >= 2, 30_000);
  await stack.minio.restart();
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  assert.ok(res.status.stages.wait.attempt >= 2, `wait took ${res.status.stages.wait.attempt} attempts`);
  const store = stack.store(cfg);
  const m = (await store.readManifest(res.status.stages.dedupe.digest!))!;
  assert.ok(await store.verifyManifest(m));
  let n = 0;
  for await (const _ of readDocuments(store, m)) n++;
  assert.equal(n, 15);
});

function spawnWorker(cfg: DaptConfig, logFile: string): ChildProcess {
  const env = { ...process.env, ...configEnv(cfg) };
  const out = fs.openSync(logFile, 'a');
  const bin = path.join(__dirname, '..', 'bin', 'dapt.js');
  return spawn(process.execPath, [bin, 'worker', '--queue', 'cpu', '--no-workflows'], { env, stdio: ['ignore', out, out] });
}

test('SIGKILL of the worker mid-crawl: a new worker resumes from the frontier, no stored page fetched again, no record lost or duplicated', async () => {
  const cfg = stack.config('crash');
  await stack.workers(cfg, []); // workflows only, in this process; the crawl runs in a separate worker process
  const site = await startTestSite({ latencyMs: 120 });
  try {
    const p = plan({
      name: 'crash',
      stages: {
        crawl: {
          uses: 'crawl',
          timeout: { heartbeat: '3s' },
          retry: { initialInterval: '200ms' },
          with: { seeds: [`${site.origin}/`], allow: [`${site.host}/**`], deny: [`${site.host}/outside/**`, `${site.host}/redirect-out`], maxDepth: 10, perHostConcurrency: 1, allowPrivateNetworks: true, minChars: 50, maxRetries: 3 },
        },
      },
    });
    const logFile = path.join(stack.dir, 'crash-worker.log');
    const first = spawnWorker(cfg, logFile);
    const run = await startRun(stack.client, cfg, p);
    await waitFor('ten pages crawled', async () => site.served >= 10, 60_000);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const servedAtKill = site.served;
    const second = spawnWorker(cfg, logFile);
    try {
      const res = await waitForRun(stack.client, run.workflowId);
      assert.equal(res.ok, true, `${res.error}\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
      assert.ok(res.status.stages.crawl.attempt >= 2, 'the crawl was retried after the kill');
      assert.ok(servedAtKill < site.served, 'the second worker fetched the rest');

      // A page is durable once its ledger entry is written; only the one page in flight at the kill
      // (perHostConcurrency 1) may have been fetched without being stored, and so fetched again.
      const refetched = [...site.counts].filter(([p, n]) => p !== '/robots.txt' && p !== '/flaky' && n > 1);
      assert.ok(refetched.length <= 1, `refetched: ${JSON.stringify(refetched)}`);
      assert.ok(refetched.every(([, n]) => n === 2));

      const store = stack.store(cfg);
      const m = (await store.readManifest(res.status.stages.crawl.digest!))!;
      const urls: string[] = [];
      for await (const d of readDocuments(store, m)) urls.push(d.source);
      assert.equal(new Set(urls).size, urls.length, 'no duplicate record');
      for (let i = 0; i < SITE_PAGES; i++) assert.ok(urls.includes(`${site.origin}/p/${i}`), `page /p/${i} kept`);
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
  } finally {
    await site.close();
  }
});
