/**
 * Near-dedupe as a real multi-phase fan-out on Temporal workers: a signatures task that dies on a broken input
 * shard parks the stage; after the shard is repaired, the retried fan-out reuses every signatures task that
 * had finished (the per-task ledger) and produces the same result as an undisturbed run.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getRunStatus, signalStage, startRun, waitForRun } from '../client/runs';
import { NearDedupeParams } from '../activities/stages/dedupe/spec';
import { plantedPairs } from './helpers/near-corpus';
import { plan, waitFor } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';

let stack: Stack;
before(async () => {
  stack = await startStack('dedupe-resume');
});
after(async () => {
  await stack?.stop();
});

test('a near-dedupe fan-out parked on a broken shard resumes without redoing finished shards', async () => {
  const cfg = stack.config('ddr');
  await stack.workers(cfg, ['cpu']);
  const store = stack.store(cfg);
  // 90 close pairs: every variant (documents 90..179) is a near-duplicate of its base.
  const pairs = plantedPairs('en', 90, 5, { ...NearDedupeParams.parse({}) }, 120, 2);
  const dir = path.join(stack.dir, 'ddr-corpus');
  fs.mkdirSync(dir, { recursive: true });
  const texts = [...pairs.map((p) => p.a), ...pairs.map((p) => p.b)];
  fs.writeFileSync(path.join(dir, 'docs.jsonl'), texts.map((text) => JSON.stringify({ text })).join('\n'));
  const source = { uses: 'source', with: { paths: [dir], shardSize: 30 } };

  // First run: the source alone, so its shards can be broken before dedupe reads them.
  const first = await waitForRun(stack.client, (await startRun(stack.client, cfg, plan({ name: 'ddr-src', stages: { source } }))).workflowId);
  assert.equal(first.ok, true, first.error);
  const manifest = (await store.readManifest(first.status.stages.source.digest!))!;
  assert.equal(manifest.files.length, 6);
  const victim = manifest.files[3].key;
  const original = Buffer.concat(await (await store.getStream(victim)).toArray());

  // The cache is verified by content, so a broken blob would make the source rerun and repair it: the shard is
  // broken only after the source's hit was accepted, while a sleeping stage holds dedupe back.
  const p = plan({
    name: 'ddr',
    defaults: { retry: { maxAttempts: 1 } },
    stages: {
      source,
      hold: { uses: 'noop', with: { sleepMs: 3000 } },
      dedupe: { uses: 'dedupe', needs: ['source', 'hold'], onFailure: 'park', concurrency: 1, with: { method: 'near', shardSize: 1000 } },
    },
  });
  const run = await startRun(stack.client, cfg, p);
  await waitFor('source cached', async () => (await getRunStatus(stack.client, run.workflowId)).stages.source.state === 'cached');
  // Unreadable bytes of the same size: a non-retryable InputError in the task that reads it.
  await store.client.putObject(store.bucket, store.key(victim), Buffer.alloc(original.length, 0x5a));
  const parked = await waitFor('dedupe parked', async () => {
    const s = await getRunStatus(stack.client, run.workflowId);
    return s.stages.dedupe.state === 'parked' && s;
  });
  assert.match(parked.stages.dedupe.error ?? '', /\.jsonl\.zst: corrupt or truncated zstd data/);

  await store.client.putObject(store.bucket, store.key(victim), original);
  await signalStage(stack.client, run.workflowId, 'retry', 'dedupe');
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  // Concurrency 1: shards 0-2 had finished before shard 3 failed; the retry reuses exactly those three.
  assert.equal(res.status.stages.dedupe.fanout?.reused, 3);
  const m = res.status.stages.dedupe.metrics as Record<string, number>;
  assert.equal(m.input, 180);
  assert.equal(m.kept, 90);
  assert.equal(m.exactDuplicates + m.nearDuplicates, 90);
  assert.deepEqual(await store.list('ledger/near-dedupe/'), [], 'the reduce removed the intermediate objects');
});
