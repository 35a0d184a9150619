import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { abortRun, cancelRun, getRunStatus, signalStage, startRun, waitForRun } from '../client/runs';
import { plan, waitFor } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';

let stack: Stack;
before(async () => {
  stack = await startStack('dag');
});
after(async () => {
  await stack?.stop();
});

const fast = { retry: { initialInterval: '100ms', maxInterval: '200ms', maxAttempts: 3 } };

test('diamond and an independent branch all run, needs before dependents', async () => {
  const cfg = stack.config('diamond');
  await stack.workers(cfg);
  const p = plan({
    name: 'diamond',
    defaults: fast,
    stages: {
      a: { uses: 'noop', with: { sleepMs: 200 } },
      b: { uses: 'noop', needs: ['a'], with: { sleepMs: 300 } },
      c: { uses: 'noop', needs: ['a'], with: { sleepMs: 300 } },
      d: { uses: 'noop', needs: ['b', 'c'] },
      e: { uses: 'noop', with: { sleepMs: 100 } },
    },
  });
  assert.deepEqual(p.levels, [['a', 'e'], ['b', 'c'], ['d']]);
  const run = await startRun(stack.client, cfg, p);
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  const s = res.status.stages;
  for (const n of ['a', 'b', 'c', 'd', 'e']) assert.equal(s[n].state, 'succeeded', n);
  assert.ok(s.b.startedAt! >= s.a.endedAt!, 'b starts after a ends');
  assert.ok(s.d.startedAt! >= s.b.endedAt! && s.d.startedAt! >= s.c.endedAt!, 'd waits for b and c');
  // b and c ran concurrently: each started before the other ended.
  assert.ok(s.b.startedAt! < s.c.endedAt! && s.c.startedAt! < s.b.endedAt!, 'b and c overlap');
});

test('a stage failing twice then succeeding is retried, attempts recorded', async () => {
  const cfg = stack.config('flaky');
  await stack.workers(cfg);
  const run = await startRun(stack.client, cfg, plan({ name: 'flaky', defaults: fast, stages: { f: { uses: 'noop', with: { failAttempts: 2 } } } }));
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  assert.equal(res.status.stages.f.state, 'succeeded');
  assert.equal(res.status.stages.f.attempt, 3);
});

test('a non-retryable failure fails at once; dependents skipped, the independent branch finishes', async () => {
  const cfg = stack.config('nonretry');
  await stack.workers(cfg);
  const p = plan({
    name: 'nonretry',
    defaults: { retry: { ...fast.retry, maxAttempts: 5 } },
    stages: {
      bad: { uses: 'noop', with: { failAttempts: 9, failMode: 'config' } },
      after: { uses: 'noop', needs: ['bad'] },
      other: { uses: 'noop', with: { sleepMs: 500 } },
    },
  });
  const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p)).workflowId);
  assert.equal(res.ok, false);
  assert.equal(res.status.stages.bad.state, 'failed');
  assert.equal(res.status.stages.bad.attempt, 1, 'no retry of a config error');
  assert.match(res.status.stages.bad.error!, /ConfigError: .*failing on purpose/);
  assert.equal(res.status.stages.after.state, 'skipped');
  assert.equal(res.status.stages.other.state, 'succeeded');
  assert.match(res.error!, /stage "bad" failed after 1 attempt\(s\): ConfigError/);
});

test('retries exhausted: onFailure park waits; `retry` after the fix completes the same run', async () => {
  const cfg = stack.config('park');
  await stack.workers(cfg);
  const flag = path.join(stack.dir, 'broken-worker');
  fs.writeFileSync(flag, 'x');
  const p = plan({
    name: 'park',
    defaults: { retry: { ...fast.retry, maxAttempts: 2 } },
    stages: {
      s: { uses: 'noop', onFailure: 'park', with: { failWhenFileExists: flag } },
      t: { uses: 'noop', needs: ['s'] },
    },
  });
  const run = await startRun(stack.client, cfg, p);
  await waitFor('stage s parked', async () => (await getRunStatus(stack.client, run.workflowId)).stages.s.state === 'parked');
  await assert.rejects(signalStage(stack.client, run.workflowId, 'retry', 't'), /is pending, not parked/);
  fs.rmSync(flag);
  await signalStage(stack.client, run.workflowId, 'retry', 's');
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  assert.equal(res.status.stages.s.state, 'succeeded');
  assert.equal(res.status.stages.t.state, 'succeeded');
});

test('cancel reaches the running activity', async () => {
  const cfg = stack.config('cancel');
  await stack.workers(cfg);
  const marker = path.join(stack.dir, 'cancelled-marker');
  const p = plan({
    name: 'cancel',
    defaults: { timeout: { heartbeat: '3s' } },
    stages: { long: { uses: 'noop', with: { sleepMs: 120_000, touchOnCancel: marker } }, next: { uses: 'noop', needs: ['long'] } },
  });
  const run = await startRun(stack.client, cfg, p);
  // The live status carries the running attempt's heartbeat.
  const live = await waitFor('stage heartbeating', async () => {
    const st = await getRunStatus(stack.client, run.workflowId);
    return st.stages.long.message === 'started' ? st : undefined;
  });
  assert.equal(live.stages.long.state, 'running');
  assert.equal(live.stages.long.progress, 0);
  assert.equal(live.stages.long.attempt, 1);
  await cancelRun(stack.client, run.workflowId);
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, false);
  assert.equal(res.status.state, 'cancelled');
  assert.equal(res.status.stages.long.state, 'cancelled');
  assert.ok(fs.existsSync(marker), 'the activity saw the cancellation');
});

test('a parked stage can be skipped (dependents skipped, the rest finishes) and a run can be aborted', async () => {
  const cfg = stack.config('skipabort');
  await stack.workers(cfg);
  const flag = path.join(stack.dir, 'always-broken');
  fs.writeFileSync(flag, 'x');
  const spec = (name: string) =>
    plan({
      name,
      defaults: { retry: { ...fast.retry, maxAttempts: 1 } },
      stages: {
        s: { uses: 'noop', onFailure: 'park', with: { failWhenFileExists: flag } },
        t: { uses: 'noop', needs: ['s'] },
        u: { uses: 'noop', with: { sleepMs: 300 } },
      },
    });
  const skipped = await startRun(stack.client, cfg, spec('skipper'));
  await waitFor('parked', async () => (await getRunStatus(stack.client, skipped.workflowId)).stages.s.state === 'parked');
  await signalStage(stack.client, skipped.workflowId, 'skip', 's');
  const res = await waitForRun(stack.client, skipped.workflowId);
  assert.equal(res.ok, true, res.error);
  assert.deepEqual(
    Object.fromEntries(Object.entries(res.status.stages).map(([n, s]) => [n, s.state])),
    { s: 'skipped', t: 'skipped', u: 'succeeded' },
  );
  assert.equal(res.status.stages.t.reason, 'needs did not succeed: s');

  const aborted = await startRun(stack.client, cfg, spec('aborter'));
  await waitFor('parked', async () => (await getRunStatus(stack.client, aborted.workflowId)).stages.s.state === 'parked');
  await abortRun(stack.client, aborted.workflowId, 'bad data upstream');
  const ab = await waitForRun(stack.client, aborted.workflowId);
  assert.equal(ab.ok, false);
  assert.match(ab.error!, /aborted: bad data upstream/);
  assert.equal(ab.status.state, 'failed');
  assert.equal(ab.status.stages.s.state, 'cancelled');
});

test('a finished run reads its status with no worker left polling (from its result or failure details)', async () => {
  const cfg = stack.config('noworker');
  const workers = await stack.workers(cfg);
  const ok = await startRun(stack.client, cfg, plan({ name: 'gone-ok', stages: { a: { uses: 'noop' } } }));
  const bad = await startRun(
    stack.client,
    cfg,
    plan({ name: 'gone-bad', defaults: { retry: { maxAttempts: 1 } }, stages: { a: { uses: 'noop', with: { failAttempts: 1 } }, b: { uses: 'noop' } } }),
  );
  assert.equal((await waitForRun(stack.client, ok.workflowId)).ok, true);
  assert.equal((await waitForRun(stack.client, bad.workflowId)).ok, false);
  await workers.shutdown();
  // A query would need a worker to replay the history; these must not.
  const s1 = await getRunStatus(stack.client, ok.workflowId);
  assert.equal(s1.state, 'succeeded');
  assert.equal(s1.stages.a.state, 'succeeded');
  const s2 = await getRunStatus(stack.client, bad.workflowId);
  assert.equal(s2.execution, 'FAILED');
  assert.deepEqual([s2.stages.a.state, s2.stages.b.state], ['failed', 'succeeded']);
});
