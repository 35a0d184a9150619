/**
 * pseudolabel and perplexity as per-shard fan-outs, run phase by phase against a real MinIO with the real trainer
 * on CPU and a tiny BERT: the fan-out keeps the same rows as the single-pass trainer (`python -m trainer
 * pseudolabel`, every round in one process), its output is identical when the label tasks run in another order,
 * its scratch objects are gone after the reduce; perplexity's sums of N shards equal those of the same documents
 * in one shard, and the count phase plans only the shards holding the first maxSequences sequences.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { pseudolabelStage, type PseudolabelMetrics, type PseudoRow } from '../activities/stages/pseudolabel/run';
import { perplexityStage, type PerplexityResult, type Sums } from '../activities/stages/perplexity/run';
import { writeDocuments } from '../activities/model-stage/staging';
import { uploadDir } from '../activities/model-stage/files';
import { trainerPython } from '../activities/model-stage/trainer-process';
import { REPO_ROOT } from '../infra/paths';
import { sourceStage } from '../activities/stages/source/run';
import type { StageContext, StageFanout, StageInputArtifact, StageOutput } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import { stageKinds } from '../schemas/stages';
import { writeTaskFiles, type TaskFiles } from '../examples/demo/domain-task';
import { generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';
import { buildTinyModel } from './helpers/tiny-model';
import { decompressedBuffer, isShardName } from '../activities/shard-codec';

process.env.OMP_NUM_THREADS ??= '1';

let minio: TestMinio;
let task: TaskFiles;
let tiny: string;

before(async () => {
  minio = await startTestMinio('model-fanout');
  task = writeTaskFiles(path.join(minio.dir, 'task'), { seed: 0, unlabeled: 60, ner: false });
  const general = writeJsonl(path.join(minio.dir, 'general', 'everyday.jsonl'), generalDocs(60));
  tiny = path.join(minio.dir, 'tiny-bert');
  await buildTinyModel({ corpus: [general, task.corpus], out: tiny });
});
after(async () => {
  await minio?.stop();
});

/** Runs a fan-out's phases like the engine, each phase's tasks in the order `order(phase, n)` gives; then the reduce. */
async function runFanout<P>(ctx: StageContext<P>, fanout: StageFanout<P>, order: (phase: string, n: number) => number[] = (_, n) => [...Array(n).keys()]) {
  const results: unknown[][] = [];
  const tasks: unknown[][] = [];
  for (const phase of fanout.phases) {
    const planned = await phase.plan(ctx, results);
    const out = new Array<unknown>(planned.length);
    for (const i of order(phase.name, planned.length)) out[i] = await phase.map(ctx, planned[i], i);
    tasks.push(planned);
    results.push(out);
  }
  return { tasks, results, output: await fanout.reduce(ctx, results) };
}

async function documents(store: ArtifactStore, stage: string, dir: string, shardSize: number): Promise<StageInputArtifact> {
  const t = makeStageContext({ store, params: stageKinds.source.params.parse({ paths: [dir], shardSize }) });
  try {
    return await publishAsInput(store, stage, await sourceStage.run!(t.ctx));
  } finally {
    t.cleanup();
  }
}

async function readGz(store: ArtifactStore, key: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(key)) chunks.push(c as Buffer);
  return (await decompressedBuffer(Buffer.concat(chunks))).toString('utf8');
}

async function storedRows(store: ArtifactStore, out: StageOutput): Promise<PseudoRow[]> {
  const rows: PseudoRow[] = [];
  for (const f of out.files.filter((x) => isShardName(x.name))) {
    const lines = (await readGz(store, f.key)).split('\n').filter(Boolean);
    assert.equal(lines.length, f.records, f.name);
    rows.push(...lines.map((l) => JSON.parse(l) as PseudoRow));
  }
  return rows;
}

const PSEUDO = { data: { train: '', maxLength: 48 }, threshold: 0.5, perClassCap: 6, rounds: 2, epochs: 30, maxSteps: 60, batchSize: 16, lr: 3e-3, logEvery: 20, seed: 3, shardSize: 4, device: 'cpu' };

test('pseudolabel per shard keeps the single-pass rows (2 noisy-student rounds, a per-class cap); label tasks in another order give the same output', async () => {
  const store = await minio.freshStore();
  // The labeled texts (train and dev) as documents: the teacher is confident on those, so the cap has work to do.
  const dir = path.join(minio.dir, 'pseudo-docs');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'texts.jsonl'), fs.readFileSync(task.classification.train, 'utf8') + fs.readFileSync(task.classification.dev, 'utf8'));
  const docs = await documents(store, 'unlabeled', dir, 23); // 68 documents in 3 shards
  assert.equal(docs.manifest.files.length, 3);
  const params = stageKinds.pseudolabel.params.parse({ ...PSEUDO, teacher: tiny, data: { ...PSEUDO.data, train: task.classification.train } });

  // The single-pass trainer on the same documents, in the same order.
  const single = fs.mkdtempSync(path.join(minio.dir, 'single-'));
  const unlabeled = path.join(single, 'unlabeled.jsonl.gz');
  await writeDocuments(store, [docs.manifest], unlabeled);
  const config = path.join(single, 'config.json');
  const { shardSize: _, data, ...rest } = params;
  fs.writeFileSync(config, JSON.stringify({ command: 'pseudolabel', ...rest, teacher: { path: tiny }, data: { train: [task.classification.train], unlabeled: [unlabeled], maxLength: data.maxLength }, outputDir: path.join(single, 'out') }));
  await promisify(execFile)(await trainerPython(), ['-m', 'trainer', 'pseudolabel', '--config', config], { cwd: REPO_ROOT, env: { ...process.env, PYTHONPATH: REPO_ROOT, DAPT_LOG_LEVEL: 'WARNING' } });
  const expected = fs.readFileSync(path.join(single, 'out', 'pseudo.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as PseudoRow);
  const expectedStats = JSON.parse(fs.readFileSync(path.join(single, 'out', 'stats.json'), 'utf8')) as Record<string, unknown>;

  const runs = [];
  for (const [run, reversed] of [['run-1', false], ['run-2', true]] as const) {
    const t = makeStageContext({ store, params, stage: 'pseudolabel', run, inputs: [docs] });
    try {
      const fanout = typeof pseudolabelStage.fanout === 'function' ? pseudolabelStage.fanout(params) : pseudolabelStage.fanout!;
      assert.deepEqual(fanout.phases.map((p) => p.name), ['teacher', 'label-1', 'select-1', 'student-2', 'label-2', 'select-2', 'write']);
      const r = await runFanout(t.ctx, fanout, (_, n) => (reversed ? [...Array(n).keys()].reverse() : [...Array(n).keys()]));
      assert.equal(r.tasks[1].length, 3, 'one label task per documents shard');
      assert.deepEqual(await store.list('ledger/pseudolabel/'), [], 'the reduce removed the scratch objects');
      runs.push(r);
    } finally {
      t.cleanup();
    }
  }
  const [a, b] = runs;
  assert.deepEqual(b.output, a.output, 'same files (digests) and metrics whatever the order of the label tasks');

  const rows = await storedRows(store, a.output);
  assert.ok(expected.length > 0, `the single pass kept some rows: ${JSON.stringify(expectedStats.rounds)}`);
  assert.ok(rows.every((r) => r.round === 2 && r.confidence >= PSEUDO.threshold));
  const key = (r: PseudoRow) => `${r.label}\t${r.text}`;
  assert.deepEqual(rows.map(key).sort(), expected.map(key).sort(), 'the same kept rows as the single pass');
  const conf = new Map(expected.map((r) => [key(r), r.confidence]));
  for (const r of rows) assert.ok(Math.abs(r.confidence - conf.get(key(r))!) < 1e-5, `${key(r)}: ${r.confidence} vs ${conf.get(key(r))}`);

  const m = a.output.metrics as unknown as PseudolabelMetrics;
  const perClass: Record<string, number> = {};
  for (const r of rows) perClass[r.label] = (perClass[r.label] ?? 0) + 1;
  assert.deepEqual(Object.fromEntries(Object.entries(m.perClass).map(([l, c]) => [l, c.kept])), perClass);
  assert.ok(Object.values(perClass).every((n) => n <= PSEUDO.perClassCap));
  assert.equal(m.rows, rows.length);
  assert.equal(m.unlabeledDocs, 68);
  assert.deepEqual(m.perRound, { 2: rows.length });
  assert.deepEqual(m.trainer, expectedStats, 'stats.json as the single pass writes it');
  const rounds = (m.trainer as { rounds: { candidates: number; kept: number }[] }).rounds;
  assert.ok(rounds[0].candidates > rounds[0].kept, `the cap cut some candidates: ${JSON.stringify(rounds)}`);
});

/** A `model` artifact of the tiny BERT whose pretrain record names itself as the base. */
async function modelInput(store: ArtifactStore): Promise<StageInputArtifact> {
  const manifest = await store.writeManifest({
    kind: 'model',
    schema: 'hf-model/v1',
    files: await uploadDir(store, tiny),
    producer: { pipeline: 'test', run: 'run-1', stage: 'pretrain', stageKind: 'pretrain', attempt: 1, cacheKey: 'pretrain', createdAt: new Date().toISOString() },
    parents: [],
    metrics: { baseModel: { path: tiny }, objective: 'mlm', seqLen: 32 },
  });
  return { stage: 'pretrain', manifest };
}

test('perplexity per shard: the sums of 4 shards equal those of one shard; only the shards holding the first maxSequences are scored', async () => {
  const store = await minio.freshStore();
  const model = await modelInput(store);
  const corpusDir = path.dirname(task.corpus);
  const generalDir = path.join(minio.dir, 'general');
  const inputs = [model, await documents(store, 'one', corpusDir, 10_000), await documents(store, 'many', corpusDir, 60), await documents(store, 'general', generalDir, 20)];
  assert.equal(inputs[1].manifest.files.length, 1);
  assert.ok(inputs[2].manifest.files.length >= 4, `${inputs[2].manifest.files.length} shards`);
  const outs: Awaited<ReturnType<typeof runFanout>>[] = [];
  // Two runs (each trainer start costs seconds): the set in one shard and in many, both cut at maxSequences.
  for (const [domain, maxSequences] of [['one', 150], ['many', 150]] as const) {
    const params = stageKinds.perplexity.params.parse({ domain, general: 'general', maxSequences, batchSize: 8, masking: { strategy: 'token' }, device: 'cpu' });
    const t = makeStageContext({ store, params, stage: 'perplexity', inputs });
    try {
      outs.push(await runFanout(t.ctx as StageContext<unknown>, perplexityStage.fanout as StageFanout<unknown>));
    } finally {
      t.cleanup();
    }
  }
  const totals = (r: (typeof outs)[number]) => {
    const sum: Record<string, Sums> = {};
    for (const s of r.results[1] as { set: string; sums: Record<string, Sums> }[]) {
      for (const [m, x] of Object.entries(s.sums)) {
        const into = (sum[`${m}.${s.set}`] ??= { lossSum: 0, correct: 0, targets: 0, sequences: 0 });
        for (const k of ['lossSum', 'correct', 'targets', 'sequences'] as const) into[k] += x[k];
      }
    }
    return sum;
  };
  for (const [one, many] of [[outs[0], outs[1]]]) {
    const [x, y] = [totals(one), totals(many)];
    assert.deepEqual(Object.keys(y).sort(), ['adapted.domain', 'adapted.general', 'base.domain', 'base.general']);
    for (const k of Object.keys(x)) {
      assert.deepEqual([y[k].targets, y[k].correct, y[k].sequences], [x[k].targets, x[k].correct, x[k].sequences], k);
      assert.ok(Math.abs(y[k].lossSum - x[k].lossSum) <= 1e-6 * x[k].lossSum, `${k}: ${y[k].lossSum} vs ${x[k].lossSum}`);
    }
    const [mx, my] = [one.output.metrics as unknown as PerplexityResult, many.output.metrics as unknown as PerplexityResult];
    assert.ok(Math.abs(my.models.adapted.domain.loss! - mx.models.adapted.domain.loss!) < 1e-6);
    assert.equal(my.models.adapted.domain.accuracy, mx.models.adapted.domain.accuracy);
    assert.deepEqual(my.delta.domain, { loss: 0, perplexity: 0, accuracy: 0 }, 'the same model on both sides');
    assert.equal(my.sets.domain.documents, 240);
    assert.equal(my.sets.general.source, 'general');
  }
  const capped = totals(outs[1]);
  assert.equal(capped['base.domain'].sequences, 150);
  const scored = (outs[1].tasks[1] as { set: string }[]).filter((s) => s.set === 'domain').length;
  assert.ok(scored < inputs[2].manifest.files.length, `${scored} domain shards scored of ${inputs[2].manifest.files.length}`);
  const stored = JSON.parse(await (async () => {
    const chunks: Buffer[] = [];
    for await (const c of await store.getStream(outs[1].output.files[0].key)) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  })()) as PerplexityResult;
  assert.deepEqual(stored, JSON.parse(JSON.stringify(outs[1].output.metrics)));
});
