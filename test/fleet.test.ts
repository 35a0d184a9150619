/**
 * The worker fleet on real servers: queues per resource class with a scheduleToStart limit and a fallback,
 * GPU slots pinned per attempt (on a fake GPU list: this machine has none), the Prometheus endpoint, and
 * `dapt doctor`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { msToTs } from '@temporalio/common/lib/time';
import { formatChecks, runDoctor } from '../client/doctor';
import { getRunStatus, startRun, waitForRun } from '../client/runs';
import { statusText } from '../cli/render';
import { configEnv } from '../config';
import { startWorkers, type RunningWorkers } from '../worker/worker';
import { plan, waitFor } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';

let stack: Stack;
let fleet: RunningWorkers;
const fleetCfg = () => stack.config('fleet');
before(async () => {
  stack = await startStack('fleet');
  // The first workers of this process: only they can switch on the SDK core's metrics exporter too.
  fleet = await startWorkers({ config: fleetCfg(), queues: ['cpu'], concurrency: 4, metricsPort: 0, metricsHost: '127.0.0.1', log: () => {} });
});
after(async () => {
  await fleet?.shutdown();
  await stack?.stop();
});

test('a stage on a queue nobody serves fails visibly after its scheduleToStart; independent stages finish', async () => {
  const p = plan({
    name: 'no-gpu-class',
    stages: {
      train: { uses: 'noop', queue: 'gpu-nonexistent', timeout: { scheduleToStart: '3s' } },
      after: { uses: 'noop', needs: ['train'] },
      side: { uses: 'noop', with: { sleepMs: 50 } },
    },
  });
  const res = await waitForRun(stack.client, (await startRun(stack.client, fleetCfg(), p, { noCache: true })).workflowId);
  assert.equal(res.ok, false);
  const train = res.status.stages.train;
  assert.equal(train.state, 'failed');
  assert.match(train.error ?? '', /no worker on queue gpu-nonexistent started the stage within 3s \(timeout\.scheduleToStart\)/);
  assert.match(res.error ?? '', /stage "train" failed/);
  assert.equal(res.status.stages.after.state, 'skipped');
  assert.equal(res.status.stages.side.state, 'succeeded');
});

test('with a fallbackQueue the stage moves to cpu, the run completes, and the status says so', async () => {
  const p = plan({
    name: 'gpu-fallback',
    stages: {
      train: {
        uses: 'noop',
        resources: { gpu: 1, gpuClass: 'nonexistent' },
        fallbackQueue: 'cpu',
        timeout: { scheduleToStart: '3s' },
      },
      next: { uses: 'noop', needs: ['train'] },
    },
  });
  assert.equal(p.stages.train.queue, 'gpu-nonexistent', 'the GPU class names the queue');
  const run = await startRun(stack.client, fleetCfg(), p, { noCache: true });
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  const train = res.status.stages.train;
  assert.equal(train.state, 'succeeded');
  assert.deepEqual({ from: train.fallback?.from, to: train.fallback?.to }, { from: 'gpu-nonexistent', to: 'cpu' });
  assert.match(train.fallback?.reason ?? '', /no worker on queue gpu-nonexistent started the stage within 3s/);
  assert.match(statusText(await getRunStatus(stack.client, run.workflowId)), /train .*fell back to queue cpu: no worker on queue gpu-nonexistent/);
  assert.equal(res.status.stages.next.state, 'succeeded');
});

test('the metrics endpoint reports slots, outcomes and schedule-to-start latency of the runs above', async () => {
  const text = await (await fetch(fleet.metrics!.url)).text();
  const value = (re: RegExp) => {
    const m = re.exec(text);
    assert.ok(m, `no line matching ${re} in:\n${text.slice(0, 3000)}`);
    return Number(m[1]);
  };
  assert.equal(value(/^dapt_worker_activity_slots\{queue="fleet-cpu"\} (\S+)$/m), 4);
  assert.equal(value(/^dapt_worker_activity_slots_used\{queue="fleet-cpu"\} (\S+)$/m), 0, 'nothing runs now');
  // side, train (after its fallback), next: three stage activities completed on the cpu queue.
  const completed = value(/^dapt_worker_activity_outcomes_total\{queue="fleet-cpu",activity="runStage",stage_kind="noop",outcome="completed"\} (\S+)$/m);
  assert.ok(completed >= 3, `completed runStage on fleet-cpu: ${completed}`);
  assert.ok(value(/^dapt_worker_schedule_to_start_seconds_count\{queue="fleet-cpu"\} (\S+)$/m) >= 3);
  assert.match(text, /^# TYPE dapt_worker_activities_running gauge$/m);
  assert.match(text, /^dapt_worker_activity_duration_seconds_count\{queue="fleet-cpu",activity="runStage",outcome="completed"\} \d+$/m);
  // The SDK core's own metrics ride along on the same page.
  assert.match(text, /^temporal_\w+/m);
});

test('a GPU worker leases whole GPUs per attempt: one slot per GPU, no GPU shared, multi-GPU stages get several', async () => {
  const cfg = stack.config('gpus');
  const w = await startWorkers({ config: cfg, queues: ['gpu'], gpus: ['3', '5'], metricsPort: 0, metricsHost: '127.0.0.1', log: () => {} });
  try {
    const p = plan({
      name: 'gpu-pinning',
      defaults: { queue: 'gpu' },
      stages: {
        a: { uses: 'noop', with: { sleepMs: 1200 } },
        b: { uses: 'noop', with: { sleepMs: 1200 } },
        both: { uses: 'noop', resources: { gpu: 2 }, with: { sleepMs: 600 } },
        c: { uses: 'noop', with: { sleepMs: 1200 } },
        d: { uses: 'noop', needs: ['a'], with: { sleepMs: 300 } },
      },
    });
    const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p, { noCache: true })).workflowId);
    assert.equal(res.ok, true, res.error);
    type Held = { gpus: string[]; heldFrom: number; heldTo: number };
    const held = Object.fromEntries(Object.entries(res.status.stages).map(([n, s]) => [n, s.metrics as Held]));
    for (const [n, h] of Object.entries(held)) {
      assert.equal(h.gpus.length, n === 'both' ? 2 : 1, `${n} held ${h.gpus}`);
      for (const g of h.gpus) assert.ok(['3', '5'].includes(g), `${n} got GPU ${g}, not one of the worker's`);
    }
    const names = Object.keys(held);
    for (const x of names) {
      for (const y of names) {
        if (x >= y) continue;
        const overlap = held[x].heldFrom < held[y].heldTo && held[y].heldFrom < held[x].heldTo;
        if (overlap) assert.deepEqual(held[x].gpus.filter((g) => held[y].gpus.includes(g)), [], `${x} and ${y} ran at once on the same GPU`);
      }
    }

    const tooBig = plan({ name: 'gpu-too-many', stages: { big: { uses: 'noop', queue: 'gpu', resources: { gpu: 3 } } } });
    const r2 = await waitForRun(stack.client, (await startRun(stack.client, cfg, tooBig, { noCache: true })).workflowId);
    assert.equal(r2.ok, false);
    assert.match(r2.status.stages.big.error ?? '', /ConfigError: stage big needs 3 GPU\(s\); the workers of its queue have 2/);
    assert.equal(r2.status.stages.big.attempt, 1, 'not retried: no retry can add GPUs');

    // One slot per GPU; every lease given back.
    const text = await (await fetch(w.metrics!.url)).text();
    assert.match(text, /^dapt_worker_activity_slots\{queue="gpus-gpu"\} 2$/m);
    assert.match(text, /^dapt_worker_gpus\{state="total"\} 2$/m);
    assert.match(text, /^dapt_worker_gpus\{state="leased"\} 0$/m);
    assert.match(text, /^dapt_worker_activity_outcomes_total\{queue="gpus-gpu",activity="runStage",stage_kind="noop",outcome="completed"\} 5$/m);
    assert.match(text, /^dapt_worker_activity_outcomes_total\{queue="gpus-gpu",activity="runStage",stage_kind="noop",outcome="failed"\} 1$/m);
  } finally {
    await w.shutdown();
  }
});

test('an attempt waiting for a GPU heartbeats, says so in the status, and lets go when the run is cancelled', async () => {
  const cfg = stack.config('gpuwait');
  // Two slots but one GPU: the second attempt gets a slot and waits for the lease inside the activity.
  const w = await startWorkers({ config: cfg, queues: ['gpu'], gpus: ['0'], concurrency: 2, metricsPort: 0, metricsHost: '127.0.0.1', log: () => {} });
  try {
    const p = plan({
      name: 'gpu-wait',
      defaults: { queue: 'gpu', timeout: { heartbeat: '5s' } },
      stages: { first: { uses: 'noop', with: { sleepMs: 60_000 } }, second: { uses: 'noop', with: { sleepMs: 60_000 } } },
    });
    const run = await startRun(stack.client, cfg, p, { noCache: true });
    const waiting = await waitFor('a stage waiting for its GPU', async () => {
      const st = await getRunStatus(stack.client, run.workflowId);
      return Object.entries(st.stages).find(([, s]) => s.message === 'waiting for 1 free GPU(s)');
    });
    const holder = waiting[0] === 'first' ? 'second' : 'first';
    await waitFor('the holder running', async () => (await getRunStatus(stack.client, run.workflowId)).stages[holder].message === 'started');
    await stack.client.workflow.getHandle(run.workflowId).cancel();
    const res = await waitForRun(stack.client, run.workflowId);
    assert.equal(res.ok, false);
    assert.deepEqual([res.status.stages.first.state, res.status.stages.second.state], ['cancelled', 'cancelled']);
    const text = await waitFor('both attempts gone', async () => {
      const t = await (await fetch(w.metrics!.url)).text();
      return /^dapt_worker_activity_slots_used\{queue="gpuwait-gpu"\} 0$/m.test(t) ? t : undefined;
    });
    assert.match(text, /^dapt_worker_gpus\{state="leased"\} 0$/m);
    assert.match(text, /^dapt_worker_activity_outcomes_total\{queue="gpuwait-gpu",activity="runStage",stage_kind="noop",outcome="cancelled"\} 2$/m);
  } finally {
    await w.shutdown();
  }
});

test('dapt doctor: every check ok with workers; a queue nobody polls is named; missing search attribute and namespace; a stopped MinIO fails the bucket check', async () => {
  const cfg = stack.config('doctor');
  const w = await stack.workers(cfg, ['cpu', 'gpu']);
  // A started worker's pollers reach the server a moment later (seconds on a loaded machine): ask until they have.
  let checks = await runDoctor(cfg, { queues: ['cpu', 'gpu'] });
  for (const end = Date.now() + 30_000; checks.some((c) => !c.ok) && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 500));
    checks = await runDoctor(cfg, { queues: ['cpu', 'gpu'] });
  }
  assert.deepEqual(checks.filter((c) => !c.ok), [], formatChecks(checks));
  const names = checks.map((c) => c.name);
  for (const n of ['config', 'temporal', 'namespace', 'search attributes', 'queue doctor-pipelines', 'queue doctor-cpu', 'queue doctor-gpu', 'bucket', 'trainer']) {
    assert.ok(names.includes(n), `no "${n}" check in:\n${formatChecks(checks)}`);
  }
  assert.match(checks.find((c) => c.name === 'bucket')!.detail, /write\+read\+delete of a probe object ok/);
  assert.deepEqual(await stack.store(cfg).list('doctor/'), [], 'the probe object is removed');

  // Through the CLI: one line per check and exit 1, naming the queue without a worker.
  const bin = path.join(__dirname, '..', 'bin', 'dapt.js');
  const env = { ...process.env, ...configEnv(cfg) };
  // The queues come from a pipeline: its GPU class and its fallback.
  const file = path.join(stack.dir, 'a100.yaml');
  const spec = ['name: a100', 'stages:', '  train:', '    uses: noop', '    resources: { gpuClass: a100-80g }', '    fallbackQueue: cpu', '    timeout: { scheduleToStart: 1m }'];
  fs.writeFileSync(file, spec.join('\n'));
  const cli = await promisify(execFile)(process.execPath, [bin, 'doctor', '--pipeline', file, '--no-trainer'], { env }).then(
    () => assert.fail('doctor exited 0 with a queue nobody polls'),
    (e: { code: number; stdout: string }) => e,
  );
  assert.equal(cli.code, 1, cli.stdout);
  assert.match(cli.stdout, /^ok {4}queue doctor-cpu +\d+ activity poller\(s\)/m);
  assert.match(cli.stdout, /^FAIL {2}queue doctor-gpu-a100-80g +no worker polls queue "doctor-gpu-a100-80g"; start one: dapt worker --queue gpu-a100-80g$/m);
  assert.match(cli.stdout, /^1 check\(s\) failed$/m);

  // A namespace without the engine's search attribute, and one that does not exist.
  await stack.client.connection.workflowService.registerNamespace({ namespace: 'bare', workflowExecutionRetentionPeriod: msToTs('1 day') });
  const bare = await runDoctor({ ...cfg, temporal: { ...cfg.temporal, namespace: 'bare' } }, { queues: ['cpu'], trainer: false });
  const attr = bare.find((c) => c.name === 'search attributes')!;
  assert.equal(attr.ok, false, formatChecks(bare));
  assert.match(attr.detail, /^DaptPipeline is not registered in bare: temporal operator search-attribute create --name DaptPipeline --type Keyword/);
  const none = await runDoctor({ ...cfg, temporal: { ...cfg.temporal, namespace: 'no-such-ns' } }, { queues: ['cpu'], trainer: false });
  assert.equal(none.find((c) => c.name === 'namespace')?.ok, false, formatChecks(none));
  assert.match(none.find((c) => c.name === 'namespace')!.detail, /^no-such-ns: .*not found/i);

  await w.shutdown();
  await stack.minio.stop();
  try {
    const down = await runDoctor(cfg, { queues: ['cpu'], trainer: false });
    const bucket = down.find((c) => c.name === 'bucket')!;
    assert.equal(bucket.ok, false, formatChecks(down));
    assert.match(bucket.detail, new RegExp(`^${cfg.store.endpoint} bucket ${cfg.store.bucket}: .+`));
    assert.equal(down.find((c) => c.name === 'temporal')!.ok, true);
  } finally {
    await stack.minio.restart();
  }
});
