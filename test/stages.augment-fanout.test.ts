/**
 * The augment stage as a fan-out, against a real MinIO: the pairs and metrics are those of the former single
 * activity (recorded digests), the manifest digest is the same on one worker and on many running the tasks in
 * another order, with other partition counts and with a task run twice, task results stay small, the scratch
 * objects are removed, and the partitioned TF-IDF model is the in-memory one.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ShardWriter } from '../activities/documents';
import { augmentStage, tuning } from '../activities/stages/augment/run';
import { scratch } from '../activities/stages/augment/scratch';
import { loadModel, mergePartition, rankModel, shardStatsObject, type MergeResult } from '../activities/stages/augment/stats';
import { CorpusStats } from '../activities/stages/augment/tfidf';
import { splitWords, wordKey, type Lang } from '../activities/stages/augment/tokens';
import { defaultJieba } from '../activities/chinese';
import type { StageInputArtifact } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import { rng } from '../activities/rng';
import { DOCUMENT_SCHEMA, type ManifestT } from '../schemas/manifest';
import { stageKinds, type StageParams } from '../schemas/stages';
import { augmentCases, outputDigest, runAsWorkers, SYNONYMS, TERMS, type AugmentCase, type Doc } from './helpers/augment-cases';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';
import { decompressedBuffer } from '../activities/shard-codec';

process.env.OMP_NUM_THREADS ??= '1';

/**
 * What the single-activity stage (commit b753078, one pass of statistics then one of pairs over the whole
 * corpus) wrote for augmentCases() with input shards of 23 documents: the pair count, sha256 (32 hex) of the
 * records as JSON lines in output order, and of the metrics with their keys sorted.
 */
const OLD_OUTPUT = [
  { pairs: 753, records: '87985f2a5c3a9be2ae2eebe7899ed7b7', metrics: 'dde80ac2ef9b31178ee2a879e3faf467' },
  { pairs: 502, records: 'c920c4fac7846797f50f5760d5596cce', metrics: 'a0466029c5a61c2482545a0cf88eb7a2' },
  { pairs: 620, records: '020c2285d338b2690b5900a3958cf625', metrics: '2e04fe6a091791ac6f29095ad936418e' },
  { pairs: 502, records: 'fc43c7432f5bff1a2e29947465a8d01f', metrics: 'ea0eaa94c2d0f5af3e88bc0b83253e4c' },
];

const h32 = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);
const canon = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canon(x)])) : v;

let minio: TestMinio;
let synonymsFile: string;
before(async () => {
  minio = await startTestMinio('augment-fanout');
  synonymsFile = path.join(minio.dir, 'synonyms.tsv');
  fs.writeFileSync(synonymsFile, SYNONYMS);
});
after(async () => {
  await minio?.stop();
});

async function documentsInput(store: ArtifactStore, stage: string, docs: Doc[], shardSize: number): Promise<StageInputArtifact> {
  const writer = new ShardWriter(store, minio.dir, shardSize, `${stage}-${shardSize}`);
  for (const d of docs) await writer.write({ id: d.id, text: d.text, source: stage, metadata: d.metadata ?? {} });
  return publishAsInput(store, stage, { files: await writer.close(), schema: DOCUMENT_SCHEMA });
}

async function lexiconInput(store: ArtifactStore): Promise<StageInputArtifact> {
  const file = path.join(minio.dir, 'lexicon.jsonl');
  fs.writeFileSync(file, TERMS.map((word) => JSON.stringify({ word, score: 1 })).join('\n') + '\n');
  const manifest = await store.writeManifest({
    kind: 'lexicon',
    schema: 'lexicon/v1',
    files: [await store.putFile(file, 'lexicon.jsonl', TERMS.length)],
    producer: { pipeline: 'test', run: 'run-1', stage: 'newwords', stageKind: 'newwords', attempt: 1, cacheKey: 'newwords', createdAt: new Date().toISOString() },
    parents: [],
    metrics: {},
  });
  return { stage: 'newwords', manifest };
}

async function caseInputs(store: ArtifactStore, c: AugmentCase, shardSize: number): Promise<StageInputArtifact[]> {
  const inputs = [];
  for (const [stage, docs] of c.inputs) inputs.push(await documentsInput(store, stage, docs, shardSize));
  if (c.lexicon) inputs.push(await lexiconInput(store));
  return inputs;
}

function caseParams(c: AugmentCase): StageParams<'augment'> {
  return stageKinds.augment.params.parse({ ...c.params, ...(c.params.eda?.synonym || c.params.eda?.insert ? { synonyms: synonymsFile } : {}) });
}

async function recordLines(store: ArtifactStore, files: ManifestT['files']): Promise<string[]> {
  const lines: string[] = [];
  for (const f of files) for (const l of (await decompressedBuffer(Buffer.concat(await (await store.getStream(f.key)).toArray()))).toString('utf8').split('\n')) if (l) lines.push(l);
  return lines;
}

async function inline(store: ArtifactStore, params: StageParams<'augment'>, inputs: StageInputArtifact[], run = 'run-1') {
  const t = makeStageContext({ store, params, inputs, run });
  try {
    return await augmentStage.run!(t.ctx);
  } finally {
    t.cleanup();
  }
}

const reverse = (n: number) => Array.from({ length: n }, (_, i) => n - 1 - i);
function shuffled(n: number, seed: number): number[] {
  const r = rng(seed);
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('augment fan-out', () => {
  augmentCases().forEach((c, k) => {
    test(`the records and metrics of the single-activity stage: ${c.name}`, async () => {
      const store = await minio.freshStore();
      const out = await inline(store, caseParams(c), await caseInputs(store, c, 23));
      const lines = await recordLines(store, out.files);
      assert.equal(lines.length, OLD_OUTPUT[k].pairs);
      assert.equal(h32(lines.join('\n')), OLD_OUTPUT[k].records, 'the same pair records, in the same order');
      assert.equal(h32(JSON.stringify(canon(out.metrics))), OLD_OUTPUT[k].metrics, `the same metrics: ${JSON.stringify(out.metrics)}`);
      assert.deepEqual(await store.list('ledger/augment/'), [], 'the reduce removes the scratch objects');
    });
  });

  test('one manifest digest: one worker, tasks in reverse or shuffled order on many, 1, 3 or 7 partitions, a task run twice', async () => {
    const store = await minio.freshStore();
    const c = augmentCases()[0];
    const params = caseParams(c);
    const inputs = await caseInputs(store, c, 17);
    const one = await inline(store, params, inputs);
    const want = outputDigest(one, inputs);
    const inputShards = inputs.filter((i) => i.manifest.kind === 'documents').reduce((n, i) => n + i.manifest.files.length, 0);
    assert.equal(one.files.length, inputShards, 'one pairs shard per input shard');
    try {
      for (const [partitions, order, run] of [
        [3, reverse, 'workers-a'],
        [7, (n: number) => shuffled(n, 5), 'workers-b'],
        [1, reverse, 'workers-c'],
      ] as const) {
        tuning.partitions = partitions;
        const workers = await runAsWorkers(store, params, inputs, order, { run });
        assert.equal(outputDigest(workers.out, inputs), want, `${partitions} partitions, ${run}`);
        assert.deepEqual(workers.out.files.map((f) => f.sha256), one.files.map((f) => f.sha256));
        for (const [phase, size] of Object.entries(workers.sizes)) assert.ok(size < 2000, `${phase}: task results stay small (${size} bytes)`);
        assert.deepEqual(Object.keys(workers.sizes), ['stats', 'merge', 'rank', 'apply']);
      }
    } finally {
      tuning.partitions = undefined;
    }
    assert.deepEqual(await store.list('ledger/augment/'), [], 'every run removed its scratch objects');
  });

  test('the partitioned model ranks, weighs and looks up words as the in-memory one (any script, words of no document)', async () => {
    const store = await minio.freshStore();
    const jieba = defaultJieba();
    const r = rng(21);
    const pool = ['naïve', 'café', 'Straße', 'ﬁne', 'москва', 'город', '𝒳ylo', '😀smile', 'data', 'the', 'of', 'x', '数据', '模型', 'αβγ', 'élan'];
    const texts = Array.from({ length: 120 }, () => Array.from({ length: 3 + Math.floor(r() * 12) }, () => pool[Math.floor(pool.length * r() ** 2)]).join(' '));
    const lang: Lang = 'en';
    const whole = new CorpusStats();
    const shards = [new CorpusStats(), new CorpusStats(), new CorpusStats()];
    texts.forEach((t, i) => {
      const keys = splitWords(t, lang, jieba).words.map(wordKey);
      whole.add(keys);
      shards[i % 3].add(keys);
    });
    const partitions = 2;
    const prefix = 'ledger/augment/unit/';
    const t = makeStageContext({ store, params: stageKinds.augment.params.parse({ tfidf: {} }) });
    try {
      const stats = [];
      for (const [shard, s] of shards.entries()) {
        const o = shardStatsObject({ en: s, zh: new CorpusStats() }, partitions);
        await store.putBuffer(scratch.stats(prefix, shard), o.body);
        stats.push(o.offsets);
      }
      const docs = { en: whole.docs, zh: 0 };
      const merged: MergeResult[] = [];
      for (let q = 0; q < partitions; q++) {
        merged.push(await mergePartition(t.ctx, { prefix, partition: q, docs, shards: stats.map((o, shard) => [shard, o[2 * q], o[2 * q + 1], o[2 * q + 2]]) }));
      }
      const ref = await rankModel(t.ctx, { prefix, runs: merged.map((m) => [m.partition, ...m.offsets]), docs });
      assert.equal(ref.words.en, whole.df.size);
      const got = (await loadModel(store, ref, 'en'))!;
      const want = whole.finish();
      assert.equal(await loadModel(store, ref, 'zh'), undefined, 'no Chinese document, no Chinese model');
      for (const w of [...whole.df.keys(), 'unseen', '𝒳', '']) assert.equal(got.idf(w), want.idf(w), w);
      const a = rng(3);
      const b = rng(3);
      for (let i = 0; i < 3000; i++) assert.equal(got.sample(a), want.sample(b));
      const keys = splitWords(texts[0], lang, jieba).words.map(wordKey);
      const none = keys.map(() => false);
      assert.deepEqual(got.replaceProbabilities(keys, 0.3, none), want.replaceProbabilities(keys, 0.3, none));
    } finally {
      t.cleanup();
      await store.removePrefix(prefix);
    }
  });
});
