/**
 * Near-dedupe (MinHash LSH) against a real MinIO: quality on planted pairs of known Jaccard similarity in
 * English and Chinese, the exact-first step, the report, the LSH parameter derivation and the param checks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ShardWriter, readDocuments } from '../activities/documents';
import { dedupeStage } from '../activities/stages/dedupe/run';
import { nearDedupeFanout } from '../activities/stages/dedupe/near/fanout';
import { getUint32, objectKeys } from '../activities/stages/dedupe/near/objects';
import { scratchPrefix } from '../activities/scratch';
import { collisionProbability, optimalSplit, resolveNear } from '../activities/stages/dedupe/near/params';
import type { StageFanout } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import { DOCUMENT_SCHEMA, type DocumentRecordT } from '../schemas/manifest';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { plantedPairs, type PlantedPair } from './helpers/near-corpus';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';

let minio: TestMinio;
before(async () => {
  minio = await startTestMinio('near-dedupe');
});
after(async () => {
  await minio?.stop();
});

/** Bases first, then variants, then exact copies of the first bases (case and spacing changed). */
async function corpusInput(store: ArtifactStore, pairs: PlantedPair[], exactCopies: number) {
  const docs: DocumentRecordT[] = [
    ...pairs.map((p, i) => ({ id: `a${i}`, text: p.a, source: 'gen', metadata: {} })),
    ...pairs.map((p, i) => ({ id: `b${i}`, text: p.b, source: 'gen', metadata: {} })),
    ...pairs.slice(0, exactCopies).map((p, i) => ({ id: `c${i}`, text: `  ${p.a.toUpperCase()}\n`, source: 'gen', metadata: {} })),
  ];
  const writer = new ShardWriter(store, minio.dir, 97);
  for (const d of docs) await writer.write(d);
  return publishAsInput(store, 'corpus', { files: await writer.close(), schema: DOCUMENT_SCHEMA });
}

async function nearQuality(lang: 'en' | 'zh', near: StageParamsInput<'dedupe'>['near'], pairCount: number) {
  const store = await minio.freshStore();
  const params = stageKinds.dedupe.params.parse({ method: 'near', near });
  const opts = resolveNear(params);
  const pairs = plantedPairs(lang, pairCount, lang === 'en' ? 11 : 12, opts);
  const input = await corpusInput(store, pairs, 10);
  const t = makeStageContext({ store, params, inputs: [input] });
  const out = await dedupeStage.run!(t.ctx);
  const kept = new Set<string>();
  for await (const d of readDocuments(store, (await publishAsInput(store, 'out', out)).manifest)) kept.add(d.id);
  const rate = (sel: (j: number) => boolean) => {
    const chosen = pairs.map((p, i) => ({ ...p, i })).filter((p) => sel(p.jaccard));
    return { n: chosen.length, merged: chosen.filter((p) => !kept.has(`b${p.i}`)).length / chosen.length };
  };
  const high = rate((j) => j >= opts.threshold + 0.1);
  const edge = rate((j) => j >= opts.threshold + 0.1 && j < opts.threshold + 0.2);
  const low = rate((j) => j <= opts.threshold - 0.1);
  return { out, kept, opts, high, edge, low, store, prefix: scratchPrefix(t.ctx, 'near-dedupe'), pairs };
}

type Rate = { n: number; merged: number };
function report(label: string, r: { high: Rate; edge: Rate; low: Rate }) {
  const f = (x: Rate) => `${x.merged.toFixed(3)} of ${x.n}`;
  process.stderr.write(`${label}: recall ≥t+0.1 ${f(r.high)}, in [t+0.1, t+0.2) ${f(r.edge)}; false merges ≤t−0.1 ${f(r.low)}\n`);
}

describe('near-dedupe quality on planted pairs', () => {
  test('English, defaults (14 bands × 8 rows, threshold 0.75): recall ≥ 0.95 at ≥ t+0.1, ≤ 5% merges at ≤ t−0.1', async () => {
    const r = await nearQuality('en', undefined, 400);
    assert.deepEqual([r.opts.bands, r.opts.rows, r.opts.threshold], [14, 8, 0.75]);
    assert.ok(r.high.n >= 60 && r.low.n >= 150, `enough pairs in both regions: ${r.high.n}, ${r.low.n}`);
    assert.ok(r.high.merged >= 0.95, `recall ${r.high.merged} over ${r.high.n} pairs`);
    assert.ok(r.low.merged <= 0.05, `false merges ${r.low.merged} over ${r.low.n} pairs`);
    for (let i = 0; i < 400; i++) assert.ok(r.kept.has(`a${i}`), `base a${i} is kept: unrelated texts never merge`);
    const m = r.out.metrics as Record<string, number> & { sampleClusters: { size: number; ids: string[] }[]; clusterSizes: Record<string, number> };
    assert.equal(m.input, 810);
    const identical = r.pairs.filter((p) => p.a === p.b).length;
    assert.equal(m.exactDuplicates, 10 + identical, 'unedited variants and the upper-cased, re-spaced copies are exact duplicates');
    assert.equal(m.input - m.kept, m.exactDuplicates + m.nearDuplicates);
    assert.equal(m.dupRate, (m.input - m.kept) / m.input);
    assert.equal(Object.values(m.clusterSizes).reduce((a, b) => a + b, 0), m.clusters);
    assert.ok(m.sampleClusters.length > 0 && m.sampleClusters[0].ids.every((id) => typeof id === 'string'));
    assert.match(m.sampleClusters[0].ids[0], /^a\d+$/, 'a cluster lists its kept (first) document first');
    assert.deepEqual(await r.store.list(r.prefix), [], 'intermediate objects are removed by the reduce');
    report('en', r);
  });

  test('Chinese (jieba words), threshold 0.7 → derived 16 × 7: same bounds', async () => {
    const r = await nearQuality('zh', { threshold: 0.7 }, 400);
    assert.deepEqual([r.opts.bands, r.opts.rows], [16, 7]);
    assert.ok(r.high.n >= 60 && r.low.n >= 150, `enough pairs in both regions: ${r.high.n}, ${r.low.n}`);
    assert.ok(r.high.merged >= 0.95, `recall ${r.high.merged} over ${r.high.n} pairs`);
    assert.ok(r.low.merged <= 0.05, `false merges ${r.low.merged} over ${r.low.n} pairs`);
    report('zh', r);
  });

  test('Chinese character 5-grams', async () => {
    const r = await nearQuality('zh', { zhTokens: 'chars', threshold: 0.8 }, 200);
    assert.ok(r.high.merged >= 0.95, `recall ${r.high.merged} over ${r.high.n} pairs`);
    assert.ok(r.low.merged <= 0.05, `false merges ${r.low.merged} over ${r.low.n} pairs`);
  });
});

describe('near-dedupe steps', () => {
  test('signatures → buckets → clusters → filter one by one; a task run twice gives the same result', async () => {
    const store = await minio.freshStore();
    const params = stageKinds.dedupe.params.parse({ method: 'near', near: { bandsPerTask: 5 } });
    const input = await corpusInput(store, plantedPairs('en', 120, 3, resolveNear(params)), 5);
    const ctx = makeStageContext({ store, params, inputs: [input] }).ctx;
    const results: unknown[][] = [];
    const counts: number[] = [];
    const fanout: StageFanout<typeof params> = nearDedupeFanout; // driven the way the engine does, phase by phase
    for (const phase of fanout.phases) {
      const tasks = await phase.plan(ctx, results);
      counts.push(tasks.length);
      const out = [];
      for (const [i, task] of tasks.entries()) out.push(await phase.map(ctx, task, i));
      if (phase.name === 'signatures') {
        const key = objectKeys.signatures(scratchPrefix(ctx, 'near-dedupe'), 1);
        const before = await getUint32(store, key);
        assert.deepEqual(await phase.map(ctx, tasks[1], 1), out[1], 'a rerun task reports the same');
        assert.deepEqual(await getUint32(store, key), before, 'and rewrites the same signatures');
      }
      results.push(out);
    }
    assert.deepEqual(counts, [3, 4, 1, 3], '3 input shards (97 documents each), exact + 14 bands in groups of 5, one clustering task');
    const out = await fanout.reduce(ctx, results);
    const inline = await dedupeStage.run!(makeStageContext({ store, params, inputs: [input] }).ctx);
    assert.deepEqual(out.files.map((f) => f.sha256), inline.files.map((f) => f.sha256), 'the same output as the single-activity form');
    assert.deepEqual(out.metrics, inline.metrics);
  });
});

describe('dedupe against a reference snapshot', () => {
  test('documents duplicating the reference are dropped; reference documents are not output', async () => {
    const store = await minio.freshStore();
    const near = stageKinds.dedupe.params.parse({ method: 'near', against: 'snapshot' });
    const pairs = plantedPairs('en', 60, 21, resolveNear(near), 120, 2);
    const write = async (stage: string, docs: DocumentRecordT[]) => {
      const writer = new ShardWriter(store, minio.dir, 25, stage);
      for (const d of docs) await writer.write(d);
      return publishAsInput(store, stage, { files: await writer.close(), schema: DOCUMENT_SCHEMA });
    };
    const doc = (id: string, text: string) => ({ id, text, source: 'gen', metadata: {} });
    const snapshot = await write('snapshot', pairs.slice(0, 40).map((p, i) => doc(`a${i}`, p.a)));
    // The new crawl: edited versions of 40 snapshot documents, 20 unseen bases with their variants, one exact copy.
    const fresh = await write('fresh', [
      ...pairs.slice(0, 40).map((p, i) => doc(`b${i}`, p.b)),
      ...pairs.slice(40).flatMap((p, i) => [doc(`a${40 + i}`, p.a), doc(`b${40 + i}`, p.b)]),
      doc('copy', pairs[0].a),
    ]);
    const ids = async (out: Awaited<ReturnType<NonNullable<typeof dedupeStage.run>>>) => {
      const got: string[] = [];
      for await (const d of readDocuments(store, (await publishAsInput(store, 'out', out)).manifest)) got.push(d.id);
      return got;
    };
    const out = await dedupeStage.run!(makeStageContext({ store, params: near, inputs: [fresh, snapshot] }).ctx);
    assert.deepEqual(await ids(out), pairs.slice(40).map((_, i) => `a${40 + i}`), 'only the unseen bases remain');
    const m = out.metrics as Record<string, number>;
    assert.deepEqual([m.input, m.kept, m.ofReference, m.exactDuplicates], [81, 20, 41, 1 + pairs.filter((p, i) => i < 60 && p.a === p.b).length]);

    const exact = stageKinds.dedupe.params.parse({ against: 'snapshot' });
    const exactOut = await dedupeStage.run!(makeStageContext({ store, params: exact, inputs: [fresh, snapshot] }).ctx);
    assert.ok(!(await ids(exactOut)).includes('copy'), 'exact: a copy of a snapshot document is dropped');
    await assert.rejects(dedupeStage.run!(makeStageContext({ store, params: exact, inputs: [fresh] }).ctx), /against: "snapshot" is not among/);
  });
});

describe('near-dedupe parameters', () => {
  test('bands × rows from a threshold match datasketch’s optimal split', () => {
    assert.deepEqual(optimalSplit(0.5, 112), { bands: 22, rows: 5 });
    assert.deepEqual(optimalSplit(0.8, 112), { bands: 9, rows: 12 });
    assert.deepEqual(optimalSplit(0.9, 128), { bands: 5, rows: 25 });
    assert.deepEqual(optimalSplit(0.75, 112, 0.8), { bands: 14, rows: 8 }, 'recall-weighted, as used with verification');
    assert.ok(collisionProbability(0.85, 14, 8) > 0.98 && collisionProbability(0.5, 14, 8) < 0.06, '14 × 8 separates 0.85 from 0.5');
  });

  test('invalid combinations are reported at compile time', () => {
    const issues = (p: unknown) => {
      const r = stageKinds.dedupe.params.safeParse(p);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    assert.deepEqual(issues({ method: 'near', near: { bands: 14 } }), ['near.rows: give bands and rows together']);
    assert.deepEqual(issues({ method: 'near', near: { bands: 20, rows: 8 } }), ['near.bands: bands × rows (160) exceeds numPerm (112)']);
    assert.deepEqual(issues({ near: {} }), ['near: near options need method: near']);
    assert.equal(stageKinds.dedupe.fanout(stageKinds.dedupe.params.parse({ method: 'near' })), true);
    assert.equal(stageKinds.dedupe.fanout(stageKinds.dedupe.params.parse({})), true, 'exact dedupe fans out too');
  });
});
