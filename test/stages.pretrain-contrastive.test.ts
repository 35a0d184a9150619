/**
 * Contrastive continual pretraining (`contrastive` of the pretrain stage: MLM + weight × SimCSE InfoNCE) through
 * the engine on the real stack (Temporal, MinIO, the trainer on CPU): the same pretraining with and without it in
 * one run, then a report. The option reaches the trainer (its InfoNCE numbers are in the stage's metrics and fall
 * during training), is part of the cache key, and the report says it was used and what the InfoNCE term did;
 * with objective clm the spec does not compile.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startRun, waitForRun } from '../client/runs';
import { compilePipeline, formatIssues } from '../schemas';
import { domainDocs, generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { plan } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { buildTinyModel } from './helpers/tiny-model';

process.env.OMP_NUM_THREADS ??= '1'; // a tiny model gains nothing from threads spinning against the servers

let stack: Stack;
let baseModel: string;
let domainDir: string;
let generalDir: string;

before(async () => {
  stack = await startStack('pretrain-contrastive');
  domainDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'domain', 'contracts.jsonl'), domainDocs(160)));
  generalDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'general', 'everyday.jsonl'), generalDocs(80)));
  baseModel = await buildTinyModel({ corpus: [path.join(generalDir, 'everyday.jsonl')], out: path.join(stack.dir, 'tiny-bert'), hidden: 32, layers: 1 });
});
after(async () => {
  await stack?.stop();
});

const TRAIN = { maxSteps: 30, batchSize: 8, lr: 3e-3, warmupSteps: 3, checkpointEvery: 1000, logEvery: 5, seed: 5 };
const CONTRASTIVE = { weight: 0.5, temperature: 0.1, pooling: 'mean' };

function pretrainStage(extra: Record<string, unknown> = {}) {
  return {
    uses: 'pretrain',
    needs: ['domain', 'general'],
    with: { baseModel, seqLen: 48, evalFraction: 0.1, generalFrom: 'general', train: TRAIN, device: 'cpu', ...extra },
  };
}

test('pretrain with contrastive: InfoNCE in the metrics, falling; another cache key than without; a report line', async (t) => {
  const cfg = stack.config('contrastive');
  await stack.workers(cfg, ['cpu', 'gpu']);
  const stages = {
    domain: { uses: 'source', with: { paths: [domainDir] } },
    general: { uses: 'source', with: { paths: [generalDir] } },
    plain: pretrainStage(),
    contrastive: pretrainStage({ contrastive: CONTRASTIVE }),
    report: { uses: 'report', needs: ['plain', 'contrastive'], with: { title: 'contrastive' } },
  };
  const started = await startRun(stack.client, cfg, plan({ name: 'dapt-contrastive', defaults: { retry: { maxAttempts: 2, initialInterval: '200ms' } }, stages }));
  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, true, `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 3000)}`);

  const plain = res.status.stages.plain;
  const cl = res.status.stages.contrastive;
  assert.notEqual(cl.cacheKey, plain.cacheKey, 'the option is part of the cache key');
  const pm = plain.metrics!;
  const cm = cl.metrics!;
  assert.deepEqual(cm.contrastive, CONTRASTIVE);
  assert.ok(!('contrastive' in pm) && !('train.finalContrastiveLoss' in pm), JSON.stringify(pm));
  const first = cm['train.firstContrastiveLoss'] as number;
  const last = cm['train.finalContrastiveLoss'] as number;
  assert.ok(Number.isFinite(first) && Number.isFinite(last) && last > 0, JSON.stringify(cm));
  assert.ok(last < first, `InfoNCE ${first} → ${last}: training on the term lowers it`);
  for (const m of [pm, cm]) assert.equal(typeof m['eval.domain.loss'], 'number', 'the held-out MLM loss is measured either way');
  t.diagnostic(`InfoNCE ${first.toFixed(3)} → ${last.toFixed(3)}; held-out domain MLM loss: plain ${(pm['eval.domain.loss'] as number).toFixed(3)}, contrastive ${(cm['eval.domain.loss'] as number).toFixed(3)}; train loss plain ${(pm['train.finalLoss'] as number).toFixed(3)}, contrastive (MLM + 0.5·InfoNCE) ${(cm['train.finalLoss'] as number).toFixed(3)}`);

  const store = stack.store(cfg);
  const report = (await store.readManifest(res.status.stages.report.digest!))!;
  const file = path.join(stack.dir, 'report.html');
  await store.downloadFile(report.files.find((f) => f.name === 'report.html')!.key, file);
  const html = fs.readFileSync(file, 'utf8');
  const lines = html.match(/<p>Contrastive pretraining \(SimCSE InfoNCE[^<]*<\/p>/g) ?? [];
  assert.equal(lines.length, 1, 'said once: for the stage that used it');
  assert.match(lines[0], /mean pooling, weight 0\.5, τ 0\.1\): InfoNCE [\d.]+ at the first log → [\d.]+ at the last/);
  assert.match(html, new RegExp(`data-key="train\\.contrastive\\.train\\.finalContrastiveLoss"[^>]*data-value="${last}"`));
});

test('contrastive with objective clm does not compile: the spec names the field', () => {
  const res = compilePipeline({
    name: 'clm-contrastive',
    stages: { domain: { uses: 'source', with: { paths: [domainDir] } }, pre: { uses: 'pretrain', needs: ['domain'], with: { baseModel, objective: 'clm', train: TRAIN, contrastive: {} } } },
  });
  assert.equal(res.ok, false);
  assert.match(formatIssues('p.yaml', res.ok ? [] : res.issues), /stages\.pre\.with\.contrastive: only with objective mlm \(got clm\)/);
});
