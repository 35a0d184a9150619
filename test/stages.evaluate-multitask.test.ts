/**
 * Multi-task evaluation through the engine with the real trainer on CPU: source → pretrain (a tiny BERT, a short
 * run) → evaluate with two tasks (the legal-topic classification and the NER set of examples/demo/domain-task.ts)
 * on one shared encoder, sampled by temperature; base vs adapted on every task and on their macro average, in the
 * stored metrics and in the report. Also: the spec's checks (one of data/tasks, two tasks at least, single-task
 * options refused) and the tasks' local paths resolved against the pipeline file's folder.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FinetuneMetrics } from '../activities/stages/evaluate/run';
import { EvaluateParams } from '../activities/stages/evaluate/spec';
import type { ArtifactStore } from '../activities/store';
import { startRun, waitForRun, type RunResult } from '../client/runs';
import { generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { writeTaskFiles, type TaskFiles } from '../examples/demo/domain-task';
import { compilePipeline } from '../schemas';
import { resolveLocalPaths } from '../schemas/local-paths';
import { plan } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { buildTinyModel } from './helpers/tiny-model';

process.env.OMP_NUM_THREADS ??= '1';

let stack: Stack;
let task: TaskFiles;
let baseModel: string;

before(async () => {
  stack = await startStack('evaluate-multitask');
  task = writeTaskFiles(path.join(stack.dir, 'task'), { seed: 0 });
  const general = writeJsonl(path.join(stack.dir, 'general', 'everyday.jsonl'), generalDocs(60));
  baseModel = path.join(stack.dir, 'tiny-bert');
  await buildTinyModel({ corpus: [general, task.corpus], out: baseModel });
});
after(async () => {
  await stack?.stop();
});

async function readText(store: ArtifactStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function explain(res: RunResult): string {
  return `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 4000)}`;
}

const TEMPERATURE = 3;

test('evaluate with two tasks: one shared encoder, per-task base vs adapted with intervals, the macro average, the report table', async (t) => {
  const cfg = stack.config('dapt');
  await stack.workers(cfg, ['cpu', 'gpu']);
  const ner = task.ner!;
  const p = plan({
    name: 'dapt-multitask',
    stages: {
      corpus: { uses: 'source', with: { paths: [path.dirname(task.corpus)] } },
      pretrain: {
        uses: 'pretrain',
        needs: ['corpus'],
        with: { baseModel, seqLen: 64, packing: false, evalFraction: 0, masking: { strategy: 'token' }, train: { maxSteps: 40, batchSize: 16, lr: 2e-3, checkpointEvery: 5000, logEvery: 20 }, device: 'cpu' },
      },
      evaluate: {
        uses: 'evaluate',
        needs: ['pretrain'],
        with: {
          tasks: {
            topics: { task: 'classification', data: { train: task.classification.train, test: task.classification.test } },
            entities: { task: 'ner', data: { train: ner.train, dev: ner.dev, test: ner.test } },
          },
          taskSampling: { strategy: 'temperature', temperature: TEMPERATURE },
          seeds: [1, 2],
          epochs: 10,
          batchSize: 16,
          lr: 2e-3,
          logEvery: 5,
          interval: { resamples: 500 },
          device: 'cpu',
        },
      },
      report: { uses: 'report', needs: ['evaluate'] },
    },
  });
  const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p)).workflowId);
  assert.equal(res.ok, true, explain(res));

  const store = stack.store(cfg);
  const manifest = (await store.readManifest(res.status.stages.evaluate.digest!))!;
  assert.equal(manifest.schema, 'finetune-metrics/v1');
  const m = JSON.parse(await readText(store, manifest.files.find((f) => f.name === 'metrics.json')!.key)) as FinetuneMetrics;
  assert.equal(m.task, 'multi-task');
  assert.equal(m.primary, 'taskAverage');
  assert.deepEqual(Object.keys(m.tasks ?? {}).sort(), ['entities', 'topics']);
  const { topics, entities } = m.tasks!;
  assert.equal(topics.primary, 'macroF1');
  assert.equal(entities.primary, 'entityF1');

  // every task: both models over both seeds, mean of the seeds, the paired interval around the difference
  for (const [name, tk] of Object.entries(m.tasks!)) {
    for (const model of ['base', 'adapted']) {
      const s = tk.models[model];
      assert.deepEqual(s.seeds.map((x) => x.seed), [1, 2], `${name}.${model}`);
      const mean = s.seeds.reduce((sum, x) => sum + (x[tk.primary as 'macroF1' | 'entityF1'] ?? NaN), 0) / 2;
      assert.ok(Math.abs(s.mean[tk.primary] - mean) < 1e-9, `${name}.${model}: mean of the seeds`);
    }
    const iv = tk.comparison.adapted[tk.primary];
    assert.ok(iv.lower <= iv.difference && iv.difference <= iv.upper && Math.abs(iv.difference - tk.delta[tk.primary]) < 1e-9, `${name}: ${JSON.stringify(iv)}`);
    assert.equal(iv.seeds, 2);
    t.diagnostic(`${name} ${tk.primary}: base ${tk.models.base.mean[tk.primary].toFixed(3)} → adapted ${tk.models.adapted.mean[tk.primary].toFixed(3)} [${iv.lower.toFixed(3)}, ${iv.upper.toFixed(3)}]`);
  }
  // the NER task has a dev set: the epoch tested is the best on it, one choice for the shared model
  for (const model of ['base', 'adapted']) {
    for (const [i, s] of entities.models[model].seeds.entries()) {
      assert.ok(s.bestEpoch !== undefined && s.bestEpoch >= 1 && s.bestEpoch <= 10, `${model} seed ${s.seed}: ${s.bestEpoch}`);
      assert.equal(topics.models[model].seeds[i].bestEpoch, s.bestEpoch);
    }
  }
  assert.equal(topics.data.test, 120);
  assert.ok(entities.data.dev > 0 && entities.data.train > 0);

  // the macro average: each task counts once, seed by seed
  for (const model of ['base', 'adapted']) {
    m.models[model].seeds.forEach((s, i) => {
      const expected = (topics.models[model].seeds[i].macroF1 + entities.models[model].seeds[i].entityF1!) / 2;
      assert.ok(Math.abs(s.taskAverage! - expected) < 1e-9, `${model} seed ${s.seed}: ${s.taskAverage} vs ${expected}`);
    });
  }
  assert.ok(Math.abs(m.delta.taskAverage - (m.models.adapted.mean.taskAverage - m.models.base.mean.taskAverage)) < 1e-9);
  assert.equal(m.improved, m.delta.taskAverage > 0);

  // temperature sampling over the staged rows: p ∝ n^(1/T)
  const sampling = m.sampling as { proportions: Record<string, number>; trainRows: Record<string, number>; taskSteps: Record<string, Record<string, number>> };
  assert.deepEqual(sampling.trainRows, { topics: topics.data.train, entities: entities.data.train });
  const w = (n: number) => n ** (1 / TEMPERATURE);
  const expectedTopics = w(topics.data.train) / (w(topics.data.train) + w(entities.data.train));
  assert.ok(Math.abs(sampling.proportions.topics - expectedTopics) < 1e-9, JSON.stringify(sampling));
  const steps = sampling.taskSteps.base;
  assert.ok(steps.topics > 0 && steps.entities > 0, JSON.stringify(steps));
  assert.equal(m.data.train, topics.data.train + entities.data.train);

  // one loss curve per model and seed over the shared steps of both tasks: the training went somewhere
  assert.deepEqual(m.curves.map((c) => `${c.model}/${c.seed}`).sort(), ['adapted/1', 'adapted/2', 'base/1', 'base/2']);
  for (const c of m.curves) assert.ok(c.finalLoss < c.firstLoss, `${c.model}/${c.seed}: ${c.firstLoss} → ${c.finalLoss}`);
  t.diagnostic(`rows ${JSON.stringify(sampling.trainRows)}, proportions ${JSON.stringify(sampling.proportions)}, steps ${JSON.stringify(steps)}; loss ${m.curves.map((c) => `${c.firstLoss.toFixed(2)}→${c.finalLoss.toFixed(2)}`).join(' ')}`);

  // the report: a row per task and the macro average
  const report = (await store.readManifest(res.status.stages.report.digest!))!;
  const html = await readText(store, report.files.find((f) => f.name === 'report.html')!.key);
  assert.match(html, /<h4>Per task<\/h4><p>2 tasks on one shared encoder/);
  for (const name of ['topics', 'entities']) assert.match(html, new RegExp(`<tr><th>${name}</th>`));
  assert.match(html, /data-key="eval\.evaluate\.tasks\.entities\.delta"/);
  assert.match(html, /<tr><th>macro average<\/th>/);
});

test('the tasks option: one of data and tasks, two tasks at least, single-task options refused; its local paths resolved', () => {
  const one = { data: { train: 'a.jsonl', test: 'b.jsonl' } };
  const issues = (x: unknown) => {
    const r = EvaluateParams.safeParse(x);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.deepEqual(issues({ ...one, tasks: { a: one, b: one } }), ['tasks: give either data (one task) or tasks (several), not both and not neither']);
  assert.deepEqual(issues({}), ['data: give either data (one task) or tasks (several), not both and not neither']);
  assert.deepEqual(issues({ tasks: { a: one } }), ['tasks: at least two tasks (one task is the data form)']);
  assert.deepEqual(issues({ tasks: { a: one, b: one }, uda: {}, imbalance: 'weights' }), [
    'uda: uda is a single-task option: not available with tasks',
    'imbalance: imbalance is a single-task option: not available with tasks',
  ]);
  assert.deepEqual(issues({ tasks: { 'a b': one, b: one } }).length, 1);
  assert.deepEqual(issues({ tasks: { a: one, b: { ...one, task: 'ner' } }, taskSampling: { strategy: 'size' } }), []);
  assert.deepEqual(issues(one), [], 'the single-task form unchanged');

  // promote's confidence gate needs an interval: a multi-task evaluation has one per task, none for the average
  const data = { train: 's3://b/train.jsonl', test: 's3://b/test.jsonl' };
  const compiled = compilePipeline({
    name: 'gate',
    stages: {
      corpus: { uses: 'source', with: { paths: ['s3://b/corpus/'] } },
      pretrain: { uses: 'pretrain', needs: ['corpus'], with: { baseModel: 's3://b/model/', train: { maxSteps: 1 } } },
      evaluate: { uses: 'evaluate', needs: ['pretrain'], with: { tasks: { a: { data }, b: { data } } } },
      promote: { uses: 'promote', needs: ['pretrain', 'evaluate'], with: { metric: 'evaluate.delta.taskAverage', confidence: 0.95 } },
    },
  });
  assert.equal(compiled.ok, false);
  assert.match(JSON.stringify(compiled.ok ? [] : compiled.issues), /evaluate stage \\"evaluate\\" has several tasks: each has its own interval/);

  const resolved = resolveLocalPaths('evaluate', { tasks: { a: { data: { train: 'x/a.jsonl', test: ['s3://b/t.jsonl', 'y.jsonl'] } } } }, '/pipelines');
  assert.deepEqual(resolved, { tasks: { a: { data: { train: '/pipelines/x/a.jsonl', test: ['s3://b/t.jsonl', '/pipelines/y.jsonl'] } } } });
});
