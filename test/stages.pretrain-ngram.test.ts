/**
 * N-gram adapters (`train.adapter: {type: ngram}` of the pretrain stage, T-DNA) through the engine on the real
 * stack (Temporal, MinIO, the trainer on CPU): newwords mines the lexicon, pretrain trains the adapter on a frozen
 * tiny BERT (whose tokenizer saw general text only, so the domain's terms are several pieces), and the adapted
 * model it stores works downstream: the perplexity stage scores it and the evaluate stage fine-tunes it, each
 * loading the adapter with the model. The report says the adapter was used. Without a lexicon input the spec
 * does not compile.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FinetuneMetrics } from '../activities/stages/evaluate/run';
import type { PerplexityResult } from '../activities/stages/perplexity/run';
import { startRun, waitForRun } from '../client/runs';
import { compilePipeline, formatIssues } from '../schemas';
import { generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { writeTaskFiles, type TaskFiles } from '../examples/demo/domain-task';
import { plan } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { buildTinyModel } from './helpers/tiny-model';

process.env.OMP_NUM_THREADS ??= '1'; // a tiny model gains nothing from threads spinning against the servers

let stack: Stack;
let baseModel: string;
let task: TaskFiles;
let generalDir: string;

before(async () => {
  stack = await startStack('pretrain-ngram');
  task = writeTaskFiles(path.join(stack.dir, 'task'), { corpusDocs: 160 });
  generalDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'general', 'everyday.jsonl'), generalDocs(120)));
  baseModel = await buildTinyModel({ corpus: [path.join(generalDir, 'everyday.jsonl')], out: path.join(stack.dir, 'tiny-bert'), hidden: 32 });
});
after(async () => {
  await stack?.stop();
});

const TRAIN = { maxSteps: 30, batchSize: 8, lr: 1e-2, warmupSteps: 3, checkpointEvery: 1000, logEvery: 5, seed: 5 };
const ADAPTER = { type: 'ngram', layers: 1, maxNgrams: 40 };

test('pretrain with an ngram adapter: the base frozen, the adapter stored beside the model; perplexity and evaluate use it; a report line', async (t) => {
  const cfg = stack.config('ngram');
  await stack.workers(cfg, ['cpu', 'gpu']);
  const stages = {
    domain: { uses: 'source', with: { paths: [path.dirname(task.corpus)] } },
    general: { uses: 'source', with: { paths: [generalDir] } },
    newwords: { uses: 'newwords', needs: ['domain', 'general'], with: { general: 'general', baseVocab: '', minFreq: 3, topK: 60 } },
    pretrain: {
      uses: 'pretrain',
      needs: ['domain', 'newwords'],
      with: { baseModel, seqLen: 48, evalFraction: 0.1, train: { ...TRAIN, adapter: ADAPTER }, device: 'cpu' },
    },
    perplexity: { uses: 'perplexity', needs: ['pretrain'], with: { maxSequences: 32, device: 'cpu' } },
    evaluate: {
      uses: 'evaluate',
      needs: ['pretrain'],
      with: { task: 'classification', data: { train: task.classification.train, dev: task.classification.dev, test: task.classification.test }, seeds: [1], epochs: 2, batchSize: 16, lr: 1e-3, logEvery: 5, device: 'cpu' },
    },
    report: { uses: 'report', needs: ['pretrain', 'perplexity', 'evaluate'], with: { title: 'ngram' } },
  };
  const started = await startRun(stack.client, cfg, plan({ name: 'dapt-ngram', defaults: { retry: { maxAttempts: 2, initialInterval: '200ms' } }, stages }));
  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, true, `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 3000)}`);

  const pm = res.status.stages.pretrain.metrics!;
  const ngrams = pm['adapter.ngrams'] as number;
  assert.ok(ngrams > 0 && ngrams <= ADAPTER.maxNgrams, JSON.stringify(pm));
  assert.equal(pm['adapter.layers'], 1);
  assert.equal(pm['adapter.trainableParameters'], (ngrams + 1) * 32 + 32 * 32, 'the embeddings and one 32×32 map: nothing of the base');

  const store = stack.store(cfg);
  const manifest = (await store.readManifest(res.status.stages.pretrain.digest!))!;
  const names = manifest.files.map((f) => f.name);
  for (const n of ['model.safetensors', 'ngram_adapter.json', 'ngram_adapter.safetensors']) assert.ok(names.includes(n), `${n} in ${names}`);
  const adapterFile = path.join(stack.dir, 'ngram_adapter.json');
  await store.downloadFile(manifest.files.find((f) => f.name === 'ngram_adapter.json')!.key, adapterFile);
  const saved = JSON.parse(fs.readFileSync(adapterFile, 'utf8')) as { layers: number; ngrams: { word: string; sequences: number[][] }[] };
  assert.equal(saved.ngrams.length, ngrams);
  assert.ok(saved.ngrams.every((g) => g.sequences.every((s) => s.length >= 2)), 'every n-gram is several pieces');

  // Downstream: the perplexity stage scored it, the evaluate stage fine-tuned and scored it beside the base.
  const ppl = res.status.stages.perplexity.metrics as unknown as PerplexityResult;
  assert.ok(Number.isFinite(ppl.models.adapted.domain.loss), JSON.stringify(ppl.models));
  // the saved base weights are the base's (the Python tests check that bit for bit): a different loss is the adapter's
  assert.notEqual(ppl.models.adapted.domain.loss, ppl.models.base.domain.loss, 'the perplexity stage loaded the adapter');
  const ev = res.status.stages.evaluate.metrics as unknown as FinetuneMetrics;
  for (const m of ['base', 'adapted']) assert.ok(Number.isFinite(ev.models[m].mean.macroF1), JSON.stringify(ev.models));
  t.diagnostic(`${ngrams} n-grams (${saved.ngrams.slice(0, 5).map((g) => g.word).join(', ')}, …); held-out domain MLM loss base ${ppl.models.base.domain.loss?.toFixed(3)}, adapted ${ppl.models.adapted.domain.loss?.toFixed(3)}; macro-F1 base ${ev.models.base.mean.macroF1.toFixed(3)}, adapted ${ev.models.adapted.mean.macroF1.toFixed(3)}`);

  const report = (await store.readManifest(res.status.stages.report.digest!))!;
  const file = path.join(stack.dir, 'report.html');
  await store.downloadFile(report.files.find((f) => f.name === 'report.html')!.key, file);
  const html = fs.readFileSync(file, 'utf8');
  const params = ((ngrams + 1) * 32 + 32 * 32).toLocaleString('en-US');
  assert.match(html, new RegExp(`<p>N-gram adapter \\(T-DNA\\): ${ngrams} n-grams of the lexicon's \\d+ words[^<]* added to the outputs of the lower 1 layer; ${params} trainable parameters, the base model frozen\\.`));
});

test('an ngram adapter without a lexicon input does not compile: the spec names the field', () => {
  const res = compilePipeline({
    name: 'ngram-no-lexicon',
    stages: { domain: { uses: 'source', with: { paths: [generalDir] } }, pre: { uses: 'pretrain', needs: ['domain'], with: { baseModel, train: { ...TRAIN, adapter: { type: 'ngram' } } } } },
  });
  assert.equal(res.ok, false);
  assert.match(formatIssues('p.yaml', res.ok ? [] : res.issues), /stages\.pre\.with\.train\.adapter: the ngram adapter needs a lexicon input \(a newwords stage in needs\)/);
});
