import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startRun, waitForRun } from '../client/runs';
import type { RunStatus } from '../schemas';
import { plan } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';

let stack: Stack;
before(async () => {
  stack = await startStack('cache');
});
after(async () => {
  await stack?.stop();
});

function states(st: RunStatus): Record<string, string> {
  return Object.fromEntries(Object.entries(st.stages).map(([n, s]) => [n, s.state]));
}

test('stage cache: rerun all cached; a param change reruns that stage and its dependents; --no-cache; a deleted blob is a miss', async () => {
  const cfg = stack.config('cache');
  await stack.workers(cfg, ['cpu']);
  const store = stack.store(cfg);
  const corpus = path.join(stack.dir, 'corpus');
  fs.mkdirSync(corpus);
  // d4 and d5 repeat d0 and d1 up to case: duplicates only when dedupe lowercases.
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(corpus, `d${i}.txt`), `${i < 4 ? 'document' : 'DOCUMENT'} number ${i % 4} about leases\n`);
  const spec = (lowercase: boolean) => ({
    name: 'cachey',
    stages: {
      src: { uses: 'source', with: { paths: [corpus], shardSize: 4 } },
      dedupe: { uses: 'dedupe', needs: ['src'], with: { normalize: { lowercase } } },
      tail: { uses: 'noop', needs: ['dedupe'] },
      side: { uses: 'noop', cache: false },
    },
  });
  const go = async (p: ReturnType<typeof plan>, noCache = false) => {
    const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p, { noCache })).workflowId);
    assert.equal(res.ok, true, res.error);
    return res.status;
  };

  const first = await go(plan(spec(true)));
  assert.deepEqual(states(first), { src: 'succeeded', dedupe: 'succeeded', tail: 'succeeded', side: 'succeeded' });
  assert.deepEqual(first.stages.dedupe.metrics, { input: 6, kept: 4, duplicates: 2, dupRate: 2 / 6 });

  const second = await go(plan(spec(true)));
  assert.deepEqual(states(second), { src: 'cached', dedupe: 'cached', tail: 'cached', side: 'succeeded' }, '`cache: false` always reruns');
  assert.equal(second.stages.dedupe.digest, first.stages.dedupe.digest);

  const changed = await go(plan(spec(false)));
  assert.deepEqual(states(changed), { src: 'cached', dedupe: 'succeeded', tail: 'succeeded', side: 'succeeded' });
  assert.equal((changed.stages.dedupe.metrics as { kept: number }).kept, 6);

  const forced = await go(plan(spec(true)), true);
  assert.deepEqual(states(forced), { src: 'succeeded', dedupe: 'succeeded', tail: 'succeeded', side: 'succeeded' });
  assert.equal(forced.stages.src.digest, first.stages.src.digest, 'same input, same content digest');

  // Delete one blob of the source output: its cache entry must not be trusted any more.
  const manifest = (await store.readManifest(first.stages.src.digest!))!;
  await store.remove(manifest.files[0].key);
  const healed = await go(plan(spec(true)));
  assert.equal(healed.stages.src.state, 'succeeded', 'a deleted artifact is a cache miss');
  assert.equal(healed.stages.dedupe.state, 'cached', 'same content again: dependents hit');
  assert.equal(await store.statSize(manifest.files[0].key), manifest.files[0].bytes, 'the blob is back');

  // Editing an input file changes the source fingerprint.
  fs.writeFileSync(path.join(corpus, 'd0.txt'), 'a brand new clause\n');
  const edited = await go(plan(spec(true)));
  assert.equal(edited.stages.src.state, 'succeeded');
  assert.equal(edited.stages.dedupe.state, 'succeeded');
});
