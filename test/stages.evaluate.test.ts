/**
 * Downstream evaluation through the engine, with the real trainer on CPU: source(domain corpus) → pretrain (a
 * tiny randomly initialised BERT) → evaluate on the generated legal-topic task (examples/demo/domain-task.ts),
 * whose test set uses domain terms the labeled train set never shows. Domain-adaptive pretraining is what makes
 * them carry over, so the adapted model must beat the base on macro-F1 averaged over seeds. Also: pseudolabel
 * (threshold and per-class cap hold in the stored dataset, which then joins evaluate's training data), NER on
 * the same terms, and config mistakes failing at once with the path named.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FinetuneMetrics } from '../activities/stages/evaluate/run';
import type { PseudolabelMetrics, PseudoRow } from '../activities/stages/pseudolabel/run';
import type { ArtifactStore } from '../activities/store';
import { startRun, waitForRun, type RunResult } from '../client/runs';
import { generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { TASK_LABELS, TOPICS, writeTaskFiles, type TaskFiles } from '../examples/demo/domain-task';
import { plan } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { buildTinyModel } from './helpers/tiny-model';
import { decompressedBuffer, isShardName } from '../activities/shard-codec';

// One thread per trainer: a tiny model gains nothing from more, and threads spinning against the servers and
// the workers on a small shared machine make training many times slower.
process.env.OMP_NUM_THREADS ??= '1';

// Another seed gives another corpus, task and pretraining run (DAPT_TEST_SEED=1 …: the result must not hinge on one draw).
const SEED = Number(process.env.DAPT_TEST_SEED ?? 0);

let stack: Stack;
let task: TaskFiles;
let baseModel: string;

before(async () => {
  stack = await startStack('evaluate');
  task = writeTaskFiles(path.join(stack.dir, 'task'), { seed: SEED });
  const general = writeJsonl(path.join(stack.dir, 'general', 'everyday.jsonl'), generalDocs(120));
  baseModel = path.join(stack.dir, 'tiny-bert');
  // The tokenizer knows the domain terms as words, the randomly initialised model knows nothing about them: what
  // it learns of them comes from pretraining (on the corpus) and fine-tuning (on the train terms only).
  await buildTinyModel({ corpus: [general, task.corpus], out: baseModel });
});
after(async () => {
  await stack?.stop();
});

const PRETRAIN = {
  baseModel: '',
  seqLen: 64,
  // One document per sequence: each sequence is about one topic, so the terms' contexts are clean, and the
  // clusters form within a small budget (packed sequences mixing topics needed more steps on some seeds).
  packing: false,
  evalFraction: 0,
  masking: { strategy: 'token' },
  train: { maxSteps: 1200, batchSize: 16, lr: 2e-3, warmupSteps: 10, checkpointEvery: 5000, logEvery: 50, seed: 7 + SEED },
  device: 'cpu',
};
const FINETUNE = { seeds: [1, 2], epochs: 25, batchSize: 16, lr: 1e-3, warmupRatio: 0.1, logEvery: 5, device: 'cpu' };

function stages(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    corpus: { uses: 'source', with: { paths: [path.dirname(task.corpus)] } },
    pretrain: { uses: 'pretrain', needs: ['corpus'], with: { ...PRETRAIN, baseModel } },
    ...extra,
  };
}

function pipeline(name: string, extra: Record<string, unknown>, opts: { checkInputs?: boolean } = {}) {
  return plan({ name, defaults: { retry: { maxAttempts: 3, initialInterval: '200ms', maxInterval: '1s' } }, stages: stages(extra) }, opts);
}

function explain(res: RunResult): string {
  return `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 4000)}`;
}

async function readText(store: ArtifactStore, key: string, gz = false): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(key)) chunks.push(c as Buffer);
  const buf = Buffer.concat(chunks);
  return (gz ? await decompressedBuffer(buf) : buf).toString('utf8');
}

/** The metrics.json file an evaluate stage stored (not the status copy). */
async function storedMetrics(store: ArtifactStore, digest: string): Promise<FinetuneMetrics> {
  const manifest = (await store.readManifest(digest))!;
  assert.equal(manifest.kind, 'metrics');
  assert.equal(manifest.schema, 'finetune-metrics/v1');
  const file = manifest.files.find((f) => f.name === 'metrics.json')!;
  const m = JSON.parse(await readText(store, file.key)) as FinetuneMetrics;
  assert.deepEqual(manifest.metrics, JSON.parse(JSON.stringify(m)), 'the manifest carries the same numbers');
  return m;
}

const cls = () => ({ train: task.classification.train, dev: task.classification.dev, test: task.classification.test });

test('source → pretrain → evaluate: the domain-adapted model beats the base on held-out domain terms (macro-F1 over seeds)', async (t) => {
  const cfg = stack.config('dapt');
  await stack.workers(cfg, ['cpu', 'gpu']);
  const p = pipeline('dapt-evaluate', {
    evaluate: { uses: 'evaluate', needs: ['pretrain'], with: { task: 'classification', data: cls(), ...FINETUNE } },
    report: { uses: 'report', needs: ['evaluate'] },
  });
  const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p)).workflowId);
  assert.equal(res.ok, true, explain(res));

  const m = await storedMetrics(stack.store(cfg), res.status.stages.evaluate.digest!);
  assert.equal(m.task, 'classification');
  assert.equal(m.primary, 'macroF1');
  assert.deepEqual([...m.labels].sort(), [...TASK_LABELS].sort());
  const base = m.models.base;
  const adapted = m.models.adapted;
  for (const [name, s] of Object.entries({ base, adapted })) {
    assert.deepEqual(s.seeds.map((x) => x.seed), FINETUNE.seeds, name);
    assert.deepEqual(Object.keys(s.perClassF1).sort(), [...TASK_LABELS].sort(), `${name}: F1 of every class`);
    const mean = s.seeds.reduce((sum, x) => sum + x.macroF1, 0) / s.seeds.length;
    assert.ok(Math.abs(s.mean.macroF1 - mean) < 1e-9, `${name}: mean of the seeds`);
  }
  assert.match(base.source, /tiny-bert/);
  assert.equal(adapted.source, 'the model of stage pretrain');
  t.diagnostic(
    `macro-F1 base ${base.seeds.map((s) => s.macroF1.toFixed(3)).join('/')} (mean ${base.mean.macroF1.toFixed(3)}), ` +
      `adapted ${adapted.seeds.map((s) => s.macroF1.toFixed(3)).join('/')} (mean ${adapted.mean.macroF1.toFixed(3)}); accuracy Δ ${m.delta.accuracy.toFixed(3)}`,
  );
  // The test terms are new to a model that only saw the train terms: the base stays near chance (0.25 for four
  // classes), the adapted model learned from the corpus which terms go together.
  assert.ok(adapted.mean.macroF1 > base.mean.macroF1 + 0.15, `macro-F1: base ${base.mean.macroF1}, adapted ${adapted.mean.macroF1}`);
  assert.ok(Math.abs(m.delta.macroF1 - (adapted.mean.macroF1 - base.mean.macroF1)) < 1e-9);
  assert.equal(m.improved, true);
  // The paired interval of adapted − base (trainer/paired_bootstrap.py) is around the same difference of the means.
  const iv = m.comparison.adapted.macroF1;
  assert.ok(Math.abs(iv.difference - m.delta.macroF1) < 1e-9 && iv.lower <= iv.difference && iv.difference <= iv.upper, JSON.stringify(iv));
  assert.deepEqual([iv.seeds, iv.items, iv.confidence], [FINETUNE.seeds.length, 120, 0.95]);
  // …and the run's report says so.
  const reportManifest = (await stack.store(cfg).readManifest(res.status.stages.report.digest!))!;
  const html = await readText(stack.store(cfg), reportManifest.files.find((f) => f.name === 'report.html')!.key);
  assert.match(html, /the adapted model <b class="better" data-key="eval\.evaluate\.improved">improved<\/b> macroF1 \(\+/);
  assert.deepEqual(m.data, { train: 48, pseudoLabeled: 0, dev: 20, test: 120, pairs: 0 });

  // A loss curve per model and seed, for the report.
  assert.deepEqual(m.curves.map((c) => `${c.model}/${c.seed}`).sort(), ['adapted/1', 'adapted/2', 'base/1', 'base/2']);
  for (const c of m.curves) {
    assert.ok(c.points.length >= 2 && c.points.length <= 40, `${c.model}/${c.seed}: ${c.points.length} points`);
    assert.ok(c.points[0].step <= FINETUNE.logEvery && c.steps === c.points[c.points.length - 1].step, JSON.stringify(c).slice(0, 300));
    assert.ok(c.finalLoss < c.firstLoss, `${c.model}/${c.seed}: the training loss went down (${c.firstLoss} → ${c.finalLoss})`);
  }
});

test('pseudolabel → evaluate: kept rows respect the threshold and the per-class cap and join the training data; NER; augment pairs → UDA', async (t) => {
  const cfg = stack.config('dapt'); // same store and queues: the pretrain stage comes from the cache
  await stack.workers(cfg, ['cpu', 'gpu']);
  const threshold = 0.6; // the teacher's confidence varies between machines: 0.8 sometimes kept no row
  const cap = 12;
  const p = pipeline('dapt-pseudo', {
    unlabeled: { uses: 'source', with: { paths: [path.dirname(task.unlabeled)] } },
    pseudolabel: {
      uses: 'pseudolabel',
      needs: ['pretrain', 'unlabeled'],
      with: { data: { train: task.classification.train }, threshold, perClassCap: cap, epochs: 30, batchSize: 16, lr: 1e-3, device: 'cpu' },
    },
    evaluate: { uses: 'evaluate', needs: ['pretrain', 'pseudolabel'], with: { data: cls(), ...FINETUNE, seeds: [1] } },
    ner: { uses: 'evaluate', needs: ['pretrain'], with: { task: 'ner', data: { ...task.ner! }, ...FINETUNE, seeds: [1], batchSize: 8, epochs: 40 } },
    pairs: { uses: 'augment', needs: ['unlabeled'], with: { eda: { swap: 0.2, delete: 0.1 }, seed: 1 } },
    uda: { uses: 'evaluate', needs: ['pretrain', 'pairs'], with: { data: cls(), ...FINETUNE, seeds: [1], epochs: 10, uda: { unlabeledBatchRatio: 2 } } },
    // the ablation: one arm per part, a control pretrained on general text (briefly: the mechanics, not the effect)
    general: { uses: 'source', with: { paths: [path.join(stack.dir, 'general')] } },
    control: { uses: 'pretrain', needs: ['general'], with: { ...PRETRAIN, baseModel, train: { ...PRETRAIN.train, maxSteps: 20 } } },
    // adversarial training, R-Drop and the contrastive loss through the stage: their summaries reach the metrics
    robust: {
      uses: 'evaluate',
      needs: ['pretrain'],
      with: { data: cls(), ...FINETUNE, seeds: [1], epochs: 2, adversarial: { method: 'pgd', epsilon: 0.5, steps: 2 }, rdrop: { alpha: 0.5 }, contrastive: { weight: 0.1 } },
    },
    // prompt-based: the MLM head scores a context word per topic at the mask; pretraining taught the adapted
    // model's head which context words go with which terms, the base's head knows nothing
    prompt: {
      uses: 'evaluate',
      needs: ['pretrain'],
      with: {
        data: cls(),
        ...FINETUNE,
        seeds: [1],
        epochs: 4,
        prompt: { template: '{text} It concerns the [MASK].', verbalizer: { property: 'land', employment: 'worker', insurance: 'risk', intellectual: 'brand' } },
      },
    },
    ablation: {
      uses: 'evaluate',
      needs: ['pretrain', 'control', 'pseudolabel', 'pairs'],
      with: { data: cls(), ...FINETUNE, seeds: [1], epochs: 4, uda: { unlabeledBatchRatio: 2 }, ablation: { control: 'control' } },
    },
  });
  const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p)).workflowId);
  assert.equal(res.ok, true, explain(res));
  assert.equal(res.status.stages.pretrain.state, 'cached', 'pretrain reused from the first test');

  const store = stack.store(cfg);
  const manifest = (await store.readManifest(res.status.stages.pseudolabel.digest!))!;
  assert.equal(manifest.kind, 'dataset');
  assert.equal(manifest.schema, 'pseudo-labels/v1');
  const rows: PseudoRow[] = [];
  for (const f of manifest.files.filter((x) => isShardName(x.name))) {
    const lines = (await readText(store, f.key, true)).split('\n').filter(Boolean);
    assert.equal(lines.length, f.records);
    rows.push(...lines.map((l) => JSON.parse(l) as PseudoRow));
  }
  assert.ok(rows.length > 0, 'some rows kept');
  const perClass: Record<string, number> = {};
  for (const r of rows) {
    assert.ok(r.confidence >= threshold, `confidence ${r.confidence} < ${threshold}: ${r.text}`);
    assert.ok(TASK_LABELS.includes(r.label), r.label);
    perClass[r.label] = (perClass[r.label] ?? 0) + 1;
  }
  for (const [label, n] of Object.entries(perClass)) assert.ok(n <= cap, `${label}: ${n} rows > cap ${cap}`);
  // The teacher (the adapted model fine-tuned on the train terms) labels unseen terms mostly right.
  const right = rows.filter((r) => TOPICS[r.label].terms.some((term) => r.text.includes(` ${term} `))).length;
  assert.ok(right >= 0.8 * rows.length, `${right} of ${rows.length} pseudo-labels name the topic of the sentence's term`);
  const pm = manifest.metrics as unknown as PseudolabelMetrics;
  assert.equal(pm.rows, rows.length);
  assert.deepEqual(Object.fromEntries(Object.entries(pm.perClass).map(([l, c]) => [l, c.kept])), perClass);
  assert.equal(pm.unlabeledDocs, 120);
  assert.equal(pm.labeledRows, 48);
  assert.ok(pm.minConfidence >= threshold);
  t.diagnostic(`kept ${rows.length} of 120 (${right} right): ${JSON.stringify(perClass)}, mean confidence ${pm.meanConfidence.toFixed(3)}`);

  const m = await storedMetrics(store, res.status.stages.evaluate.digest!);
  assert.equal(m.data.pseudoLabeled, rows.length);
  assert.equal(m.data.train, 48);
  assert.deepEqual(m.models.base.seeds.map((s) => s.seed), [1]);

  // The NER set tags the same terms: entity-level F1 on the held-out terms.
  const ner = await storedMetrics(store, res.status.stages.ner.digest!);
  assert.equal(ner.task, 'ner');
  assert.equal(ner.primary, 'entityF1');
  const [b, a] = [ner.models.base.mean.entityF1, ner.models.adapted.mean.entityF1];
  t.diagnostic(`ner entity F1: base ${b.toFixed(3)}, adapted ${a.toFixed(3)}`);
  assert.ok(a > b + 0.1, `entity F1: base ${b}, adapted ${a}`);
  assert.deepEqual(Object.keys(ner.models.adapted.perClassF1).sort(), TASK_LABELS.map((l) => l.toUpperCase()).sort());

  // The augment stage's pairs reach UDA: the consistency term shows in the curves and the summary.
  const uda = await storedMetrics(store, res.status.stages.uda.digest!);
  assert.equal(uda.data.pairs, 120);
  assert.ok(uda.uda && typeof uda.uda === 'object', 'the trainer\'s UDA summary');
  for (const c of uda.curves) assert.ok(c.points.every((x) => typeof x.consistencyLoss === 'number'), `${c.model}/${c.seed}: consistency loss in the curve`);

  // The ablation: every arm fine-tuned, each compared with the base; pseudo-labels and UDA only where the arm says.
  const ab = await storedMetrics(store, res.status.stages.ablation.digest!);
  const arms = ['base', 'general-cpt', 'adapted', 'adapted+pl', 'adapted+pl+uda'];
  assert.deepEqual(Object.keys(ab.models), arms);
  assert.deepEqual(Object.keys(ab.comparison).sort(), arms.slice(1).sort());
  assert.equal(ab.models['general-cpt'].source, 'the model of stage control');
  assert.equal(ab.models['adapted+pl+uda'].source, 'the model of stage pretrain, with the pseudo-labels of pseudolabel, with UDA');
  assert.deepEqual(ab.data, { train: 48, pseudoLabeled: rows.length, dev: 20, test: 120, pairs: 120 });
  const curve = (arm: string) => ab.curves.find((c) => c.model === arm)!;
  for (const arm of arms) {
    const withUda = curve(arm).points.some((x) => x.consistencyLoss !== undefined);
    assert.equal(withUda, arm.endsWith('+uda'), `${arm}: consistency loss in the curve only for the +uda arm`);
  }
  // 4 epochs of 48 labeled rows in batches of 16 = 12 steps; the +pl arms also go through the pseudo-labels
  assert.equal(curve('adapted').steps, 12);
  assert.equal(curve('adapted+pl').steps, 4 * Math.ceil((48 + rows.length) / 16));
  // base and adapted saw the same rows: comparison.adapted (what promote reads) is the encoder's effect alone
  assert.equal(curve('base').steps, 12);

  const prompted = await storedMetrics(store, res.status.stages.prompt.digest!);
  const [pb, pa] = [prompted.models.base.mean.macroF1, prompted.models.adapted.mean.macroF1];
  t.diagnostic(`prompt-based macro-F1: base ${pb.toFixed(3)}, adapted ${pa.toFixed(3)}`);
  assert.ok(pa > pb + 0.1, `prompt-based macro-F1: base ${pb}, adapted ${pa}`);

  const robust = (await storedMetrics(store, res.status.stages.robust.digest!)) as FinetuneMetrics & Record<'adversarial' | 'rdrop' | 'contrastive', Record<string, unknown>>;
  assert.deepEqual([robust.adversarial.method, robust.adversarial.epsilon, robust.adversarial.steps, robust.rdrop.alpha], ['pgd', 0.5, 2, 0.5]);
  for (const model of ['base', 'adapted']) {
    const adv = (robust.adversarial.models as Record<string, Record<string, number>>)[model];
    assert.ok(adv.perturbationNorm > 0 && adv.perturbationNorm <= 0.5 + 1e-6, `${model}: ${JSON.stringify(adv)}`);
    assert.ok((robust.rdrop.models as Record<string, Record<string, number>>)[model].rdropKl > 0, model);
    assert.ok((robust.contrastive.models as Record<string, Record<string, number>>)[model].contrastiveLoss > 0, model);
  }
});

test('config mistakes fail at once (attempt 1), naming the path or the field', async (t) => {
  const cfg = stack.config('dapt');
  await stack.workers(cfg, ['cpu', 'gpu']);
  const missing = path.join(stack.dir, 'task', 'classification', 'no-such-test.jsonl');
  const notLabeled = path.join(stack.dir, 'task', 'unlabeled.jsonl');
  fs.writeFileSync(notLabeled, '{"text": "a sentence without a label"}\n');
  const cases = [
    { name: 'missing-file', with: { data: { ...cls(), test: missing } }, expect: new RegExp(`data\\.test: file ${missing} does not exist`) },
    // The compiler reports this one first (test/spec.preflight.test.ts); the plan skips that to reach the stage's own check.
    { name: 'uda-without-pairs', with: { data: cls(), uda: {} }, checkInputs: false, expect: /uda: consistency training needs a needs-stage producing pairs/ },
    // Caught by the trainer (exit 2), its message passed on.
    { name: 'no-labels', with: { data: { ...cls(), train: notLabeled } }, expect: /the trainer rejected its config: .*label/ },
  ];
  await Promise.all(
    cases.map(async (c) => {
      const p = pipeline(`bad-${c.name}`, { evaluate: { uses: 'evaluate', needs: ['pretrain'], with: { ...FINETUNE, ...c.with } } }, { checkInputs: c.checkInputs });
      const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p)).workflowId);
      assert.equal(res.ok, false, c.name);
      const s = res.status.stages.evaluate;
      assert.equal(s.state, 'failed', c.name);
      assert.equal(s.attempt, 1, `${c.name}: not retried`);
      assert.match(s.error ?? '', c.expect, c.name);
      t.diagnostic(`${c.name}: ${(s.error ?? '').split('\n')[0]}`);
    }),
  );
});
