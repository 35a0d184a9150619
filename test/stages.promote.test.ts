/**
 * Model promotion through the engine, with real (tiny) models: source → pretrain → perplexity → promote on the
 * held-out domain loss. A trained model beats the base and is published as models/<name>/latest.json; a model that
 * barely trained does not beat it and the pointer stays; with an approval gate the run waits (state `waiting` in
 * the status) for `dapt approve` / reject / the timeout; a second run's pretrain with `baseModel: promoted:<name>`
 * starts from the promoted model.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { adaptedAndBase } from '../activities/model-stage/adapted-model';
import type { PromotionRecord } from '../activities/stages/promote/run';
import { readPromoted } from '../activities/model-stage/registry';
import { resolveModelRef } from '../activities/model-stage/staging';
import { REPO_ROOT } from '../infra/paths';
import { ConfigError } from '../activities/errors';
import { keys } from '../activities/store';
import type { StageContext } from '../activities/stages/types';
import { answerApproval, getRunStatus, startRun, waitForRun, type RunResult } from '../client/runs';
import { configEnv, type DaptConfig } from '../config';
import { domainDocs, generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { plan, waitFor } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import type { RunningWorkers } from '../worker/worker';
import { buildTinyModel } from './helpers/tiny-model';

const run = promisify(execFile);
process.env.OMP_NUM_THREADS ??= '1'; // see stages.pretrain.test.ts: one thread per tiny trainer

let stack: Stack;
let cfg: DaptConfig;
let workers: RunningWorkers;
let baseModel: string;
let domainDir: string;

before(async () => {
  stack = await startStack('promote');
  domainDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'domain', 'contracts.jsonl'), domainDocs(160)));
  const general = writeJsonl(path.join(stack.dir, 'corpus', 'general', 'everyday.jsonl'), generalDocs(120));
  baseModel = path.join(stack.dir, 'tiny-bert');
  await buildTinyModel({ corpus: [general], out: baseModel });
  cfg = stack.config('promote');
  workers = await stack.workers(cfg, ['cpu', 'gpu']);
});
after(async () => {
  await stack?.stop();
});

const GOOD = { maxSteps: 60, batchSize: 16, lr: 2e-3, warmupSteps: 5, logEvery: 10, seed: 7 };
/** Two steps at a negligible learning rate: the base model, give or take rounding. */
const BAD = { ...GOOD, maxSteps: 2, lr: 1e-9 };
const METRIC = 'perplexity.models.adapted.domain.loss';

function pipeline(name: string, pretrain: Record<string, unknown>, promote: Record<string, unknown>) {
  return plan({
    name,
    defaults: { retry: { maxAttempts: 2, initialInterval: '200ms', maxInterval: '1s' } },
    stages: {
      domain: { uses: 'source', with: { paths: [domainDir] } },
      pretrain: { uses: 'pretrain', needs: ['domain'], with: { baseModel, seqLen: 64, evalFraction: 0.15, device: 'cpu', ...pretrain } },
      perplexity: { uses: 'perplexity', needs: ['pretrain'], with: { maxSequences: 48, device: 'cpu' } },
      promote: { uses: 'promote', needs: ['pretrain', 'perplexity'], with: { metric: METRIC, better: 'lower', margin: 0.001, ...promote } },
    },
  });
}

async function finish(workflowId: string): Promise<RunResult> {
  const res = await waitForRun(stack.client, workflowId);
  assert.equal(res.ok, true, `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 3000)}`);
  return res;
}

const recordOf = (res: RunResult) => res.status.stages.promote.metrics as unknown as PromotionRecord;
const lossOf = (res: RunResult, model: 'base' | 'adapted') =>
  (res.status.stages.perplexity.metrics as { models: Record<string, { domain: { loss: number } }> }).models[model].domain.loss;

let good: RunResult | undefined;
let bad: RunResult | undefined;

test('a model that beats the base is promoted; one that does not beat the latest is not, and the pointer stays', async () => {
  const store = stack.store(cfg);
  assert.equal(await readPromoted(store, 'weekly'), undefined);

  good = await finish((await startRun(stack.client, cfg, pipeline('week-1', { train: GOOD }, { name: 'weekly' }))).workflowId);
  const first = recordOf(good);
  assert.equal(first.decision, 'promoted', JSON.stringify(first));
  // The first promotion of a line is measured against the base model's value from the same evaluation.
  assert.equal(first.currentFrom, 'baseline');
  assert.equal(first.current, lossOf(good, 'base'));
  assert.equal(first.candidate, lossOf(good, 'adapted'));
  assert.ok(first.candidate < first.current! - 0.001);
  const latest = (await readPromoted(store, 'weekly'))!;
  assert.equal(latest.model.digest, good.status.stages.pretrain.digest);
  assert.equal(latest.metric.value, first.candidate);
  assert.equal(latest.run, good.status.runId);
  assert.ok(latest.model.files.some((f) => f.name === 'model.safetensors'));
  assert.ok(!latest.model.files.some((f) => f.name.startsWith('eval/')), 'held-out data is not part of the published model');
  assert.equal(first.pointer && (await store.getJson(first.pointer)) !== undefined, true, 'the history entry exists');

  bad = await finish((await startRun(stack.client, cfg, pipeline('week-1-bad', { train: BAD }, { name: 'weekly' }))).workflowId);
  const second = recordOf(bad);
  assert.equal(second.decision, 'rejected-margin', JSON.stringify(second));
  assert.equal(second.currentFrom, 'latest');
  assert.equal(second.current, first.candidate);
  assert.equal(second.previous, latest.model.digest);
  assert.equal(second.pointer, null);
  assert.deepEqual(await readPromoted(store, 'weekly'), latest, 'the latest pointer is unchanged');
  assert.equal((await store.list('models/weekly/history/')).length, 1);
  // The decision is the stage's artifact, and the stage never comes from the cache (it has effects).
  const manifest = (await store.readManifest(bad.status.stages.promote.digest!))!;
  assert.equal(manifest.kind, 'promotion');
  assert.equal(manifest.files[0].name, 'promotion.json');
});

test('approval gate: timeout and reject leave the old model in place; approve publishes and records the approver', async (t) => {
  if (!good || !bad) return t.skip('needs the promotion runs');
  const store = stack.store(cfg);
  // The line starts with the barely trained model (promoted unconditionally); the trained one beats it.
  const seeded = await finish((await startRun(stack.client, cfg, pipeline('gated-0', { train: BAD }, { name: 'gated', initial: 'promote' }))).workflowId);
  assert.equal(recordOf(seeded).decision, 'promoted');
  assert.equal(recordOf(seeded).currentFrom, 'none');
  const old = (await readPromoted(store, 'gated'))!;
  assert.equal(old.model.digest, bad.status.stages.pretrain.digest);

  const gated = (name: string, timeout: string) => pipeline(name, { train: GOOD }, { name: 'gated', approval: { timeout } });
  const waiting = async (workflowId: string) =>
    waitFor('the promote stage waiting for approval', async () => {
      const st = await getRunStatus(stack.client, workflowId);
      return st.stages.promote.state === 'waiting' && st.stages.promote;
    });

  // Nobody answers within 3s.
  const timedOut = await startRun(stack.client, cfg, gated('gated-timeout', '3s'));
  const asked = await waiting(timedOut.workflowId);
  assert.match(asked.message!, /waiting for approval/);
  assert.match(asked.approval!.summary, /passes margin/);
  const r1 = recordOf(await finish(timedOut.workflowId));
  assert.equal(r1.decision, 'approval-timeout', JSON.stringify(r1));
  assert.deepEqual(await readPromoted(store, 'gated'), old);

  // Rejected.
  const rejected = await startRun(stack.client, cfg, gated('gated-reject', '10m'));
  await waiting(rejected.workflowId);
  assert.equal(await answerApproval(stack.client, rejected.workflowId, 'reject', { by: 'bob', reason: 'eval set too small' }), 'promote');
  const r2 = recordOf(await finish(rejected.workflowId));
  assert.equal(r2.decision, 'rejected-by-human');
  assert.match(r2.reason!, /bob: eval set too small/);
  assert.deepEqual(await readPromoted(store, 'gated'), old);

  // Approved with the CLI, after the workers were replaced while the run waited: the wait is in the history, and
  // a fresh worker replays it.
  const approved = await startRun(stack.client, cfg, gated('gated-approve', '10m'));
  await waiting(approved.workflowId);
  await workers.shutdown();
  workers = await stack.workers(cfg, ['cpu', 'gpu']);
  assert.equal((await getRunStatus(stack.client, approved.workflowId)).stages.promote.state, 'waiting');
  const env = { ...process.env, ...configEnv(cfg) };
  const { stdout } = await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'dapt.js'), 'approve', approved.workflowId, '--by', 'alice'], { env });
  assert.match(stdout, /approved promote/);
  const done = await finish(approved.workflowId);
  const r3 = recordOf(done);
  assert.equal(r3.decision, 'promoted');
  assert.equal(r3.approver, 'alice');
  assert.equal(done.status.stages.promote.approval?.outcome?.by, 'alice');
  const now = (await readPromoted(store, 'gated'))!;
  assert.equal(now.model.digest, good.status.stages.pretrain.digest);
  assert.equal(now.approver, 'alice');
  assert.equal(now.previous, old.model.digest);
  assert.equal((await store.list('models/gated/history/')).length, 2);
  const shown = await run(process.execPath, [path.join(REPO_ROOT, 'bin', 'dapt.js'), 'models', 'gated', '--history', '--json'], { env });
  const listed = JSON.parse(shown.stdout) as { latest: { model: { digest: string } }; history: { model: { digest: string } }[] };
  assert.equal(listed.latest.model.digest, now.model.digest);
  assert.deepEqual(listed.history.map((h) => h.model.digest), [old.model.digest, now.model.digest]);
});

test('refresh: pretrain with baseModel promoted:<name> starts from the promoted model', async (t) => {
  if (!good) return t.skip('needs the promotion runs');
  const store = stack.store(cfg);
  const promoted = (await readPromoted(store, 'weekly'))!;
  const week2 = await finish(
    (await startRun(stack.client, cfg, pipeline('week-2', { baseModel: 'promoted:weekly', fallbackModel: baseModel, train: GOOD }, { name: 'weekly' }))).workflowId,
  );
  const pm = week2.status.stages.pretrain.metrics!;
  assert.deepEqual(pm.baseModel, { artifact: promoted.model.digest, stage: 'pretrain', promoted: 'weekly' });
  assert.equal(week2.status.stages.pretrain.state, 'succeeded', 'a new pointer is a new cache key');
  // Its perplexity compares against the model it started from, so the base side is the promoted model.
  assert.ok(Math.abs(lossOf(week2, 'base') - promoted.metric.value) < 1e-4, `${lossOf(week2, 'base')} vs ${promoted.metric.value}`);
  // … and promote compares the candidate with the latest model measured in this run, on the same evaluation.
  const decided = recordOf(week2);
  assert.equal(decided.currentFrom, 'latest-same-eval', JSON.stringify(decided));
  assert.equal(decided.current, lossOf(week2, 'base'));
  assert.equal(decided.previous, promoted.model.digest);

  // The stages that compare with a base (perplexity, evaluate) take `baseModel: promoted:<name>` the same way.
  const adaptedInput = { stage: 'pretrain', manifest: (await store.readManifest(week2.status.stages.pretrain.digest!))! };
  const ctx = { inputs: [adaptedInput], params: { baseModel: 'promoted:weekly' }, store } as unknown as StageContext<{ baseModel?: string }>;
  const latest = (await readPromoted(store, 'weekly'))!; // week 2 may have been promoted in its turn
  assert.deepEqual((await adaptedAndBase(ctx, 'evaluate')).base, { artifact: latest.model.digest, stage: 'pretrain', promoted: 'weekly' });

  // Before anything is promoted under a name, the fallback is the base; without one, a clear error.
  assert.deepEqual(await resolveModelRef(store, 'promoted:nothing-yet', baseModel), { path: baseModel });
  await assert.rejects(resolveModelRef(store, 'promoted:nothing-yet', undefined), (e: Error) => e instanceof ConfigError && e.message.includes(keys.promotedLatest('nothing-yet')));
});

test('seen + dedupe against: a refresh keeps only the documents the promoted line was not trained on', async (t) => {
  if (!good) return t.skip('needs the promotion runs');
  const added = domainDocs(30, 99);
  const old = new Set(domainDocs(160).map((d) => d.text.toLowerCase()));
  assert.ok(added.every((d) => !old.has(d.text.toLowerCase())), 'the generator gave new texts');
  const newDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'week-3', 'new.jsonl'), added));
  const res = await finish(
    (
      await startRun(
        stack.client,
        cfg,
        plan({
          name: 'week-3-data',
          stages: {
            archive: { uses: 'source', with: { paths: [domainDir] } }, // everything collected so far
            latest: { uses: 'source', with: { paths: [newDir] } },
            seen: { uses: 'seen', with: { line: 'weekly' } },
            fresh: { uses: 'dedupe', needs: ['archive', 'latest', 'seen'], with: { against: 'seen' } },
            none: { uses: 'seen', with: { line: 'never-promoted' } },
          },
        }),
      )
    ).workflowId,
  );
  const seen = res.status.stages.seen.metrics!;
  assert.equal(seen.promoted, (await readPromoted(stack.store(cfg), 'weekly'))!.model.digest);
  assert.equal(seen.artifacts, 1, 'week 1 and week 2 trained on the same source artifact');
  assert.equal(seen.documents, 160);
  assert.ok((seen.models as number) >= 1);
  assert.equal(res.status.stages.fresh.metrics!.kept, 30, JSON.stringify(res.status.stages.fresh.metrics));
  assert.equal(res.status.stages.none.metrics!.documents, 0);
});
