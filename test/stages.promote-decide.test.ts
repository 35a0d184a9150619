/**
 * The promote stage's decisions run directly against a real MinIO, with hand-made model and metrics artifacts
 * (the engine test, stages.promote.test.ts, covers real models and the approval gate end to end): metric paths into
 * manifest metrics and into metrics files (the evaluate stage's finetune-metrics shape), the strict margin,
 * delta baselines, comparison on a metric the latest was not promoted on, a retry after publishing, and the
 * errors for spec mistakes.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, InputError } from '../activities/errors';
import { promoteStage, type PromotionRecord } from '../activities/stages/promote/run';
import { findMetric } from '../activities/stages/promote/metric';
import { readPromoted } from '../activities/model-stage/registry';
import type { StageInputArtifact } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import { stageKinds, type StageParams } from '../schemas/stages';
import { makeStageContext, startTestMinio, type TestMinio } from './helpers/stage-context';

let minio: TestMinio;
before(async () => {
  minio = await startTestMinio('promote-decide');
});
after(async () => {
  await minio?.stop();
});

const params = (p: Record<string, unknown>): StageParams<'promote'> => stageKinds.promote.params.parse(p);

let made = 0;

/** A published artifact; a model gets a config.json of its own, so each one is a distinct artifact (digest). */
async function artifact(store: ArtifactStore, stage: string, kind: 'model' | 'metrics', metrics: Record<string, unknown>, file?: unknown): Promise<StageInputArtifact> {
  const files = [];
  const content = kind === 'model' ? { model: ++made } : file;
  if (content !== undefined) {
    const local = path.join(minio.dir, `${stage}-${++made}.json`);
    fs.writeFileSync(local, JSON.stringify(content));
    files.push(await store.putFile(local, kind === 'model' ? 'config.json' : 'metrics.json'));
  }
  const manifest = await store.writeManifest({
    kind,
    schema: kind === 'model' ? 'hf-model/v1' : 'test-metrics/v1',
    files,
    producer: { pipeline: 'p', run: 'r0', stage, stageKind: 'test', attempt: 1, cacheKey: `${stage}-${Math.random()}`, createdAt: new Date().toISOString() },
    parents: [],
    metrics,
  });
  return { stage, manifest };
}

async function decide(store: ArtifactStore, p: Record<string, unknown>, inputs: StageInputArtifact[], run = `run-${Math.random()}`): Promise<PromotionRecord> {
  const t = makeStageContext({ store, params: params(p), inputs, stage: 'promote', run });
  try {
    return (await promoteStage.run!(t.ctx)).metrics as unknown as PromotionRecord;
  } finally {
    t.cleanup();
  }
}

/** The evaluate stage's metrics file (finetune-metrics/v1), with nothing in the manifest's metrics. */
const finetune = (base: number, adapted: number) => ({
  schema: 'finetune-metrics/v1',
  models: { base: { mean: { macroF1: base }, std: { macroF1: 0.01 } }, adapted: { mean: { macroF1: adapted }, std: { macroF1: 0.01 } } },
  delta: { macroF1: adapted - base },
});

test('metric paths reach into metrics files; the first promotion beats the base, later ones the latest, by strictly more than the margin', async () => {
  const store = await minio.freshStore();
  const p = { metric: 'evaluate.models.adapted.mean.macroF1', margin: 0.02, name: 'line' };
  const m1 = await artifact(store, 'pretrain', 'model', {});
  const first = await decide(store, p, [m1, await artifact(store, 'evaluate', 'metrics', {}, finetune(0.6, 0.7))]);
  assert.equal(first.decision, 'promoted');
  assert.equal(first.currentFrom, 'baseline');
  assert.equal(first.current, 0.6);

  // 0.72 − 0.70 is exactly the margin: not strictly more.
  const m2 = await artifact(store, 'pretrain', 'model', {});
  const tie = await decide(store, p, [m2, await artifact(store, 'evaluate', 'metrics', {}, finetune(0.6, 0.72))]);
  assert.equal(tie.decision, 'rejected-margin');
  assert.equal(tie.currentFrom, 'latest');
  assert.equal(tie.current, 0.7);
  assert.equal((await readPromoted(store, 'line'))!.model.digest, m1.manifest.digest);

  const better = await decide(store, p, [m2, await artifact(store, 'evaluate', 'metrics', {}, finetune(0.6, 0.75))]);
  assert.equal(better.decision, 'promoted');
  assert.notEqual(m1.manifest.digest, m2.manifest.digest);
  assert.equal(better.previous, m1.manifest.digest);
  assert.equal((await readPromoted(store, 'line'))!.model.digest, m2.manifest.digest);
});

test('delta metrics: the first promotion compares with 0; a metric the latest was not promoted on is read from its recorded numbers', async () => {
  const store = await minio.freshStore();
  const model = await artifact(store, 'pretrain', 'model', {});
  const evalA = await artifact(store, 'evaluate', 'metrics', finetune(0.6, 0.65));
  const first = await decide(store, { metric: 'evaluate.delta.macroF1', name: 'd' }, [model, evalA]);
  assert.equal(first.decision, 'promoted');
  assert.equal(first.current, 0);

  // Promoted on the delta, compared later on the adapted mean: the pointer kept every metrics input's numbers.
  const next = await artifact(store, 'pretrain', 'model', {});
  const evalB = await artifact(store, 'evaluate', 'metrics', finetune(0.6, 0.64));
  const r = await decide(store, { metric: 'evaluate.models.adapted.mean.macroF1', name: 'd' }, [next, evalB]);
  assert.equal(r.currentFrom, 'latest');
  assert.equal(r.current, 0.65);
  assert.equal(r.decision, 'rejected-margin');
  // A metric neither promoted on nor recorded: a spec mistake, named.
  await assert.rejects(
    decide(store, { metric: 'pretrain.finalLoss', better: 'lower', name: 'd' }, [await artifact(store, 'pretrain', 'model', { finalLoss: 1 }), evalB]),
    (e: Error) => e instanceof ConfigError && /promoted on evaluate\.delta\.macroF1 and recorded no pretrain\.finalLoss/.test(e.message),
  );
});

test('pretrain metric names: the trainer\'s dotted names are keys; old records and old names read the same numbers', async () => {
  const store = await minio.freshStore();
  const current = await artifact(store, 'pretrain', 'model', { 'train.finalLoss': 6.5, 'train.steps': 40, 'eval.domain.loss': 6.9 });
  const old = await artifact(store, 'old', 'model', { 'train.steps': 30, steps: 30, finalLoss: 7.25 }); // recorded before the names were unified
  const read = (metric: string) => findMetric(store, [current, old], metric, 'metric');
  assert.deepEqual(await read('pretrain.train.finalLoss'), { value: 6.5 });
  assert.deepEqual(await read('pretrain.finalLoss'), { value: 6.5 }, 'an old name in a spec reads the current key');
  assert.deepEqual(await read('pretrain.steps'), { value: 40 });
  assert.deepEqual(await read('pretrain.eval.domain.loss'), { value: 6.9 });
  assert.deepEqual(await read('old.train.finalLoss'), { value: 7.25 }, 'an old record reads under the current name');
  assert.deepEqual(await read('old.finalLoss'), { value: 7.25 });
  const missing = await read('pretrain.train.lastLoss');
  assert.ok('missing' in missing && /no "train" at the top/.test(missing.missing), JSON.stringify(missing));
});

test('a retry of the run step after it published finds its own promotion and keeps it', async () => {
  const store = await minio.freshStore();
  const inputs = [await artifact(store, 'pretrain', 'model', {}), await artifact(store, 'evaluate', 'metrics', finetune(0.5, 0.6))];
  const p = { metric: 'evaluate.delta.macroF1', name: 'retry' };
  assert.equal((await decide(store, p, inputs, 'run-a')).decision, 'promoted');
  const again = await decide(store, p, inputs, 'run-a');
  assert.equal(again.decision, 'promoted');
  assert.equal(again.pointer, null, 'nothing was written twice');
  assert.equal((await store.list('models/retry/history/')).length, 1);
  // Another run with the same model is no improvement over itself.
  assert.equal((await decide(store, p, inputs, 'run-b')).decision, 'rejected-margin');
});

test('spec mistakes: a metric of a stage that is no input, a path that is not there, no model input', async () => {
  const store = await minio.freshStore();
  const model = await artifact(store, 'pretrain', 'model', {});
  const metrics = await artifact(store, 'perplexity', 'metrics', { models: { adapted: { domain: { loss: 2 } } } });
  await assert.rejects(
    decide(store, { metric: 'evaluate.delta.macroF1' }, [model, metrics]),
    (e: Error) => e instanceof ConfigError && /"evaluate" is not a needs-stage of this stage \(inputs: pretrain, perplexity\)/.test(e.message),
  );
  await assert.rejects(
    decide(store, { metric: 'perplexity.models.adapted.general.loss' }, [model, metrics]),
    (e: Error) => e instanceof InputError && /no "general" at models\.adapted \(there: domain\)/.test(e.message),
  );
  await assert.rejects(decide(store, { metric: 'perplexity.models.adapted.domain.loss' }, [metrics]), (e: Error) => e instanceof ConfigError && /exactly one model input/.test(e.message));
  assert.equal(stageKinds.promote.params.safeParse({ metric: 'macroF1' }).success, false, 'a metric path names its stage');
});
