/** The fleet's pieces without servers: the GPU pool, the trainer's pinned environment, queue placement in the plan. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { trainerEnv, trainerProcesses } from '../activities/model-stage/trainer-process';
import { compilePipeline } from '../schemas';
import { GpuPool, visibleGpuIds } from '../activities/gpus';
import { tempDir } from './helpers/tmp';

test('visible GPU ids follow CUDA_VISIBLE_DEVICES (indices or UUIDs; -1 and what follows it hide devices)', () => {
  assert.deepEqual(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '2, 5,7' }), ['2', '5', '7']);
  assert.deepEqual(visibleGpuIds({ CUDA_VISIBLE_DEVICES: 'GPU-aa11,GPU-bb22' }), ['GPU-aa11', 'GPU-bb22']);
  assert.deepEqual(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '' }), []);
  assert.deepEqual(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '-1' }), []);
  assert.deepEqual(visibleGpuIds({ CUDA_VISIBLE_DEVICES: '0,-1,1' }), ['0']);
});

test('the GPU pool leases whole GPUs first come first served; a waiting request can be cancelled', async () => {
  const pool = new GpuPool(['0', '1', '2']);
  const a = await pool.acquire(2);
  assert.deepEqual(a.ids, ['0', '1']);
  const order: string[] = [];
  const big = pool.acquire(2).then((l) => (order.push('big'), l));
  const small = pool.acquire(1).then((l) => (order.push('small'), l)); // GPU 2 is free, but `big` asked first
  const ac = new AbortController();
  const cancelled = pool.acquire(1, ac.signal);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'both wait: FIFO keeps a large request from being starved');
  ac.abort(new Error('attempt cancelled'));
  await assert.rejects(cancelled, /attempt cancelled/);
  a.release();
  a.release(); // idempotent
  const b = await big;
  const s = await small;
  assert.deepEqual([b.ids, s.ids], [['0', '1'], ['2']]);
  assert.deepEqual(order, ['big', 'small']);
  assert.equal(pool.leased, 3);
  b.release();
  s.release();
  assert.equal(pool.leased, 0);
  await assert.rejects(pool.acquire(4), /needs 4 GPU\(s\) but this worker has 3 \(0,1,2\)/);
});

test('a pinned trainer sees only its leased GPUs and runs one DDP rank per GPU', async () => {
  const dir = tempDir('pin');
  const cfg = (device: string) => {
    const p = path.join(dir, `${device}.json`);
    fs.writeFileSync(p, JSON.stringify({ command: 'pretrain', device }));
    return p;
  };
  const saved = { gpus: process.env.CUDA_VISIBLE_DEVICES, nproc: process.env.DAPT_TRAINER_NPROC };
  delete process.env.DAPT_TRAINER_NPROC;
  process.env.CUDA_VISIBLE_DEVICES = '0,1,2,3'; // the worker's view; the lease decides
  try {
    assert.equal(await trainerProcesses('pretrain', cfg('auto'), ['1', '3']), 2);
    assert.equal(await trainerProcesses('pretrain', cfg('auto'), ['2']), 1);
    assert.equal(await trainerProcesses('pretrain', cfg('cpu'), ['1', '3']), 1);
    assert.equal(await trainerProcesses('pretrain', cfg('auto')), 4, 'no lease: every visible GPU, as before');
    assert.equal(trainerEnv(['1', '3']).CUDA_VISIBLE_DEVICES, '1,3');
    assert.equal(trainerEnv(undefined).CUDA_VISIBLE_DEVICES, '0,1,2,3', 'no lease: the worker environment passes through');
  } finally {
    for (const [k, v] of [['CUDA_VISIBLE_DEVICES', saved.gpus], ['DAPT_TRAINER_NPROC', saved.nproc]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('placement in the plan: a GPU class names the queue; fallbacks need scheduleToStart; contradictions are reported', () => {
  const ok = compilePipeline({
    name: 'placed',
    stages: {
      train: { uses: 'noop', resources: { gpu: 2, gpuClass: 'a100-80g' }, fallbackQueue: 'gpu', timeout: { scheduleToStart: '10m' } },
      plain: { uses: 'noop' },
    },
  });
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.issues));
  assert.equal(ok.plan.stages.train.queue, 'gpu-a100-80g');
  assert.deepEqual(ok.plan.stages.train.resources, { gpu: 2, gpuClass: 'a100-80g' });
  assert.equal(ok.plan.stages.train.fallbackQueue, 'gpu');
  assert.equal('resources' in ok.plan.stages.plain, false, 'stages without resources keep their plan (and hash) as before');

  const bad = compilePipeline({
    name: 'misplaced',
    stages: {
      a: { uses: 'noop', fallbackQueue: 'cpu', queue: 'gpu' },
      b: { uses: 'noop', queue: 'cpu', resources: { gpuClass: 'h100' } },
      c: { uses: 'noop', queue: 'cpu', fallbackQueue: 'cpu', timeout: { scheduleToStart: '1m' } },
      d: { uses: 'noop', resources: { gpuClass: 'A100' } },
    },
  });
  assert.equal(bad.ok, false);
  const issues = bad.ok ? [] : bad.issues.map((i) => `${i.path}: ${i.message}`);
  assert.deepEqual(issues.sort(), [
    'stages.a.fallbackQueue: a fallbackQueue needs timeout.scheduleToStart: without it the stage waits for a worker on its queue forever',
    'stages.b.queue: queue "cpu" contradicts resources.gpuClass "h100" (whose queue is gpu-h100): set one of them',
    "stages.c.fallbackQueue: the fallback queue is the stage's own queue (cpu)",
    'stages.d.resources.gpuClass: expected a class name like a100-80g (it names the queue gpu-<class>)',
  ]);
});

test('resources.nodes: pretrain on several nodes; other kinds and fan-outs are told they run on one machine', () => {
  const ok = compilePipeline({
    name: 'nodes',
    stages: {
      docs: { uses: 'source', with: { paths: ['x'] } },
      pt: { uses: 'pretrain', needs: ['docs'], resources: { gpu: 8, nodes: 2 }, with: { baseModel: 'm', train: { maxSteps: 1 } } },
    },
  });
  assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.issues));
  assert.deepEqual(ok.plan.stages.pt.resources, { gpu: 8, nodes: 2 });

  const bad = compilePipeline({
    name: 'nodes-bad',
    stages: {
      docs: { uses: 'source', with: { paths: ['x'] }, resources: { nodes: 2 } },
      one: { uses: 'noop', resources: { nodes: 3 } },
      zero: { uses: 'noop', resources: { nodes: 0 } },
    },
  });
  assert.equal(bad.ok, false);
  const issues = bad.ok ? [] : bad.issues.map((i) => `${i.path}: ${i.message}`);
  assert.deepEqual(issues.sort(), [
    'stages.docs.resources.nodes: a fan-out stage spreads over workers by its tasks: resources.nodes is for single-activity stages',
    'stages.docs.resources.nodes: stage kind source runs on one machine; resources.nodes > 1 is for kinds that train across machines (pretrain)',
    'stages.one.resources.nodes: stage kind noop runs on one machine; resources.nodes > 1 is for kinds that train across machines (pretrain)',
    'stages.zero.resources.nodes: Too small: expected number to be >=1',
  ]);
});
