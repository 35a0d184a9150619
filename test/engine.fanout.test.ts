import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getRunStatus, signalStage, startRun, waitForRun } from '../client/runs';
import { plan, waitFor } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';

let stack: Stack;
before(async () => {
  stack = await startStack('fanout');
});
after(async () => {
  await stack?.stop();
});

/** Temporal's hard limit is 51,200 events per history; dapt keeps each far below it by batching. */
const HISTORY_LIMIT = 51_200;

async function historyLength(workflowId: string): Promise<number> {
  const h = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  return h.events?.length ?? 0;
}

test('a 2,000-task fan-out completes and every history stays far below the limit', async () => {
  const cfg = stack.config('wide');
  await stack.workers(cfg, ['cpu'], 100);
  const p = plan({ name: 'wide', stages: { wide: { uses: 'noop', concurrency: 100, with: { tasks: 2000 } }, after: { uses: 'noop', needs: ['wide'] } } });
  const run = await startRun(stack.client, cfg, p);
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  assert.deepEqual(res.status.stages.wide.fanout, { total: 2000, done: 2000, reused: 0, phase: 'tasks' });
  assert.deepEqual(res.status.stages.wide.metrics, { tasks: 2000, sum: 2000 });
  assert.equal(res.status.stages.after.state, 'succeeded');

  const parent = await historyLength(run.workflowId);
  const children: number[] = [];
  for await (const wf of stack.client.workflow.list({ query: `WorkflowId STARTS_WITH "${run.workflowId}--wide--"` })) {
    children.push(await historyLength(wf.workflowId));
  }
  assert.equal(children.length, 10, '2,000 tasks in batches of 200');
  const largest = Math.max(parent, ...children);
  assert.ok(largest < HISTORY_LIMIT / 20, `largest history has ${largest} events`);
  assert.ok(parent < 200, `parent history has ${parent} events`);
});

test('the per-task ledger: a retried fan-out reruns only the unfinished tasks', async () => {
  const cfg = stack.config('ledger');
  await stack.workers(cfg, ['cpu']);
  const flag = path.join(stack.dir, 'ledger-broken');
  fs.writeFileSync(flag, 'x');
  const p = plan({
    name: 'ledger',
    defaults: { retry: { maxAttempts: 1 } },
    stages: { fan: { uses: 'noop', onFailure: 'park', concurrency: 1, with: { tasks: 12, failWhenFileExists: flag, failTasksFrom: 5 } } },
  });
  const run = await startRun(stack.client, cfg, p, { fanoutBatchSize: 4 });
  await waitFor('fan-out parked', async () => (await getRunStatus(stack.client, run.workflowId)).stages.fan.state === 'parked');
  fs.rmSync(flag);
  await signalStage(stack.client, run.workflowId, 'retry', 'fan');
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  assert.deepEqual(res.status.stages.fan.fanout, { total: 12, done: 12, reused: 5, phase: 'tasks' });
  assert.deepEqual(res.status.stages.fan.metrics, { tasks: 12, sum: 12 });
});

test('a multi-phase fan-out plans each phase from the results of the previous one', async () => {
  const cfg = stack.config('phases');
  await stack.workers(cfg, ['cpu']);
  const p = plan({ name: 'phases', stages: { two: { uses: 'noop', concurrency: 8, with: { tasks: 30, moreTasks: 7 } } } });
  const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p, { fanoutBatchSize: 16 })).workflowId);
  assert.equal(res.ok, true, res.error);
  assert.deepEqual(res.status.stages.two.fanout, { total: 37, done: 37, reused: 0, phase: 'more' });
  assert.deepEqual(res.status.stages.two.metrics, { tasks: 30, sum: 30, moreTasks: 7, moreSum: 7 * 30 });
});
