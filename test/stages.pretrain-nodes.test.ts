/**
 * One pretrain stage on two nodes (resources.nodes: 2) through the engine: two `dapt worker` processes on this
 * machine stand for two GPU machines (gloo on CPU, one rank each). Node 0's activity announces the c10d rendezvous
 * address through the workflow, node 1 gets it as input; the training matches one process with the same global
 * batch; a node's worker SIGKILLed mid-run fails the try on both nodes and the next try resumes both from the last
 * stored checkpoint; a node that no worker starts is named in `dapt status` while it is awaited, then in the failure.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { CheckpointIndex } from '../activities/model-stage/checkpoints';
import { checkpointPrefix } from '../activities/model-stage/checkpoints';
import { trainerPython } from '../activities/model-stage/trainer-process';
import { statusText } from '../cli/render';
import { getRunStatus, startRun, waitForRun, type RunResult } from '../client/runs';
import { configEnv, type DaptConfig } from '../config';
import { domainDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { REPO_ROOT } from '../infra/paths';
import { plan, waitFor } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { buildTinyModel } from './helpers/tiny-model';

process.env.OMP_NUM_THREADS ??= '1'; // one thread per trainer rank: two ranks share this small machine

let stack: Stack;
let cfg: DaptConfig;
let python: string;
let baseModel: string;
let domainDir: string;
const workers: ChildProcess[] = [];

before(async () => {
  [stack, python] = await Promise.all([startStack('nodes'), trainerPython()]);
  domainDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'domain', 'contracts.jsonl'), domainDocs(160)));
  baseModel = await buildTinyModel({ corpus: [path.join(domainDir, 'contracts.jsonl')], out: path.join(stack.dir, 'tiny-bert') });
  cfg = stack.config('nodes');
  await stack.workers(cfg, ['cpu']); // workflows and the source stage here; training in the node workers
});
after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await stack?.stop();
});

/** A `dapt worker` serving the gpu queue (one slot on CPU): one node. */
function nodeWorker(name: string): ChildProcess {
  const env = { ...process.env, ...configEnv(cfg), DAPT_TRAINER_PYTHON: python, DAPT_NODE_ADDRESS: '127.0.0.1' };
  const out = fs.openSync(path.join(stack.dir, `${name}.log`), 'a');
  const w = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'dapt.js'), 'worker', '--queue', 'gpu', '--no-workflows'], { env, stdio: ['ignore', out, out] });
  workers.push(w);
  return w;
}

// Dropout off: the ranks' dropout streams differ from one process's, everything else is the same computation.
const TRAIN = { maxSteps: 120, batchSize: 8, lr: 2e-3, warmupSteps: 5, checkpointEvery: 20, logEvery: 5, seed: 7 };

function pipeline(name: string, stage: Record<string, unknown>, maxAttempts = 3) {
  return plan({
    name,
    defaults: { retry: { maxAttempts, initialInterval: '200ms', maxInterval: '1s' } },
    stages: {
      domain: { uses: 'source', with: { paths: [domainDir] } },
      pretrain: {
        uses: 'pretrain',
        needs: ['domain'],
        ...stage,
        with: {
          baseModel,
          seqLen: 32,
          evalFraction: 0.1,
          evalMaxSequences: 16,
          configOverrides: { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 },
          train: TRAIN,
          device: 'cpu',
        },
      },
    },
  });
}

function explain(res: RunResult): string {
  const logs = ['node-a', 'node-b', 'node-c'].map((n) => path.join(stack.dir, `${n}.log`)).filter((f) => fs.existsSync(f));
  return `${res.error}\n${JSON.stringify(res.status.stages.pretrain, null, 1).slice(0, 2000)}\n${logs.map((f) => fs.readFileSync(f, 'utf8').slice(-2500)).join('\n---\n')}`;
}

async function lossCurve(digest: string): Promise<Map<number, number>> {
  const store = stack.store(cfg);
  const manifest = (await store.readManifest(digest))!;
  const file = manifest.files.find((f) => f.name === 'metrics.json')!;
  const m = (await store.getJson<{ lossCurve: [number, number][] }>(file.key))!;
  return new Map(m.lossCurve);
}

function assertSameLosses(got: Map<number, number>, want: Map<number, number>, what: string): void {
  assert.ok(got.size > 0);
  for (const [step, loss] of got) {
    const ref = want.get(step);
    assert.ok(ref !== undefined && Math.abs(loss - ref) <= 1e-3 * Math.abs(ref), `${what}: step ${step} loss ${loss}, one process ${ref}`);
  }
}

let single: Map<number, number> | undefined;

test('two nodes through the workflow\'s rendezvous: the losses of one process with the same global batch', async () => {
  nodeWorker('node-a');
  nodeWorker('node-b');
  const one = await waitForRun(stack.client, (await startRun(stack.client, cfg, pipeline('one-node', {}))).workflowId);
  assert.equal(one.ok, true, explain(one));
  single = await lossCurve(one.status.stages.pretrain.digest!);

  const started = await startRun(stack.client, cfg, pipeline('two-nodes', { resources: { gpu: 1, nodes: 2 } }), { noCache: true });
  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, true, explain(res));
  const pre = res.status.stages.pretrain;
  assert.equal(pre.nodes?.count, 2);
  assert.deepEqual(pre.nodes?.arrived, [0, 1], 'both nodes announced themselves');
  assert.match(pre.nodes?.address ?? '', /^127\.0\.0\.1:\d+$/, 'node 0 published the address it picked');
  assert.equal(pre.metrics!.attempt, 1);
  assert.equal(pre.metrics!['train.steps'], TRAIN.maxSteps);
  assert.equal(pre.digest === one.status.stages.pretrain.digest, false, 'retrained, not the cached artifact');
  assertSameLosses(await lossCurve(pre.digest!), single, 'two nodes');
});

test('SIGKILL of one node\'s worker mid-run: both nodes retry and resume from the last stored checkpoint', async (t) => {
  if (!single) return t.skip('needs the first test');
  const p = pipeline('node-lost', { resources: { gpu: 1, nodes: 2 }, timeout: { heartbeat: '3s' } });
  const started = await startRun(stack.client, cfg, p, { noCache: true });
  const store = stack.store(cfg);
  const stored = await waitFor(
    'a checkpoint of this run in the store',
    async () => {
      const cacheKey = (await getRunStatus(stack.client, started.workflowId)).stages.pretrain?.cacheKey;
      if (!cacheKey) return undefined;
      for (const o of await store.list(checkpointPrefix(cacheKey))) {
        const index = await store.getJson<CheckpointIndex>(o.key);
        if (index?.run === started.runId) return index;
      }
      return undefined;
    },
    240_000,
  );
  const before = await getRunStatus(stack.client, started.workflowId);
  assert.equal(before.stages.pretrain.state, 'running', 'killed mid-run');
  workers[1].kill('SIGKILL'); // node-b: whichever node it runs, the try is lost on both
  nodeWorker('node-c'); // its replacement, for the next try

  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, true, explain(res));
  const m = res.status.stages.pretrain.metrics!;
  assert.ok((m.attempt as number) >= 2, `attempt ${m.attempt}`);
  assert.ok((m.resumedFromStep as number) >= stored.step, `resumed from ${m.resumedFromStep}, stored ${stored.step}`);
  assert.equal(m['train.steps'], TRAIN.maxSteps);
  t.diagnostic(`checkpoint ${stored.step} stored before the kill; try ${m.attempt} resumed from step ${m.resumedFromStep}`);
  const curve = await lossCurve(res.status.stages.pretrain.digest!);
  assertSameLosses(new Map([...curve].filter(([s]) => s > (m.resumedFromStep as number))), single, 'resumed on two nodes');
});

test('a node no worker starts: `dapt status` names it while it is awaited, then the stage fails naming it', async () => {
  workers[2]?.kill('SIGKILL'); // one node worker left: node 1 finds no free slot
  const started = await startRun(stack.client, cfg, pipeline('node-missing', { resources: { gpu: 1, nodes: 2 }, timeout: { scheduleToStart: '15s' } }), { noCache: true });
  const line = await waitFor(
    'the status line of the awaited node',
    async () => {
      const text = statusText(await getRunStatus(stack.client, started.workflowId));
      return /nodes 1\/2 started at 127\.0\.0\.1:\d+ \(try 1\); waiting \d+s for node 1/.test(text) && text;
    },
    120_000,
  );
  assert.ok(line);
  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, false);
  assert.match(res.status.stages.pretrain.error ?? '', /node\(s\) 1 of 2 never started: no worker on queue \S*gpu took them within 15s \(timeout\.scheduleToStart\)/);
  assert.equal(res.status.stages.pretrain.state, 'failed');
});
