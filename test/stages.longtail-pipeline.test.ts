/**
 * The long-tail analysis as a pipeline on the real stack (Temporal dev server, MinIO, workers, the trainer):
 * two sources → newwords against the general one → longtail with a tiny BERT trained on general text and a
 * glossary → pretrain with the selected terms' definitions appended to its sequences (dictionary-enhanced MLM) →
 * evaluate with the same definitions after its examples → report. The stored report lists the selected terms
 * and how many definitions pretraining and fine-tuning appended; a glossary
 * path that does not exist, and definitions asked for without a longtail stage, are refused when the plan is
 * compiled, naming the param.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startRun, waitForRun } from '../client/runs';
import type { DaptConfig } from '../config';
import { compilePipeline, formatIssues } from '../schemas';
import { rng } from './helpers/near-corpus';
import { EN_GENERAL, writeVocab } from './helpers/newwords-corpus';
import { plan } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { buildTinyModel } from './helpers/tiny-model';
import { objectText } from './helpers/object-text';

process.env.OMP_NUM_THREADS ??= '1';

let stack: Stack;
let cfg: DaptConfig;
let stages: Record<string, unknown>;

function texts(seed: number, docs: number, planted: string[]): string[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: docs }, () =>
    Array.from({ length: 6 }, () => Array.from({ length: 12 }, (_, i) => (planted.length && i % 6 === 3 ? pick(planted) : pick(EN_GENERAL))).join(' ')).join('. '),
  );
}

function writeJsonl(file: string, list: string[]): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, list.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  return path.dirname(file);
}

before(async () => {
  stack = await startStack('longtail');
  cfg = stack.config('longtail');
  await stack.workers(cfg, ['cpu', 'gpu']);
  const domain = writeJsonl(path.join(stack.dir, 'domain', 'ml.jsonl'), texts(1, 150, ['stochastic gradient descent', 'hyperparameter', 'weight decay']));
  const general = writeJsonl(path.join(stack.dir, 'general', 'everyday.jsonl'), texts(2, 150, []));
  const baseModel = await buildTinyModel({ corpus: [path.join(general, 'everyday.jsonl')], out: path.join(stack.dir, 'tiny-bert'), hidden: 32, layers: 1 });
  const glossary = path.join(stack.dir, 'glossary.jsonl');
  fs.writeFileSync(glossary, [{ term: 'hyperparameter', definition: 'a setting of training chosen before it starts' }, { term: 'Stochastic gradient descent', definition: 'steps along the gradient of a random batch' }, { term: 'teapot', definition: 'a pot for tea; in no document, so never selected' }].map((d) => JSON.stringify(d)).join('\n') + '\n');
  // a labeled task: half the examples mention a glossary term (label jargon), half do not (plain)
  const task = (seed: number, n: number) =>
    texts(seed, n, []).map((t, i) => (i % 2 ? { text: t.split('. ')[0], label: 'plain' } : { text: `${t.split('. ')[0]} hyperparameter`, label: 'jargon' }));
  const taskFile = (name: string, rows: object[]) => {
    const file = path.join(stack.dir, 'task', `${name}.jsonl`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return file;
  };
  stages = {
    domain: { uses: 'source', with: { paths: [domain] } },
    general: { uses: 'source', with: { paths: [general] } },
    newwords: { uses: 'newwords', needs: ['domain', 'general'], with: { general: 'general', baseVocab: writeVocab(stack.dir) } },
    longtail: { uses: 'longtail', needs: ['newwords'], with: { baseModel, dictionary: glossary } },
    pretrain: {
      uses: 'pretrain',
      needs: ['domain', 'longtail'],
      with: { baseModel, seqLen: 64, evalFraction: 0.1, dictionary: { inject: 'selected', perTermTokens: 12 }, train: { maxSteps: 4, batchSize: 4, lr: 2e-3, checkpointEvery: 100, logEvery: 2 }, device: 'cpu' },
    },
    evaluate: {
      uses: 'evaluate',
      needs: ['pretrain', 'longtail'],
      with: { data: { train: taskFile('train', task(3, 16)), test: taskFile('test', task(4, 8)), maxLength: 48 }, dictionary: { inject: 'selected' }, seeds: [1], epochs: 1, maxSteps: 2, batchSize: 8, device: 'cpu' },
    },
    report: { uses: 'report', needs: ['longtail', 'pretrain', 'evaluate'], with: { title: 'Long tail' } },
  };
});
after(async () => {
  await stack?.stop();
});

test('newwords → longtail → pretrain with definitions → report: the selected terms, and the definitions appended', async () => {
  const started = await startRun(stack.client, cfg, plan({ name: 'longtail', stages }));
  const result = await waitForRun(stack.client, started.workflowId);
  assert.equal(result.ok, true, `${result.error}\n${JSON.stringify(result.status.stages, null, 1).slice(0, 3000)}`);
  const store = stack.store(cfg);
  const lt = (await store.readManifest(result.status.stages.longtail.digest!))!;
  assert.equal(lt.kind, 'lexicon');
  assert.equal(lt.schema, 'longtail/v1');
  assert.equal(lt.metrics.selected, 2, JSON.stringify(lt.metrics));
  const wd = (lt.metrics.table as { word: string; defined: boolean; need: number }[]).find((r) => r.word === 'weight decay');
  assert.ok(wd && !wd.defined && wd.need > 0.9 && (lt.metrics.undefinedNeedy as number) >= 1, `weight decay needs knowledge but has no definition: ${JSON.stringify(wd)}`);
  // pretrain read the longtail stage's dictionary.jsonl: only the 2 selected of its 3 terms are injected
  const pt = (await store.readManifest(result.status.stages.pretrain.digest!))!.metrics;
  assert.equal(pt['dictionary.terms'], 2, JSON.stringify(pt));
  assert.equal(pt['dictionary.termsUsed'], 2, JSON.stringify(pt));
  assert.equal(pt['dictionary.sequences'], 16); // 4 steps × 4 sequences
  const withDefs = pt['dictionary.sequencesWithDefinitions'] as number;
  assert.ok(withDefs > 0 && (pt['dictionary.definitionsAppended'] as number) >= withDefs, JSON.stringify(pt));
  assert.equal(pt['dictionary.sequenceShare'], withDefs / 16);
  // evaluate appended them to the examples that mention a selected term: half of each set
  const ev = (await store.readManifest(result.status.stages.evaluate.digest!))!.metrics.dictionary as Record<string, unknown>;
  assert.deepEqual({ ...ev, path: undefined }, { path: undefined, inject: 'selected', terms: 2, examplesWithDefinitions: { train: 0.5, test: 0.5 } });
  const report = (await store.readManifest(result.status.stages.report.digest!))!;
  const html = await objectText(store, report.files[0].key);
  assert.match(html, /<section id="longtail" data-section="longtail"><h2>Long-tail terms<\/h2>/);
  for (const term of ['hyperparameter', 'stochastic gradient descent']) assert.match(html, new RegExp(`<tr data-term="${term}" class="selected">`), term);
  assert.match(html, /<tr data-term="weight decay"><td>/);
  const line = new RegExp(`Pretrain stage <code>pretrain</code> \\(dictionary-enhanced MLM\\): ${pt['dictionary.definitionsAppended']} definitions appended in ${((withDefs / 16) * 100).toFixed(1)}% of 16 training sequences, 2 distinct terms of 2 injectable`);
  assert.match(html, line);
  assert.match(html, /Evaluate stage <code>evaluate<\/code>: definitions appended to 50.0% of the train, 50.0% of the test examples \(inject selected, 2 injectable terms\)/);
});

test('definitions without a longtail stage (or one without a glossary) are refused when the plan is compiled', () => {
  const fromNewwords = structuredClone(stages) as Record<string, { needs?: string[]; with: Record<string, unknown> }>;
  fromNewwords.pretrain.needs = ['domain', 'newwords'];
  fromNewwords.report.needs = ['pretrain'];
  delete (fromNewwords as Record<string, unknown>).evaluate;
  const res = compilePipeline({ name: 'longtail', stages: fromNewwords });
  assert.equal(res.ok, false);
  assert.match(res.ok ? '' : formatIssues('<spec>', res.issues), /stages\.pretrain\.with\.dictionary.*longtail stage with a dictionary to needs \(the lexicon input newwords is not a longtail stage\)/);
  const noGlossary = structuredClone(stages) as Record<string, { with: Record<string, unknown> }>;
  delete noGlossary.longtail.with.dictionary;
  const res2 = compilePipeline({ name: 'longtail', stages: noGlossary });
  const issues = res2.ok ? '' : formatIssues('<spec>', res2.issues);
  for (const stage of ['pretrain', 'evaluate']) assert.match(issues, new RegExp(`stages\\.${stage}\\.with\\.dictionary.*longtail stage "longtail" has no glossary`));
  const off = structuredClone(noGlossary) as Record<string, { with: Record<string, unknown> }>;
  off.pretrain.with.dictionary = { inject: 'off' };
  delete off.evaluate.with.dictionary;
  assert.equal(compilePipeline({ name: 'longtail', stages: off }).ok, true);
});

test('a glossary that does not exist is refused when the plan is compiled', () => {
  const missing = structuredClone(stages) as { longtail: { with: { dictionary: string } } };
  missing.longtail.with.dictionary = path.join(stack.dir, 'no-glossary.jsonl');
  const res = compilePipeline({ name: 'longtail', stages: missing }, { checkPaths: true });
  assert.equal(res.ok, false);
  const text = res.ok ? '' : formatIssues('<spec>', res.issues);
  assert.match(text, /stages\.longtail\.with\.dictionary/);
  assert.match(text, /no such file or directory: .*no-glossary\.jsonl/);
});
