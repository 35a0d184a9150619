/**
 * The honest protocol at tiny size (issue #13): bench/adapt/protocol.py runs every ablation arm and computes the
 * paired intervals; the promote gate with `confidence` decides on the interval's lower bound. The trainer is the
 * real one (tiny models on a generated task), the promote stage runs against a real MinIO with the evaluate
 * stage's own metrics (finetuneMetrics of the trainer's metrics.json):
 * - the same model as base and adapted gives the interval [0, 0]: never promoted;
 * - a clear gain (the adapted arm starts from a model already fine-tuned on the task) has an interval above the
 *   margin: promoted, the record says the lower bound decided;
 * - a mean above the margin whose interval reaches below it is promoted by the mean gate and refused by the
 *   confidence gate; fewer than 3 seeds and another confidence are refused at run time too.
 * These check mechanics, not whether adaptation pays off (bench:adapt on real data does that).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { makeBundle } from '../bench/adapt/index';
import { ConfigError } from '../activities/errors';
import { trainerPython } from '../activities/model-stage/trainer-process';
import { finetuneMetrics, type FinetuneMetrics, type TrainerFinetuneMetrics } from '../activities/stages/evaluate/run';
import { promoteStage, type PromotionRecord } from '../activities/stages/promote/run';
import type { StageInputArtifact } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import { REPO_ROOT } from '../infra/paths';
import { stageKinds } from '../schemas/stages';
import { makeStageContext, startTestMinio, type TestMinio } from './helpers/stage-context';

process.env.OMP_NUM_THREADS ??= '1';
const run = promisify(execFile);

let minio: TestMinio;
let bundle: string;
let python: string;
before(async () => {
  minio = await startTestMinio('adapt-protocol');
  bundle = await makeBundle({ out: path.join(minio.dir, 'bundle'), smoke: true });
  python = await trainerPython();
});
after(async () => {
  await minio?.stop();
});

const env = { ...process.env, PYTHONPATH: REPO_ROOT, TRANSFORMERS_VERBOSITY: 'error' };

/** python -m trainer finetune on the bundle's task; the trainer's metrics.json. */
async function finetune(name: string, models: Record<string, string>, extra: Record<string, unknown>): Promise<TrainerFinetuneMetrics> {
  const out = path.join(minio.dir, name);
  const task = path.join(bundle, 'task');
  const cfg = {
    command: 'finetune',
    task: 'classification',
    models: Object.fromEntries(Object.entries(models).map(([k, v]) => [k, { path: v }])),
    data: { train: [path.join(task, 'train.jsonl')], test: [path.join(task, 'test.jsonl')], maxLength: 48 },
    seeds: [1, 2, 3],
    epochs: 1000,
    batchSize: 8,
    lr: 1e-3,
    outputDir: out,
    device: 'cpu',
    interval: { resamples: 500 },
    ...extra,
  };
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(cfg));
  await run(python, ['-m', 'trainer', 'finetune', '--config', path.join(out, 'config.json')], { cwd: REPO_ROOT, env, maxBuffer: 64 << 20 });
  return JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as TrainerFinetuneMetrics;
}

const asStage = (m: TrainerFinetuneMetrics): FinetuneMetrics =>
  finetuneMetrics(m, { sources: {}, data: { train: 24, pseudoLabeled: 0, dev: 0, test: 30, pairs: 0 }, curves: [] });

let made = 0;
async function artifact(store: ArtifactStore, stage: string, kind: 'model' | 'metrics', metrics: Record<string, unknown>): Promise<StageInputArtifact> {
  const local = path.join(minio.dir, `${stage}-${++made}.json`);
  fs.writeFileSync(local, JSON.stringify(kind === 'model' ? { model: made } : metrics));
  const manifest = await store.writeManifest({
    kind,
    schema: kind === 'model' ? 'hf-model/v1' : 'finetune-metrics/v1',
    files: [await store.putFile(local, kind === 'model' ? 'config.json' : 'metrics.json')],
    producer: { pipeline: 'p', run: 'r0', stage, stageKind: 'test', attempt: 1, cacheKey: `${stage}-${made}`, createdAt: new Date().toISOString() },
    parents: [],
    metrics: kind === 'model' ? {} : metrics,
  });
  return { stage, manifest };
}

async function decide(p: Record<string, unknown>, metrics: FinetuneMetrics, name: string): Promise<PromotionRecord> {
  const store = await minio.freshStore();
  const inputs = [await artifact(store, 'pretrain', 'model', {}), await artifact(store, 'evaluate', 'metrics', { ...metrics })];
  const t = makeStageContext({ store, params: stageKinds.promote.params.parse({ name, ...p }), inputs, stage: 'promote', run: `run-${name}` });
  try {
    return (await promoteStage.run!(t.ctx)).metrics as unknown as PromotionRecord;
  } finally {
    t.cleanup();
  }
}

const GATE = { metric: 'evaluate.models.adapted.mean.macroF1', confidence: 0.95 };

test('protocol at tiny size: every arm, mean ± std, a paired interval of each arm against the base', async () => {
  const out = path.join(minio.dir, 'protocol');
  await run(python, [path.join(REPO_ROOT, 'bench', 'adapt', 'protocol.py'), '--bundle', bundle, '--out', out, '--size', 'smoke', '--seeds', '1,2,3', '--device', 'cpu'], {
    cwd: REPO_ROOT,
    env,
    maxBuffer: 64 << 20,
  });
  const r = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as {
    arms: string[];
    seeds: number[];
    summary: Record<string, Record<string, { mean: number; std: number; perSeed: number[] }>>;
    comparison: Record<string, Record<string, { difference: number; lower: number; upper: number; seeds: number; items: number; confidence: number }>>;
    runs: Record<string, { seed: number; predictions: number[] }[]>;
    testGold: number[];
  };
  assert.deepEqual(r.arms, ['base', 'general-cpt', 'adapted', 'adapted+pl', 'adapted+pl+uda']);
  assert.deepEqual(Object.keys(r.comparison).sort(), ['adapted', 'adapted+pl', 'adapted+pl+uda', 'general-cpt']);
  for (const arm of r.arms) {
    assert.deepEqual(r.runs[arm].map((s) => s.seed), [1, 2, 3], arm);
    for (const s of r.runs[arm]) assert.equal(s.predictions.length, r.testGold.length, `${arm}: one prediction per test item`);
    for (const m of ['macroF1', 'accuracy']) {
      const x = r.summary[arm][m];
      assert.equal(x.perSeed.length, 3);
      assert.ok(Math.abs(x.mean - x.perSeed.reduce((a, b) => a + b, 0) / 3) < 1e-12 && x.std >= 0, `${arm} ${m}`);
      if (arm === 'base') continue;
      const d = r.comparison[arm][m];
      assert.ok(d.lower <= d.difference + 1e-12 && d.difference <= d.upper + 1e-12, `${arm} ${m}: ${JSON.stringify(d)}`);
      assert.ok(Math.abs(d.difference - (x.mean - r.summary.base[m].mean)) < 1e-9, `${arm} ${m}: the difference of the means`);
      assert.deepEqual([d.seeds, d.items, d.confidence], [3, r.testGold.length, 0.95]);
    }
  }
  assert.match(fs.readFileSync(path.join(out, 'table.md'), 'utf8'), /^\| adapted\+pl\+uda \| [\d.]+ ± [\d.]+ \| [+-][\d.]+ \[[+-][\d.]+, [+-][\d.]+\]/m);
});

test('the gate: the same model as base and adapted never promotes; a clear gain does, decided by the lower bound', async () => {
  const base = path.join(bundle, 'base');
  const same = asStage(await finetune('same', { base, adapted: base }, { maxSteps: 6 }));
  assert.deepEqual(same.comparison.adapted.macroF1.lower, 0);
  assert.deepEqual(same.comparison.adapted.macroF1.upper, 0);
  const r1 = await decide(GATE, same, 'same');
  assert.equal(r1.decision, 'rejected-margin');
  assert.equal(r1.decidedBy, 'lower-bound');
  assert.deepEqual([r1.interval!.lower, r1.interval!.upper, r1.interval!.seeds], [0, 0, 3]);

  // A task model trained well first is the adapted arm's start: a gain no seed or test draw explains away.
  await finetune('warm', { base }, { maxSteps: 120, seeds: [1], saveModel: { model: 'base' } });
  const gain = asStage(await finetune('gain', { base, adapted: path.join(minio.dir, 'warm', 'model') }, { maxSteps: 2 }));
  const iv = gain.comparison.adapted.macroF1;
  assert.ok(iv.lower > 0.1, `a clear gain: ${JSON.stringify(iv)}; base ${gain.models.base.mean.macroF1}, adapted ${gain.models.adapted.mean.macroF1}`);
  const r2 = await decide({ ...GATE, margin: 0.05 }, gain, 'gain');
  assert.equal(r2.decision, 'promoted');
  assert.equal(r2.decidedBy, 'lower-bound');
  assert.equal(r2.interval!.lower, iv.lower);
  assert.equal(r2.interval!.from, 'evaluate.comparison.adapted.macroF1');
});

test('the mean passes, the interval does not: promoted without confidence, refused with it; run-time refusals', async () => {
  const base = path.join(bundle, 'base');
  const m = asStage(await finetune('noisy', { base, adapted: base }, { maxSteps: 2 }));
  // The same numbers, with the adapted mean 0.02 above the base and the interval [−0.05, 0.09] around it.
  const noisy: FinetuneMetrics = {
    ...m,
    models: { ...m.models, adapted: { ...m.models.adapted, mean: { ...m.models.adapted.mean, macroF1: m.models.base.mean.macroF1 + 0.02 } } },
    comparison: { adapted: { macroF1: { ...m.comparison.adapted.macroF1, difference: 0.02, lower: -0.05, upper: 0.09 } } },
  };
  assert.equal((await decide({ metric: GATE.metric, margin: 0.01 }, noisy, 'mean')).decision, 'promoted');
  const gated = await decide({ ...GATE, margin: 0.01 }, noisy, 'gated');
  assert.equal(gated.decision, 'rejected-margin');
  assert.equal(gated.decidedBy, 'lower-bound');
  assert.ok(Math.abs(gated.improvement! - 0.02) < 1e-12, 'the mean improvement is recorded beside the bound that decided');

  const twoSeeds: FinetuneMetrics = { ...noisy, comparison: { adapted: { macroF1: { ...noisy.comparison.adapted.macroF1, seeds: 2 } } } };
  await assert.rejects(decide(GATE, twoSeeds, 'two'), (e: Error) => e instanceof ConfigError && /comes from 2 seeds; an interval needs at least 3/.test(e.message));
  await assert.rejects(
    decide({ ...GATE, confidence: 0.9 }, noisy, 'ninety'),
    (e: Error) => e instanceof ConfigError && /confidence: 0.9, but evaluate\.comparison\.adapted\.macroF1 is a 0.95 interval/.test(e.message),
  );
});

test('techniques through the protocol: one arm per technique and reference, compared with base and with its reference', async () => {
  const out = path.join(minio.dir, 'techniques');
  await run(
    python,
    [path.join(REPO_ROOT, 'bench', 'adapt', 'protocol.py'), '--bundle', bundle, '--out', out, '--size', 'smoke', '--seeds', '1,2,3', '--device', 'cpu', '--arms', 'base,adapted',
      '--techniques', JSON.stringify({ rdrop: { rdrop: { alpha: 1 } } }), '--technique-on', 'base,adapted', '--pretrain-techniques', JSON.stringify({ wd: { train: { weightDecay: 0.3 } } }), '--pretrain-steps', '3'],
    { cwd: REPO_ROOT, env, maxBuffer: 64 << 20 },
  );
  const r = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as {
    arms: string[];
    comparison: Record<string, Record<string, { difference: number }>>;
    versusReference: Record<string, { difference: number; lower: number; upper: number }>;
    techniques: Record<string, { on: string; options?: unknown; pretrain?: unknown }>;
    summary: Record<string, Record<string, { mean: number }>>;
    sizes: { pretrain_steps: number };
  };
  assert.deepEqual(r.arms, ['base', 'adapted', 'base+rdrop', 'adapted+rdrop', 'adapted+wd']);
  assert.deepEqual(Object.keys(r.comparison).sort(), ['adapted', 'adapted+rdrop', 'adapted+wd', 'base+rdrop']);
  // a technique on base is already compared with its reference; one on adapted is compared with adapted as well
  assert.deepEqual(Object.keys(r.versusReference).sort(), ['adapted+rdrop', 'adapted+wd']);
  for (const [arm, d] of Object.entries(r.versusReference)) {
    assert.ok(Math.abs(d.difference - (r.summary[arm].macroF1.mean - r.summary.adapted.macroF1.mean)) < 1e-9, arm);
    assert.ok(d.lower <= d.difference + 1e-12 && d.difference <= d.upper + 1e-12, arm);
  }
  assert.deepEqual(r.techniques['adapted+rdrop'], { on: 'adapted', options: { rdrop: { alpha: 1 } } });
  assert.deepEqual(r.techniques['adapted+wd'], { on: 'adapted', pretrain: { train: { weightDecay: 0.3 } } });
  // the pretraining technique's arm is its own model, pretrained with the technique laid over adapted's config
  const marker = JSON.parse(fs.readFileSync(path.join(out, 'work', 'adapted+wd', 'pretrained.json'), 'utf8')) as { technique: unknown };
  assert.deepEqual(marker.technique, { train: { weightDecay: 0.3 } });
  // --pretrain-steps gives every pretrained arm the same budget in place of the size's (smoke: 4)
  assert.equal(r.sizes.pretrain_steps, 3);
  for (const arm of ['adapted', 'adapted+wd']) {
    const m = JSON.parse(fs.readFileSync(path.join(out, 'work', arm, 'metrics.json'), 'utf8')) as { metrics: Record<string, number> };
    assert.equal(m.metrics['train.steps'], 3, arm);
  }
  assert.match(fs.readFileSync(path.join(out, 'table.md'), 'utf8'), /^\| adapted\+wd \(vs adapted\) \| [+-][\d.]+ \[/m);
});

test('bench:adapt refuses an unknown --base-model or --size or a bad --pretrain-steps, naming the option and what it accepts', async () => {
  const cli = path.join(REPO_ROOT, 'bench', 'adapt', 'index.ts');
  const fails = (args: string[], message: RegExp) =>
    assert.rejects(run(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: REPO_ROOT }), (e: { code: number; stderr: string }) => e.code === 1 && message.test(e.stderr));
  await fails(['--base-model', 'roberta'], /--base-model: expected minilm or general-bert, got "roberta"/);
  await fails(['--base-model', 'general-bert', '--size', 'huge'], /--size: expected cpu, cpu-hour, gpu, general-bert, got "huge"/);
  await fails(['--pretrain-steps', '0'], /--pretrain-steps: expected a positive whole number of steps, got "0"/);
});
