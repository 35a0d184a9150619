/**
 * The select stage as a fan-out (counts → weights → scores → radix-select cut → apply), against a real MinIO:
 *   - top-k keeps exactly what a brute-force sort of every score (descending, ties by input order) keeps — the
 *     single-activity semantics — on a corpus with many exact ties straddling the cut, over two general inputs
 *     of many small shards; the same with topK + threshold, and threshold alone;
 *   - the output (manifest digest) does not depend on the order the tasks run in, nor on the run;
 *   - resample (DSIR importance resampling, Gumbel-top-k) is deterministic for a sampleSeed, differs for another,
 *     and over many seeds prefers in-domain documents without keeping only the top ones;
 *   - the radix select itself, on synthetic keys built to need every refine level (near-equal floats, ±0,
 *     negatives, ties), against a sort; and Gumbel-top-1 frequencies against the weights;
 *   - the scratch objects are removed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ShardWriter } from '../activities/documents';
import { selectFanout, selectStage } from '../activities/stages/select/run';
import { LEVELS, LevelHistogram, ShardCut, resolveLevel, tiesOf, type Cut, type CutStep, type Pending } from '../activities/stages/select/cut';
import { featureWords, forEachFeature, gumbel, logRatioWeights, round, scoreText } from '../activities/stages/select/features';
import type { StageContext, StageFanout, StageInputArtifact, StageOutput } from '../activities/stages/types';
import { manifestDigest, type ArtifactStore } from '../activities/store';
import { rng } from '../activities/rng';
import type { DocumentRecordT } from '../schemas/manifest';
import { stageKinds, type StageParams, type StageParamsInput } from '../schemas/stages';
import { makeStageContext, publishAsInput, readOutput, startTestMinio, type TestMinio } from './helpers/stage-context';

type Params = StageParams<'select'>;

const GENERAL = ('the a of and to in is was for on with as by at from that this it are be have their new city people year time day ' +
  'football match team season goal coach players fans recipe bake oven flour sugar butter garden flowers soil rain weather holiday').split(' ');
const DOMAIN = ('wafer lithography photoresist exposure mask reticle euv scanner overlay etch deposition node nanometer yield defect ' +
  'metrology resist stepper dose focus pattern transistor fab cleanroom silicon anneal dielectric gate pitch').split(' ');

function makeDoc(r: () => number, words: number, domainShare: number): string {
  const pick = (v: string[]) => v[Math.floor(r() * v.length)];
  return Array.from({ length: words }, () => (r() < domainShare ? pick(DOMAIN) : pick(GENERAL))).join(' ');
}

let minio: TestMinio;
let store: ArtifactStore;
let seed: StageInputArtifact;
let generalA: StageInputArtifact;
let generalB: StageInputArtifact;
/** Both general inputs' documents in input order (A, then B). */
const corpus: DocumentRecordT[] = [];
const seedDocs: DocumentRecordT[] = [];
const inDomain = new Set<string>();
/** Out-of-domain documents of ordinary length (not the repeated or feature-less ones). */
const outOfDomain = new Set<string>();

before(async () => {
  minio = await startTestMinio('stages-select-fanout');
  store = await minio.freshStore();
  const r = rng(11);
  const write = async (name: string, docs: DocumentRecordT[], shardSize: number) => {
    const w = new ShardWriter(store, makeStageContext({ store, params: {} }).ctx.workDir, shardSize, name);
    for (const d of docs) await w.write(d);
    return publishAsInput(store, name, { files: await w.close(), schema: 'document/v1' });
  };
  // Ties: a few texts repeated throughout the corpus (identical scores), and feature-less texts (score 0).
  const repeated = [makeDoc(r, 40, 0.3), makeDoc(r, 40, 0.1), makeDoc(r, 60, 0), makeDoc(r, 30, 0.2)];
  for (let i = 0; i < 150; i++) {
    const id = `g${i}`;
    let text: string;
    if (i % 5 === 2) text = repeated[(i / 5) % repeated.length | 0];
    else if (i % 11 === 4) text = i % 2 ? '' : '!!! ???';
    else if (i % 6 === 1) {
      text = makeDoc(r, 60 + Math.floor(r() * 120), 0.25);
      inDomain.add(id);
    } else {
      text = makeDoc(r, 60 + Math.floor(r() * 120), 0);
      outOfDomain.add(id);
    }
    corpus.push({ id, text, source: i < 90 ? 'a' : 'b', metadata: { n: i } });
  }
  generalA = await write('generalA', corpus.slice(0, 90), 13);
  generalB = await write('generalB', corpus.slice(90), 11);
  seedDocs.push(...Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, text: makeDoc(r, 120, 0.5), source: 'seed', metadata: {} })));
  seed = await write('seed', seedDocs, 5);
});

after(async () => {
  await minio?.stop();
});

function parse(params: StageParamsInput<'select'>): Params {
  return stageKinds.select.params.parse(params);
}

function testContext(params: StageParamsInput<'select'>, run = 'run-1') {
  return makeStageContext({ store, params: parse(params), inputs: [generalA, seed, generalB], run });
}

const context = (params: StageParamsInput<'select'>, run?: string) => testContext(params, run).ctx;

/** Runs the stage (its phases inline); `phases`: the phases that ran tasks. */
async function select(params: StageParamsInput<'select'>, run?: string) {
  const t = testContext(params, run);
  const out = await selectStage.run!(t.ctx);
  const phases = new Set(t.progressLog.flatMap((p) => /^([a-z0-9-]+): \d+\/\d+$/.exec(p.message ?? '')?.[1] ?? []));
  return { out, docs: await readOutput(store, out), phases };
}

/** The digest a manifest of this output gets (kind, schema, files and parents: here none). */
const digestOf = (out: StageOutput) => manifestDigest({ kind: 'documents', schema: out.schema, files: out.files, parents: [] } as unknown as Parameters<typeof manifestDigest>[0]);

/** The single-activity algorithm, as it was: every score in one array, one sort. */
function bruteForce(p: Params): { scores: number[]; order: number[] } {
  const counts = (docs: DocumentRecordT[]) => {
    const c = new Float64Array(p.buckets);
    for (const d of docs) forEachFeature(featureWords(d.text), p.buckets, (b) => c[b]++);
    return c;
  };
  const weights = logRatioWeights(counts(seedDocs), counts(corpus), p.smoothing);
  const options = { buckets: p.buckets, score: p.score, keywords: p.keywords.map((k) => k.toLowerCase()), keywordBoost: p.keywordBoost };
  const scores = corpus.map((d) => scoreText(d.text, weights, options));
  const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
  return { scores, order };
}

/** Which documents the single-activity version kept, in input order. */
function expectedKept(p: Params): { kept: number[]; scores: number[] } {
  const { scores, order } = bruteForce(p);
  const limit = Math.min(order.length, p.topK ?? order.length);
  const kept = order.slice(0, limit).filter((i) => p.threshold === undefined || scores[i] >= p.threshold);
  return { kept: kept.sort((a, b) => a - b), scores };
}

function assertMatches(p: Params, out: StageOutput, docs: DocumentRecordT[]): void {
  const { kept, scores } = expectedKept(p);
  assert.deepEqual(docs.map((d) => d.id), kept.map((i) => corpus[i].id), `kept set and order (topK ${p.topK}, threshold ${p.threshold})`);
  assert.deepEqual(docs.map((d) => d.metadata.selectScore), kept.map((i) => round(scores[i])));
  assert.deepEqual(docs.map((d) => d.metadata.n), kept.map((i) => i), 'metadata kept');
  const m = out.metrics!;
  assert.equal(m.input, corpus.length);
  assert.equal(m.kept, kept.length);
  assert.equal(m.seedDocuments, seedDocs.length);
  assert.equal(m.minKeptScore, kept.length ? round(Math.min(...kept.map((i) => scores[i]))) : null);
  const h = m.histogram as { edges: number[]; counts: number[]; kept: number[] };
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  const width = hi > lo ? (hi - lo) / p.histogramBins : 1;
  const bin = (s: number) => Math.min(p.histogramBins - 1, Math.floor((s - lo) / width));
  const counts = new Array<number>(p.histogramBins).fill(0);
  const keptCounts = new Array<number>(p.histogramBins).fill(0);
  scores.forEach((s) => counts[bin(s)]++);
  kept.forEach((i) => keptCounts[bin(scores[i])]++);
  assert.deepEqual(h, { edges: Array.from({ length: p.histogramBins + 1 }, (_, i) => round(lo + i * width)), counts, kept: keptCounts });
}

describe('select as a fan-out', () => {
  test('the corpus has exact ties that straddle top-k cuts across shards', () => {
    const { scores, order } = bruteForce(parse({ seed: 'seed', topK: 1 }));
    const groups = new Map<number, number[]>();
    order.forEach((i, rank) => groups.set(scores[i], [...(groups.get(scores[i]) ?? []), rank]));
    const tied = [...groups.values()].filter((ranks) => ranks.length >= 5);
    assert.ok(tied.length >= 3, `tie groups: ${tied.length}`);
  });

  test('top-k equals the brute-force sort (ties by input order), for cuts inside and at the edges of tie groups', async () => {
    const p0 = parse({ seed: 'seed', topK: 1 });
    const { scores, order } = bruteForce(p0);
    // k at the first, a middle and the last member of each large tie group, and a few others.
    const ks = new Set<number>([1, 2, 17, 149, 150, 400]);
    const ranksOf = new Map<number, number[]>();
    order.forEach((i, rank) => ranksOf.set(scores[i], [...(ranksOf.get(scores[i]) ?? []), rank]));
    for (const ranks of [...ranksOf.values()].filter((r) => r.length >= 5).slice(0, 3)) {
      ks.add(ranks[0] + 1);
      ks.add(ranks[Math.floor(ranks.length / 2)] + 1);
      ks.add(ranks[ranks.length - 1] + 1);
    }
    const ran = new Set<string>();
    for (const topK of ks) {
      const { out, docs, phases } = await select({ seed: 'seed', topK });
      assertMatches(parse({ seed: 'seed', topK }), out, docs);
      assert.equal(out.metrics!.method, 'topk');
      phases.forEach((p) => ran.add(p));
    }
    assert.ok(ran.has('cut-0') && ran.has('refine-1'), `phases that ran: ${[...ran].join(', ')}`);
  });

  test('sum scores and a keyword boost: still the brute-force selection', async () => {
    for (const params of [
      { seed: 'seed', topK: 23, score: 'sum' as const },
      { seed: 'seed', topK: 40, keywords: ['OVEN', 'wafer'], keywordBoost: 2 },
    ]) {
      const { out, docs } = await select(params);
      assertMatches(parse(params), out, docs);
    }
  });

  test('threshold alone, and topK with a threshold', async () => {
    const { scores, order } = bruteForce(parse({ seed: 'seed', topK: 1 }));
    const threshold = scores[order[30]];
    for (const params of [{ seed: 'seed', threshold }, { seed: 'seed', threshold, topK: 20 }, { seed: 'seed', threshold, topK: 60 }]) {
      const { out, docs } = await select(params);
      assertMatches(parse(params), out, docs);
    }
    const { docs } = await select({ seed: 'seed', threshold });
    assert.ok(docs.length >= 31, 'every document at the threshold (ties included)');
  });

  test('the same output whatever order the tasks run in, and in another run; no scratch objects left', async () => {
    const params = { seed: 'seed', topK: 37 };
    const { out } = await select(params);
    const shuffled = await runShuffled(context(params, 'run-2'), 5);
    assert.equal(digestOf(shuffled), digestOf(out));
    assert.deepEqual(shuffled.metrics, out.metrics);
    const resample = { seed: 'seed', topK: 37, method: 'resample' as const, sampleSeed: 3 };
    assert.equal(digestOf(await runShuffled(context(resample, 'run-3'), 9)), digestOf((await select(resample)).out));
    assert.deepEqual((await store.list('ledger/')).map((o) => o.key), [], 'scratch prefixes removed');
  });

  test('resample: deterministic for a sampleSeed, another seed draws another sample, in-domain documents preferred', async () => {
    // A lexicon of domain terms widens the gap between in- and out-of-domain log weights (the mean log-ratio
    // alone separates them by ~0.6 nats here), so the preference is plain to see in a dozen draws.
    const base = { seed: 'seed', topK: 20, keywords: DOMAIN.slice(0, 12), keywordBoost: 1 };
    const { topK } = base;
    const draw = (sampleSeed: number, run?: string) => select({ ...base, method: 'resample', sampleSeed }, run);
    const top = new Set(expectedKept(parse(base)).kept.map((i) => corpus[i].id));
    const a = await draw(1);
    const again = await draw(1, 'run-other');
    assert.equal(a.out.metrics!.method, 'resample');
    assert.equal(a.docs.length, topK);
    assert.equal(digestOf(again.out), digestOf(a.out), 'same seed, same sample');
    const b = await draw(2);
    assert.notDeepEqual(b.docs.map((d) => d.id), a.docs.map((d) => d.id), 'another seed, another sample');
    for (const { docs } of [a, b]) {
      const ids = docs.map((d) => Number(d.id.slice(1)));
      assert.deepEqual(ids, [...ids].sort((x, y) => x - y), 'written in input order');
      assert.ok(docs.every((d) => typeof d.metadata.selectScore === 'number'));
    }

    // Over many draws: in-domain documents are kept far more often than the others, but the draws are not the top k.
    const draws = 10;
    const times = new Map<string, number>();
    let notTop = 0;
    for (let s = 0; s < draws; s++) {
      const { docs } = s < 2 ? [a, b][s] : await draw(s + 1);
      for (const d of docs) {
        times.set(d.id, (times.get(d.id) ?? 0) + 1);
        if (!top.has(d.id)) notTop++;
      }
    }
    const rate = (ids: string[]) => ids.reduce((n, id) => n + (times.get(id) ?? 0), 0) / (ids.length * draws);
    const domainRate = rate([...inDomain]);
    const otherRate = rate([...outOfDomain]);
    assert.ok(domainRate > 5 * otherRate, `in-domain kept ${domainRate.toFixed(3)} of the time, out-of-domain ${otherRate.toFixed(3)}`);
    assert.ok(notTop > 0, 'some draws keep documents outside the top k');
    assert.ok(times.size > topK, `${times.size} distinct documents drawn`);
  });

  test('params: resample needs topK and no threshold', () => {
    assert.equal(stageKinds.select.params.safeParse({ seed: 's', method: 'resample', threshold: 1 }).success, false);
    assert.equal(stageKinds.select.params.safeParse({ seed: 's', method: 'resample', topK: 3, threshold: 1 }).success, false);
    assert.equal(stageKinds.select.params.safeParse({ seed: 's', method: 'resample', topK: 3 }).success, true);
    assert.equal(parse({ seed: 's', topK: 3 }).method, 'topk');
  });
});

/** Runs the fan-out's phases inline, each phase's tasks in a shuffled order (a stand-in for many workers). */
async function runShuffled(ctx: StageContext<Params>, shuffleSeed: number): Promise<StageOutput> {
  const r = rng(shuffleSeed);
  const fanout: StageFanout<Params> = selectFanout; // the engine's untyped view: phases see earlier results as unknown[][]
  const results: unknown[][] = [];
  for (const phase of fanout.phases) {
    const tasks = await phase.plan(ctx, results);
    const out: unknown[] = new Array(tasks.length);
    const order = tasks.map((_, i) => i).sort(() => r() - 0.5);
    for (const i of order) out[i] = await phase.map(ctx, tasks[i], i);
    results.push(out);
  }
  return fanout.reduce(ctx, results);
}

describe('radix select over histograms (no store)', () => {
  /** Selects the top k of per-shard key lists with the stage's levels; the kept flags per shard. */
  const encoded = new Map<string, Buffer[]>();

  async function radixTopK(shards: number[][], k: number): Promise<{ kept: boolean[][]; levels: number }> {
    const total = shards.reduce((n, s) => n + s.length, 0);
    let cut: Cut | undefined;
    let levels = 0;
    if (k >= total) cut = { above: null, ties: 'all' };
    let pending: Pending = { level: 0, prefix: 0, need: k };
    while (!cut) {
      levels++;
      // A level's histograms depend on the shards, the level and the prefix only: built once per test.
      const id = JSON.stringify([shards.length, shards[0], pending.level, pending.prefix]);
      let objects = encoded.get(id);
      if (!objects) {
        const level = pending;
        objects = shards.map((keys) => {
          const h = new LevelHistogram(level.level, level.prefix);
          keys.forEach((x) => h.add(x));
          return h.matched ? h.encode() : Buffer.alloc(0);
        });
        encoded.set(id, objects);
      }
      const shardsWith = objects.flatMap((h, i) => (h.length ? [i] : []));
      const step: CutStep = await resolveLevel(async (s) => objects[s], shardsWith, pending);
      if ('cut' in step) cut = step.cut;
      else pending = step.next;
      assert.ok(levels <= LEVELS);
    }
    const final = cut;
    const kept = shards.map((keys, s) => {
      const ties = tiesOf(final, s);
      const shardCut = new ShardCut(final.above, ties === 'all' ? Infinity : ties);
      return keys.map((x) => shardCut.keeps(x + 0));
    });
    return { kept, levels };
  }

  function bruteTopK(shards: number[][], k: number): boolean[][] {
    const flat = shards.flatMap((keys, s) => keys.map((x, i) => ({ x: x + 0, s, i })));
    const order = flat.map((_, j) => j).sort((a, b) => flat[b].x - flat[a].x || a - b);
    const kept = shards.map((keys) => keys.map(() => false));
    for (const j of order.slice(0, k)) kept[flat[j].s][flat[j].i] = true;
    return kept;
  }

  test('equals a sort on keys that need every refine level, with ties, ±0 and negatives', async () => {
    const r = rng(5);
    const base = 0.7;
    const near = (ulps: number) => {
      const v = new DataView(new ArrayBuffer(8));
      v.setFloat64(0, base);
      v.setBigUint64(0, v.getBigUint64(0) + BigInt(ulps));
      return v.getFloat64(0);
    };
    // Keys 1, 2^16, 2^32 ulps apart share 48, 32 and 16 leading bits; plus exact ties, zeros and negatives.
    const pool = [near(0), near(1), near(2), near(1 << 16), near((1 << 16) + 1), near(2 ** 32), near(2 ** 32 + 5), 0, -0, -1.5, -1.5 + 2 ** -40, 3, 1e-300, -1e-300];
    const shards = Array.from({ length: 7 }, () => Array.from({ length: 3 + Math.floor(r() * 20) }, () => pool[Math.floor(r() * pool.length)]));
    const total = shards.reduce((n, s) => n + s.length, 0);
    let deepest = 0;
    for (let k = 1; k <= total + 1; k++) {
      const { kept, levels } = await radixTopK(shards, k);
      deepest = Math.max(deepest, levels);
      assert.deepEqual(kept, bruteTopK(shards, k), `k = ${k}`);
    }
    assert.equal(deepest, LEVELS, 'some k needed all four levels');
  });

  test('random keys, many shards', async () => {
    const r = rng(9);
    const shards = Array.from({ length: 20 }, () => Array.from({ length: Math.floor(r() * 50) }, () => Math.round((r() - 0.3) * 1000) / 100));
    for (const k of [1, 5, 77, 250, 499, 500, 501]) assert.deepEqual((await radixTopK(shards, k)).kept, bruteTopK(shards, k), `k = ${k}`);
  });

  test('Gumbel-top-1 draws in proportion to the weights', () => {
    const logWeights = [0, Math.log(2), Math.log(4), Math.log(1)];
    const wins = [0, 0, 0, 0];
    const draws = 14_000;
    for (let s = 0; s < draws; s++) {
      let best = 0;
      let bestKey = -Infinity;
      logWeights.forEach((w, i) => {
        const key = w + gumbel(s, `doc-${i}`);
        if (key > bestKey) [best, bestKey] = [i, key];
      });
      wins[best]++;
    }
    const expected = [1, 2, 4, 1].map((w) => (w / 8) * draws);
    wins.forEach((n, i) => assert.ok(Math.abs(n - expected[i]) < 4 * Math.sqrt(expected[i]), `item ${i}: ${n} wins, expected ~${expected[i]}`));
  });
});
