/**
 * The model stages through the engine, with the real trainer on CPU and a tiny BERT built by
 * `python -m trainer tiny-model` (its tokenizer trained on general text only, so the domain's words are new to it):
 * source → dedupe → pretrain → perplexity on generated domain text; a worker SIGKILLed mid-training and the retry
 * resuming from the last stored checkpoint; cancellation reaching the trainer; config mistakes failing at once;
 * the downloaded model loading with transformers as is; a lexicon input reaching vocabulary extension.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { defaultPayloadConverter } from '@temporalio/common';
import { pretrainStage } from '../activities/stages/pretrain/run';
import type { CheckpointRef } from '../activities/model-stage/checkpoints';
import { REPO_ROOT } from '../infra/paths';
import { trainerPython } from '../activities/model-stage/trainer-process';
import type { PerplexityResult } from '../activities/stages/perplexity/run';
import { sourceStage } from '../activities/stages/source/run';
import type { Progress } from '../activities/stages/types';
import { stageKinds } from '../schemas/stages';
import { cancelRun, getRunStatus, startRun, waitForRun, type RunResult } from '../client/runs';
import { configEnv, type DaptConfig } from '../config';
import { domainDocs, generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { plan, waitFor } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { makeStageContext, publishAsInput } from './helpers/stage-context';
import { buildTinyModel } from './helpers/tiny-model';

const run = promisify(execFile);
// A tiny model gains nothing from a second thread, and OpenMP threads spinning against the servers, the workers
// and each other on a small shared machine make training many times slower: one thread per trainer (inherited
// by every trainer this file starts, in-process or in a worker process).
process.env.OMP_NUM_THREADS ??= '1';

let stack: Stack;
let python: string;
let baseModel: string;
let domainDir: string;
let generalDir: string;

before(async () => {
  [stack, python] = await Promise.all([startStack('pretrain'), trainerPython()]);
  domainDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'domain', 'contracts.jsonl'), domainDocs(240), 12));
  generalDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'general', 'everyday.jsonl'), generalDocs(120)));
  baseModel = path.join(stack.dir, 'tiny-bert');
  await buildTinyModel({ corpus: [path.join(generalDir, 'everyday.jsonl')], out: baseModel });
});
after(async () => {
  await stack?.stop();
});

const TRAIN = { maxSteps: 300, batchSize: 16, lr: 2e-3, warmupSteps: 10, checkpointEvery: 50, logEvery: 10, seed: 7 };

/** source → dedupe → pretrain (+ general text: held-out probe) → perplexity. */
function pipeline(
  name: string,
  pretrain: Record<string, unknown> = {},
  opts: { stage?: Record<string, unknown>; perplexity?: boolean; domain?: string; checkInputs?: boolean } = {},
) {
  const stages: Record<string, unknown> = {
    domain: { uses: 'source', with: { paths: [opts.domain ?? domainDir] } },
    general: { uses: 'source', with: { paths: [generalDir] } },
    dedupe: { uses: 'dedupe', needs: ['domain'] },
    pretrain: {
      uses: 'pretrain',
      needs: ['dedupe', 'general'],
      ...opts.stage,
      with: { baseModel, seqLen: 64, evalFraction: 0.1, generalFrom: 'general', masking: { strategy: 'whole-word' }, train: TRAIN, device: 'cpu', ...pretrain },
    },
  };
  if (opts.perplexity !== false) stages.perplexity = { uses: 'perplexity', needs: ['pretrain'], with: { maxSequences: 64, device: 'cpu' } };
  return plan({ name, defaults: { retry: { maxAttempts: 3, initialInterval: '200ms', maxInterval: '1s' } }, stages }, { checkInputs: opts.checkInputs });
}

function explain(res: RunResult): string {
  return `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 3000)}`;
}

/** The uninterrupted run of TRAIN: its numbers are the reference of the resume test. */
let reference: { workflowId: string; cfg: DaptConfig; pretrain: Record<string, unknown> } | undefined;

test('source → dedupe → pretrain → perplexity: the adapted model has a lower held-out domain loss than the base', async (t) => {
  const cfg = stack.config('e2e');
  await stack.workers(cfg, ['cpu', 'gpu']);
  const started = await startRun(stack.client, cfg, pipeline('dapt-e2e'));
  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, true, explain(res));

  const pre = res.status.stages.pretrain;
  assert.equal(pre.attempt, 1);
  const pm = pre.metrics!;
  assert.equal(pm['train.steps'], TRAIN.maxSteps);
  assert.ok(!('steps' in pm) && !('finalLoss' in pm), 'one name per number: the trainer\'s');
  assert.equal(pm.resumedFromStep, null);
  assert.ok((pm.checkpointsUploaded as number) >= 2, `checkpoints uploaded: ${pm.checkpointsUploaded}`);
  assert.ok((pm.heldoutDocs as number) > 0 && (pm.generalHeldoutDocs as number) > 0, JSON.stringify(pm));
  assert.ok((pm.trainDocs as number) + (pm.heldoutDocs as number) === 240, 'the 12 duplicates were dropped before training');

  const ppl = res.status.stages.perplexity.metrics as unknown as PerplexityResult;
  const base = ppl.models.base.domain;
  const adapted = ppl.models.adapted.domain;
  assert.ok(adapted.loss! < base.loss!, `domain loss: base ${base.loss}, adapted ${adapted.loss}`);
  assert.ok(adapted.perplexity! < base.perplexity!);
  assert.ok(ppl.delta.domain.loss! < 0);
  assert.ok(typeof ppl.models.adapted.general?.loss === 'number', 'the general held-out set was evaluated too');
  assert.equal(ppl.sets.domain.documents, pm.heldoutDocs);
  t.diagnostic(`held-out domain loss: base ${base.loss?.toFixed(3)}, adapted ${adapted.loss?.toFixed(3)}; general: base ${ppl.models.base.general?.loss?.toFixed(3)}, adapted ${ppl.models.adapted.general?.loss?.toFixed(3)}`);

  // The artifact is the model (HF layout) plus the held-out splits.
  const store = stack.store(cfg);
  const manifest = (await store.readManifest(res.status.stages.pretrain.digest!))!;
  const names = manifest.files.map((f) => f.name);
  for (const n of ['config.json', 'model.safetensors', 'eval/domain.jsonl.gz', 'eval/general.jsonl.gz']) assert.ok(names.includes(n), `${n} in ${names}`);
  assert.equal(manifest.schema, 'hf-model/v1');
  reference = { workflowId: started.workflowId, cfg, pretrain: pm };
});

test('dapt artifacts RUN pretrain --download DIR: transformers loads the directory as is', async (t) => {
  if (!reference) return t.skip('needs the end-to-end run');
  const dir = path.join(stack.dir, 'download');
  const env = { ...process.env, ...configEnv(reference.cfg) };
  await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'dapt.js'), 'artifacts', reference.workflowId, 'pretrain', '--download', dir], { env });
  const modelDir = path.join(dir, 'pretrain');
  const script = [
    'import json, sys, torch',
    'from transformers import AutoModelForMaskedLM, AutoTokenizer',
    'm = AutoModelForMaskedLM.from_pretrained(sys.argv[1]).eval()',
    't = AutoTokenizer.from_pretrained(sys.argv[1])',
    'x = t("The lessee shall indemnify the lessor.", return_tensors="pt")',
    'with torch.no_grad(): y = m(**x).logits',
    'print(json.dumps({"cls": type(m).__name__, "shape": list(y.shape), "vocab": len(t)}))',
  ].join('\n');
  const { stdout } = await run(python, ['-c', script, modelDir]);
  const out = JSON.parse(stdout.trim().split('\n').pop()!) as { cls: string; shape: number[]; vocab: number };
  assert.equal(out.cls, 'BertForMaskedLM');
  assert.equal(out.shape[2] >= out.vocab, true, stdout);
});

/** The pretrain attempt's last heartbeat checkpoint as the server has it (what a retry will get). */
async function serverCheckpoint(workflowId: string): Promise<CheckpointRef | undefined> {
  const desc = await stack.client.workflow.getHandle(workflowId).describe();
  for (const pa of desc.raw.pendingActivities ?? []) {
    const payload = pa.heartbeatDetails?.payloads?.[0];
    if (!(pa.activityId ?? '').startsWith('pretrain') || !payload) continue;
    const details = defaultPayloadConverter.fromPayload<Progress>(payload);
    if (details.checkpoint) return details.checkpoint as CheckpointRef;
  }
  return undefined;
}

function spawnGpuWorker(cfg: DaptConfig, logFile: string): ChildProcess {
  const env = { ...process.env, ...configEnv(cfg), DAPT_TRAINER_PYTHON: python };
  const out = fs.openSync(logFile, 'a');
  return spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'dapt.js'), 'worker', '--queue', 'gpu', '--no-workflows'], { env, stdio: ['ignore', out, out] });
}

/** Processes started by the given worker pid through the trainer launcher (it exports DAPT_PARENT_PID). */
function trainersOf(workerPid: number): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0').includes(`DAPT_PARENT_PID=${workerPid}`)) out.push(Number(p));
    } catch {
      /* gone, or not ours */
    }
  }
  return out;
}

test('SIGKILL of the GPU worker mid-training: another worker resumes from the last stored checkpoint; the final loss matches an uninterrupted run', async (t) => {
  const cfg = stack.config('crash');
  await stack.workers(cfg, ['cpu']); // workflows and data stages here; training in worker processes
  // The base model from the store this time (s3://), as a worker on another machine would get it.
  const store = stack.store(cfg);
  await store.ensureBucket();
  for (const f of fs.readdirSync(baseModel)) await store.client.fPutObject(cfg.store.bucket, `models/tiny-bert/${f}`, path.join(baseModel, f));
  const p = pipeline('dapt-crash', { baseModel: `s3://${cfg.store.bucket}/models/tiny-bert/` }, { stage: { timeout: { heartbeat: '3s' } }, perplexity: false });

  const logFile = path.join(stack.dir, 'crash-worker.log');
  const first = spawnGpuWorker(cfg, logFile);
  const started = await startRun(stack.client, cfg, p);
  const messages: string[] = [];
  const stepMessage = /^step \d+\/300 loss \d+\.\d+ \S+ tok\/s/;
  const atKill = await waitFor(
    'a checkpoint and a training step in the server-side heartbeats',
    async () => {
      const msg = (await getRunStatus(stack.client, started.workflowId)).stages.pretrain?.message;
      if (msg) messages.push(msg);
      // Heartbeats are throttled: a poll can see the checkpoint before it saw any step message; wait for both.
      return messages.some((m) => stepMessage.test(m)) ? serverCheckpoint(started.workflowId) : undefined;
    },
    120_000,
  );
  const trainers = trainersOf(first.pid!);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  assert.ok(trainers.length >= 1, 'the trainer was running under the killed worker');
  // The trainer dies with its worker (no orphan training on): PR_SET_PDEATHSIG.
  await waitFor('the trainer to die with its worker', async () => trainersOf(first.pid!).length === 0, 10_000);
  assert.ok(messages.some((m) => stepMessage.test(m)), `heartbeat messages: ${messages.slice(-3)}`);

  const second = spawnGpuWorker(cfg, logFile);
  try {
    const res = await waitForRun(stack.client, started.workflowId);
    assert.equal(res.ok, true, `${explain(res)}\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`);
    const pre = res.status.stages.pretrain;
    const m = pre.metrics!;
    assert.ok(pre.attempt >= 2, `attempt ${pre.attempt}`);
    assert.equal(m.attempt, pre.attempt);
    const resumed = m.resumedFromStep as number;
    assert.ok(resumed >= atKill.step, `resumed from step ${resumed}, the server had the checkpoint of step ${atKill.step}`);
    assert.ok(resumed > 0 && resumed < TRAIN.maxSteps);
    const firstStep = m.firstStep as number;
    assert.ok(firstStep > resumed && firstStep <= resumed + TRAIN.logEvery, `first step of the retry ${firstStep}, resumed from ${resumed}`);
    // What an operator sizes workers and timeouts by: the retry's own start-up, and the trainer process's peak memory.
    assert.ok((m.secondsToFirstProgress as number) > 0, `secondsToFirstProgress ${m.secondsToFirstProgress}`);
    assert.ok((m['process.peakRssMb'] as number) > 100, `the trainer (torch loaded) peaked at ${m['process.peakRssMb']} MiB`);
    assert.equal(m['train.steps'], TRAIN.maxSteps);
    assert.equal(m['data.tokenShardsBuilt'], 0, 'the retry tokenised nothing: the killed attempt left its token shards in the token cache');
    t.diagnostic(`killed with checkpoint ${atKill.step} on the server; attempt ${pre.attempt} resumed from step ${resumed}, first progress at step ${firstStep}, final loss ${m['train.finalLoss']} (uninterrupted: ${reference?.pretrain['train.finalLoss']})`);

    // Same data, same seeds: the interrupted run ends where the uninterrupted one did.
    const ref = reference?.pretrain;
    if (!ref) t.diagnostic('no uninterrupted reference run (the first test did not run): final loss not compared');
    else {
      const close = (a: unknown, b: unknown, what: string) =>
        assert.ok(Math.abs((a as number) - (b as number)) <= 1e-3 * Math.max(1, Math.abs(b as number)), `${what}: resumed ${a}, uninterrupted ${b}`);
      close(m['train.finalLoss'], ref['train.finalLoss'], 'final training loss');
      for (const k of Object.keys(ref).filter((k) => /loss/i.test(k) && typeof ref[k] === 'number')) close(m[k], ref[k], k);
    }
  } finally {
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
  }
});

test('config mistakes fail the stage at once (attempt 1), naming the field or the path', async (t) => {
  const cfg = stack.config('bad');
  await stack.workers(cfg, ['cpu', 'gpu'], 3);
  const missing = path.join(stack.dir, 'no-such-model');
  const few = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'few', 'few.jsonl'), [{ id: 'a', text: 'The lease.' }, { id: 'b', text: 'A deed.' }]));
  const cases = [
    // Caught by the trainer (exit 2, its message passed on): too little text for one training sequence.
    { name: 'bad-data', with: { evalFraction: 0 }, domain: few, expect: /the trainer rejected its config: data\.train: the training data holds no full sequence/ },
    // The pipeline's configOverrides reach the trainer, which checks them against the base model's config.
    { name: 'bad-override', with: { configOverrides: { hidden_dropout: 0 } }, expect: /the trainer rejected its config: model\.configOverrides\.hidden_dropout: BertConfig has no attribute 'hidden_dropout'/ },
    // Caught by the activity before the trainer starts.
    { name: 'bad-seqlen', with: { seqLen: 4096 }, expect: /seqLen: 4096 is longer than the base model's 128 positions/ },
    // The compiler reports this one first (test/spec.preflight.test.ts); the plan skips that to reach the stage's own check.
    { name: 'bad-masking', with: { masking: { strategy: 'lexicon' } }, checkInputs: false, expect: /masking\.strategy: lexicon masking needs a lexicon input/ },
    { name: 'bad-base', with: { baseModel: missing }, expect: new RegExp(`baseModel: model directory ${missing} does not exist`) },
  ];
  await Promise.all(
    cases.map(async (c) => {
      const p = pipeline(c.name, c.with, { domain: c.domain, checkInputs: c.checkInputs });
      const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p)).workflowId);
      assert.equal(res.ok, false, c.name);
      const s = res.status.stages.pretrain;
      assert.equal(s.state, 'failed', c.name);
      assert.equal(s.attempt, 1, `${c.name}: not retried`);
      assert.match(s.error ?? '', c.expect, c.name);
      t.diagnostic(`${c.name}: ${(s.error ?? '').split('\n')[0]}`);
      assert.equal(res.status.stages.perplexity.state, 'skipped', c.name);
    }),
  );
});

test('cancelling the run: the trainer gets SIGTERM, stores a checkpoint of where it stopped and exits; nothing is left running', async () => {
  const cfg = stack.config('cancel');
  await stack.workers(cfg, ['cpu', 'gpu']);
  // No periodic checkpoint in this run: whatever checkpoint reaches the store was written on SIGTERM. A short
  // heartbeat timeout makes heartbeats (and with them the cancellation) travel every few seconds.
  const p = pipeline('dapt-cancel', { train: { ...TRAIN, checkpointEvery: 10_000 } }, { perplexity: false, stage: { timeout: { heartbeat: '3s' } } });
  const started = await startRun(stack.client, cfg, p);
  const seen = await waitFor(
    'training progress',
    async () => Number(/^step (\d+)\//.exec((await getRunStatus(stack.client, started.workflowId)).stages.pretrain?.message ?? '')?.[1]),
    120_000,
  );
  await cancelRun(stack.client, started.workflowId);
  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, false);
  assert.equal(res.status.stages.pretrain.state, 'cancelled');
  const store = stack.store(cfg);
  const stored = await store.list('ledger/pretrain/');
  assert.equal(stored.length, 1, JSON.stringify(stored));
  const step = Number(/step-(\d+)\.json$/.exec(stored[0].key)?.[1]);
  assert.ok(step >= seen && step < TRAIN.maxSteps, `SIGTERM checkpoint at step ${step}, progress seen at ${seen}`);
  assert.deepEqual(trainersOf(process.pid), [], 'no trainer process left');
});

test('lexicon input: vocabulary extension and lexicon masking get the staged lexicon (stage run directly)', async () => {
  const store = stack.store(stack.config('lexicon'));
  await store.ensureBucket();
  const src = makeStageContext({ store, params: stageKinds.source.params.parse({ paths: [domainDir] }) });
  const docs = await publishAsInput(store, 'docs', await sourceStage.run!(src.ctx));
  src.cleanup();
  const words = ['indemnitor', 'subrogation', 'encumbrance', 'jurisdictional', 'consequential'];
  const lexFile = path.join(stack.dir, 'lexicon.jsonl');
  fs.writeFileSync(lexFile, words.map((w, i) => JSON.stringify({ word: w, freq: 100 - i, score: 1 })).join('\n') + '\n');
  const manifest = await store.writeManifest({
    kind: 'lexicon',
    schema: 'lexicon/v1',
    files: [await store.putFile(lexFile, 'lexicon.jsonl', words.length)],
    producer: { pipeline: 'test', run: 'run-1', stage: 'newwords', stageKind: 'newwords', attempt: 1, cacheKey: 'nw', createdAt: new Date().toISOString() },
    parents: [],
    metrics: {},
  });
  const params = stageKinds.pretrain.params.parse({
    baseModel,
    seqLen: 64,
    masking: { strategy: 'lexicon' },
    vocab: { extend: true },
    train: { maxSteps: 20, batchSize: 8, logEvery: 10, checkpointEvery: 10, seed: 3 },
    device: 'cpu',
  });
  const t = makeStageContext({ store, params, stage: 'pretrain', inputs: [docs, { stage: 'newwords', manifest }] });
  try {
    const out = await pretrainStage.run!(t.ctx);
    const m = out.metrics!;
    assert.equal(m.lexiconWords, words.length);
    assert.ok((m['vocab.tokensAdded'] as number) > 0, JSON.stringify(m));
    assert.ok((m['vocab.tokensPerDocAfter'] as number) < (m['vocab.tokensPerDocBefore'] as number), JSON.stringify(m));
    assert.equal(m['train.steps'], 20);
    // Each checkpoint was stored before the heartbeat named it.
    const cp = t.lastCheckpoint() as CheckpointRef;
    assert.equal(cp.step, 20);
    assert.ok(await store.getJson(cp.index), `${cp.index} in the store`);
    assert.ok(t.progressLog.some((p) => /^step 10\/20 loss /.test(p.message ?? '')));
  } finally {
    t.cleanup();
  }
});
