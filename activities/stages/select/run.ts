/**
 * The `select` stage (domain data mining, DSIR: Xie et al. 2023) as a fan-out whose tasks each hold one shard:
 *   counts     per seed and per general shard: bucket counts of hashed unigrams+bigrams (`buckets` float64s, a
 *              scratch object), and for a seed shard the first n-gram seen in each bucket (a scratch object);
 *   weights    one task: the summed counts → log-ratio weights (a scratch object), the top features, the seed
 *              document count;
 *   scores     per general shard: each document's score (its features' mean or summed weight, plus the keyword
 *              boost) and its key — topk: the score; resample: score + Gumbel noise from a generator seeded by
 *              (sampleSeed, document id), DSIR's Gumbel-top-k on log importance weights — as one scratch object
 *              per shard, and a histogram of the keys' order-preserving bits (cut.ts) as another; the result is
 *              small (document count, lowest and highest score);
 *   cut-L, refine-L
 *              the exact k-th key by radix select (cut.ts): a cut task merges the shards' histograms and either
 *              resolves the cut or names one bin, which the next refine pass (per shard, over its stored keys)
 *              counts by the next 16 bits; passes that are not needed plan no tasks (threshold alone, topK ≥
 *              the documents, a cut resolved earlier), and three refines at most are ever needed;
 *   apply      per general shard (a shard phase): the documents above the cut, and of those exactly at it the
 *              first ones in input order as many as the cut allots to this shard; then `threshold`;
 *              `metadata.selectScore` set as before.
 * The reduce adds the shards' stats up into the same metrics as the single-activity version (input,
 * seedDocuments, kept, minKeptScore, histogram, topFeatures) plus the method, and removes the scratch prefix.
 *
 * Memory per task is bounded by one shard plus the bucket arrays: counts and weights hold a few `buckets`-long
 * float64 arrays (weights also one example n-gram per bucket); scores, refine and apply one shard's scores and
 * keys (8 bytes per document, 16 with resample) and a 65,536-bin histogram (~1.3 MB); a cut task one merged
 * histogram (~1.5 MB) and, for a tie at the cut, one [shard, count] pair per shard holding tied keys. Nothing
 * holds an array over all documents, and no sort of them happens anywhere.
 *
 * Output: kept documents in input order, written per input shard and named by its index (shard-map.ts), so the
 * manifest is the same whatever the number of workers or the order tasks finish in; topk keeps exactly what a
 * sort of all scores (descending, ties by input order) kept, and the same order.
 */
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA, type ArtifactFileT, type DocumentRecordT } from '../../../schemas/manifest';
import { documentShards, readShard } from '../../documents';
import { ConfigError, InputError } from '../../errors';
import { gatherShards, shardPhase, type ShardResult, type ShardTask } from '../../shard-map';
import { runPhasesInline } from '../../inline-phases';
import { scratchPrefix } from '../../scratch';
import type { FanoutPhase, StageContext, StageImpl, StageInputArtifact, TypedFanout } from '../types';
import {
  KEEP_ALL,
  type LEVELS,
  LevelHistogram,
  ShardCut,
  bytesFloat64,
  float64Bytes,
  normalKey,
  putObject,
  readObject,
  resolveLevel,
  tiesOf,
  type Cut,
  type CutStep,
  type Pending,
} from './cut';
import {
  binOf,
  featureWords,
  forEachFeature,
  gumbel,
  histogramEdges,
  histogramFrame,
  logRatioWeights,
  round,
  scoreText,
  type HistogramFrame,
} from './features';

type Params = StageParams<'select'>;
type FileRef = Pick<ArtifactFileT, 'key' | 'name' | 'records'>;

interface CountsTask {
  prefix: string;
  role: 'seed' | 'general';
  task: number;
  file: FileRef;
}
interface CountsResult {
  prefix: string;
  role: 'seed' | 'general';
  task: number;
  docs: number;
}
interface WeightsTask {
  prefix: string;
  seed: number[];
  general: number[];
  seedDocuments: number;
}
interface WeightsResult {
  prefix: string;
  seedDocuments: number;
  topFeatures: { ngram: string; weight: number }[];
}
interface ScoresTask {
  prefix: string;
  shard: number;
  file: FileRef;
  /** Whether a top-k cut will be needed, hence the first histogram. */
  histogram: boolean;
}
interface ScoresResult {
  shard: number;
  docs: number;
  /** Lowest and highest score (null without documents). */
  min: number | null;
  max: number | null;
}
interface RefineTask {
  prefix: string;
  shard: number;
  pending: Pending;
}
interface RefineResult {
  shard: number;
  level: number;
  matched: number;
}
interface CutTask {
  prefix: string;
  pending: Pending;
  /** The shards with keys under the pending prefix, in input order. */
  shards: number[];
}
interface ApplyExtra {
  prefix: string;
  above: number | null;
  ties: number | 'all';
  frame: HistogramFrame;
}
interface ApplyStats {
  input: number;
  kept: number;
  minKept: number | null;
  counts: number[];
  keptCounts: number[];
}

const pad = (n: number) => String(n).padStart(6, '0');
const objects = {
  counts: (prefix: string, task: number) => `${prefix}counts-${pad(task)}.bin`,
  examples: (prefix: string, task: number) => `${prefix}examples-${pad(task)}.json`,
  weights: (prefix: string) => `${prefix}weights.bin`,
  /** A general shard's scores (float64 per document), followed by its keys with method: resample. */
  keys: (prefix: string, shard: number) => `${prefix}keys-${pad(shard)}.bin`,
  histogram: (prefix: string, level: number, shard: number) => `${prefix}hist-${level}-${pad(shard)}.bin`,
};

const PROGRESS_EVERY = 1000;

/** Seed and general inputs by the needs-stages the params name. */
function pickInputs(inputs: StageInputArtifact[], p: Params): { seed: StageInputArtifact[]; general: StageInputArtifact[] } {
  const byName = new Map(inputs.map((i) => [i.stage, i]));
  const need = (name: string) => {
    const i = byName.get(name);
    if (!i) throw new ConfigError(`select: "${name}" is not among the stage's needs (${[...byName.keys()].join(', ') || 'none'})`);
    return i;
  };
  const general = (p.general ?? inputs.map((i) => i.stage).filter((s) => s !== p.seed)).map(need);
  if (!general.length) throw new ConfigError('select: no general corpus: add a need besides the seed stage');
  if (general.some((g) => g.stage === p.seed)) throw new ConfigError(`select: "${p.seed}" cannot be both seed and general`);
  return { seed: [need(p.seed)], general };
}

/** The general corpus's shards in input order: the shard numbering of the scores, refine and apply phases. */
function generalShards(ctx: StageContext<Params>): FileRef[] {
  return pickInputs(ctx.inputs, ctx.params).general.flatMap((i) => documentShards(i.manifest).map((f) => ({ key: f.key, name: f.name, records: f.records })));
}

async function* shardDocs(ctx: StageContext<Params>, file: FileRef, what: string): AsyncGenerator<DocumentRecordT> {
  let n = 0;
  for await (const doc of readShard(ctx.store, file)) {
    if (++n % PROGRESS_EVERY === 0) {
      ctx.signal.throwIfAborted();
      ctx.progress({ fraction: file.records ? Math.min(1, n / file.records) : undefined, message: `${what} ${file.name}: ${n} documents` });
    }
    yield doc;
  }
}

async function readFloat64(ctx: StageContext<Params>, key: string): Promise<Float64Array> {
  return bytesFloat64(await readObject(ctx.store, key));
}

// ---- counts -------------------------------------------------------------------------------------------------

const countsPhase: FanoutPhase<Params, CountsTask, CountsResult, []> = {
  name: 'counts',
  async plan(ctx) {
    const { seed, general } = pickInputs(ctx.inputs, ctx.params);
    const prefix = scratchPrefix(ctx, 'select');
    const tasks: CountsTask[] = [];
    const add = (role: CountsTask['role'], inputs: StageInputArtifact[]) => {
      for (const i of inputs) for (const f of documentShards(i.manifest)) tasks.push({ prefix, role, task: tasks.length, file: { key: f.key, name: f.name, records: f.records } });
    };
    add('seed', seed);
    add('general', general);
    return tasks;
  },
  async map(ctx, task) {
    const { buckets } = ctx.params;
    const counts = new Float64Array(buckets);
    const examples = new Map<number, string>();
    const seed = task.role === 'seed';
    const add = seed
      ? (b: number, g?: string) => {
          counts[b]++;
          if (!examples.has(b)) examples.set(b, g!);
        }
      : (b: number) => counts[b]++;
    let docs = 0;
    for await (const d of shardDocs(ctx, task.file, 'counts')) {
      docs++;
      forEachFeature(featureWords(d.text), buckets, add, seed);
    }
    await putObject(ctx.store, objects.counts(task.prefix, task.task), float64Bytes(counts));
    if (seed) await ctx.store.putJson(objects.examples(task.prefix, task.task), [...examples]);
    return { prefix: task.prefix, role: task.role, task: task.task, docs };
  },
};

// ---- weights ------------------------------------------------------------------------------------------------

const weightsPhase: FanoutPhase<Params, WeightsTask, WeightsResult, [CountsResult[]]> = {
  name: 'weights',
  async plan(ctx, [results]) {
    const prefix = results[0]?.prefix ?? scratchPrefix(ctx, 'select');
    const of = (role: string) => results.filter((r) => r.role === role);
    const task: WeightsTask = {
      prefix,
      seed: of('seed').map((r) => r.task),
      general: of('general').map((r) => r.task),
      seedDocuments: of('seed').reduce((n, r) => n + r.docs, 0),
    };
    return [task];
  },
  async map(ctx, task) {
    const p = ctx.params;
    if (!task.seedDocuments) throw new InputError(`select: the seed input ${p.seed} has no documents`);
    const sum = async (tasks: number[]) => {
      const total = new Float64Array(p.buckets);
      for (const i of tasks) {
        const c = await readFloat64(ctx, objects.counts(task.prefix, i));
        for (let b = 0; b < total.length; b++) total[b] += c[b];
        ctx.signal.throwIfAborted();
      }
      return total;
    };
    const weights = logRatioWeights(await sum(task.seed), await sum(task.general), p.smoothing);
    await putObject(ctx.store, objects.weights(task.prefix), float64Bytes(weights));
    // One example n-gram per seed bucket (the first in input order), to show what the weights favour.
    const examples = new Map<number, string>();
    for (const i of task.seed) {
      for (const [b, g] of (await ctx.store.getJson<[number, string][]>(objects.examples(task.prefix, i))) ?? []) if (!examples.has(b)) examples.set(b, g);
    }
    const top = [...examples].sort((a, b) => weights[b[0]] - weights[a[0]]).slice(0, 20);
    const result: WeightsResult = {
      prefix: task.prefix,
      seedDocuments: task.seedDocuments,
      topFeatures: top.map(([b, g]) => ({ ngram: g, weight: round(weights[b]) })),
    };
    return result;
  },
};

// ---- scores -------------------------------------------------------------------------------------------------

const scoresPhase: FanoutPhase<Params, ScoresTask, ScoresResult, [CountsResult[], WeightsResult[]]> = {
  name: 'scores',
  async plan(ctx, [, [{ prefix }]]) {
    const histogram = ctx.params.topK !== undefined;
    return generalShards(ctx).map((file, shard) => ({ prefix, shard, file, histogram }));
  },
  async map(ctx, task) {
    const p = ctx.params;
    const resample = p.method === 'resample';
    const weights = await readFloat64(ctx, objects.weights(task.prefix));
    const options = { buckets: p.buckets, score: p.score, keywords: p.keywords.map((k) => k.toLowerCase()), keywordBoost: p.keywordBoost };
    const hist = task.histogram ? new LevelHistogram(0, 0) : undefined;
    let scores: Float64Array = new Float64Array(1024);
    let keys: Float64Array = resample ? new Float64Array(1024) : scores;
    let n = 0;
    let min = Infinity;
    let max = -Infinity;
    for await (const d of shardDocs(ctx, task.file, 'scores')) {
      if (n === scores.length) {
        scores = grow(scores);
        keys = resample ? grow(keys) : scores;
      }
      const s = normalKey(scoreText(d.text, weights, options));
      scores[n] = s;
      if (resample) keys[n] = normalKey(s + gumbel(p.sampleSeed, d.id));
      hist?.add(keys[n]);
      if (s < min) min = s;
      if (s > max) max = s;
      n++;
    }
    let stored: Float64Array = scores.subarray(0, n);
    if (resample) {
      stored = new Float64Array(2 * n);
      stored.set(scores.subarray(0, n));
      stored.set(keys.subarray(0, n), n);
    }
    await putObject(ctx.store, objects.keys(task.prefix, task.shard), float64Bytes(stored));
    if (hist?.matched) await putObject(ctx.store, objects.histogram(task.prefix, 0, task.shard), hist.encode());
    return { shard: task.shard, docs: n, min: n ? min : null, max: n ? max : null };
  },
};

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/** A shard's keys, read back from its scores object. */
async function shardKeys(ctx: StageContext<Params>, prefix: string, shard: number): Promise<{ scores: Float64Array; keys: Float64Array }> {
  const all = await readFloat64(ctx, objects.keys(prefix, shard));
  if (ctx.params.method !== 'resample') return { scores: all, keys: all };
  const n = all.length / 2;
  return { scores: all.subarray(0, n), keys: all.subarray(n) };
}

// ---- the cut: radix select over histograms ------------------------------------------------------------------

/** The results of counts, weights and scores (and of any phases after them): what every later phase reads. */
type Scored = [CountsResult[], WeightsResult[], ScoresResult[], ...unknown[][]];
/** The results before each pass of the cut, and before apply (after cut-3). */
type AfterScores = [CountsResult[], WeightsResult[], ScoresResult[]];
type AfterCut0 = [...AfterScores, CutStep[]];
type AfterRefine1 = [...AfterCut0, RefineResult[]];
type AfterCut1 = [...AfterRefine1, CutStep[]];
type AfterRefine2 = [...AfterCut1, RefineResult[]];
type AfterCut2 = [...AfterRefine2, CutStep[]];
type AfterRefine3 = [...AfterCut2, RefineResult[]];
type AfterCut3 = [...AfterRefine3, CutStep[]];

/** What a pass of the cut (refine-L, cut-L) reads from the phases before it. */
interface Before {
  prefix: string;
  scores: ScoresResult[];
  /** The step of cut-(L − 1), where L > 0 and it ran. */
  step?: CutStep;
  /** A cut's refine pass at its level (L > 0). */
  refined?: RefineResult[];
}

/** `steps`: the results of cut-(L − 1) (one step, or none where it planned no task); `refined`: refine-L's. */
function before([, [{ prefix }], scores]: Scored, steps?: CutStep[], refined?: RefineResult[]): Before {
  return { prefix, scores, step: steps?.[0], refined };
}

const documentsOf = (scores: ScoresResult[]) => scores.reduce((n, s) => n + s.docs, 0);

/** What level `level` of the select counts, if it runs at all. */
function pendingAt(params: Params, { scores, step }: Before, level: number): Pending | undefined {
  if (level === 0) {
    const k = params.topK;
    return k !== undefined && k < documentsOf(scores) ? { level: 0, prefix: 0, need: k } : undefined;
  }
  return step && 'next' in step ? step.next : undefined;
}

/** The cut that the select resolved (`cuts`: the results of cut-0 … cut-3), or keep-all where no top-k cut was needed. */
function finalCut(params: Params, scores: ScoresResult[], cuts: CutStep[][] & { length: typeof LEVELS }): Cut {
  for (const [step] of cuts) if (step && 'cut' in step) return step.cut;
  if (pendingAt(params, { prefix: '', scores }, 0)) throw new Error('select: the top-k cut was not resolved');
  return KEEP_ALL;
}

function refinePhase<Prev extends Scored>(level: number, read: (previous: Prev) => Before): FanoutPhase<Params, RefineTask, RefineResult, Prev> {
  return {
    name: `refine-${level}`,
    async plan(ctx, previous) {
      const earlier = read(previous);
      const pending = pendingAt(ctx.params, earlier, level);
      if (!pending) return [];
      return earlier.scores.filter((s) => s.docs).map((s) => ({ prefix: earlier.prefix, shard: s.shard, pending }));
    },
    async map(ctx, task) {
      const { keys } = await shardKeys(ctx, task.prefix, task.shard);
      const hist = new LevelHistogram(task.pending.level, task.pending.prefix);
      for (let i = 0; i < keys.length; i++) hist.add(keys[i]);
      if (hist.matched) await putObject(ctx.store, objects.histogram(task.prefix, task.pending.level, task.shard), hist.encode());
      return { shard: task.shard, level: task.pending.level, matched: hist.matched };
    },
  };
}

function cutPhase<Prev extends Scored>(level: number, read: (previous: Prev) => Before): FanoutPhase<Params, CutTask, CutStep, Prev> {
  return {
    name: `cut-${level}`,
    async plan(ctx, previous) {
      const earlier = read(previous);
      const pending = pendingAt(ctx.params, earlier, level);
      if (!pending) return [];
      const shards = level === 0 ? earlier.scores.filter((s) => s.docs).map((s) => s.shard) : (earlier.refined ?? []).filter((r) => r.matched).map((r) => r.shard);
      return [{ prefix: earlier.prefix, pending, shards }];
    },
    async map(ctx, task) {
      const { level } = task.pending;
      return resolveLevel((shard) => readObject(ctx.store, objects.histogram(task.prefix, level, shard)), task.shards, task.pending, ctx.signal);
    },
  };
}

// ---- apply --------------------------------------------------------------------------------------------------

/** The histogram's frame: from the lowest to the highest score of the whole general corpus. */
function frameOf(params: Params, scores: ScoresResult[]): HistogramFrame {
  const scored = scores.filter((s) => s.docs);
  if (!scored.length) return histogramFrame(0, 0, params.histogramBins);
  const lo = scored.reduce((m, s) => Math.min(m, s.min!), Infinity);
  const hi = scored.reduce((m, s) => Math.max(m, s.max!), -Infinity);
  return histogramFrame(lo, hi, params.histogramBins);
}

/** The cut and the histogram frame, worked out once per plan (`extra` is asked once per shard). */
const decidedBy = new WeakMap<AfterCut3, { cut: Cut; frame: HistogramFrame }>();

const applyPhase = shardPhase<Params, ApplyStats, ApplyExtra, DocumentRecordT, AfterCut3>({
  name: 'apply',
  reads: 'select',
  shardSize: (p) => p.shardSize,
  inputs: (ctx) => pickInputs(ctx.inputs, ctx.params).general,
  extra(ctx, previous, shard) {
    const [, [{ prefix }], scores, cut0, , cut1, , cut2, , cut3] = previous;
    let decided = decidedBy.get(previous);
    if (!decided) decidedBy.set(previous, (decided = { cut: finalCut(ctx.params, scores, [cut0, cut1, cut2, cut3]), frame: frameOf(ctx.params, scores) }));
    const { cut, frame } = decided;
    return { prefix, above: cut.above, ties: tiesOf(cut, shard.index), frame };
  },
  async map(ctx, docs, out, task: ShardTask<ApplyExtra>) {
    const { prefix, above, ties, frame } = task.extra;
    const { threshold } = ctx.params;
    const { scores, keys } = await shardKeys(ctx, prefix, task.index);
    const cut = new ShardCut(above, ties === 'all' ? Infinity : ties);
    const stats: ApplyStats = { input: 0, kept: 0, minKept: null, counts: new Array<number>(frame.bins).fill(0), keptCounts: new Array<number>(frame.bins).fill(0) };
    for await (const d of docs) {
      const i = stats.input++;
      if (i >= scores.length) break;
      const s = scores[i];
      const bin = binOf(frame, s);
      stats.counts[bin]++;
      if (cut.keeps(keys[i]) && (threshold === undefined || s >= threshold)) {
        stats.kept++;
        stats.keptCounts[bin]++;
        stats.minKept = stats.minKept === null ? s : Math.min(stats.minKept, s);
        await out.write({ ...d, metadata: { ...d.metadata, selectScore: round(s) } });
      }
    }
    if (stats.input !== scores.length) throw new Error(`select: ${task.file.name} has ${stats.input}+ documents, but ${scores.length} were scored`);
    return stats;
  },
});

// ---- the stage ----------------------------------------------------------------------------------------------

type Phases = [
  [CountsTask, CountsResult],
  [WeightsTask, WeightsResult],
  [ScoresTask, ScoresResult],
  [CutTask, CutStep],
  [RefineTask, RefineResult],
  [CutTask, CutStep],
  [RefineTask, RefineResult],
  [CutTask, CutStep],
  [RefineTask, RefineResult],
  [CutTask, CutStep],
  [ShardTask<ApplyExtra>, ShardResult<ApplyStats>],
];

/** Passes of the cut that are not needed plan no tasks, so the list is the same whatever the params. */
export const selectFanout: TypedFanout<Params, Phases> = {
  phases: [
    countsPhase,
    weightsPhase,
    scoresPhase,
    cutPhase<AfterScores>(0, (r) => before(r)),
    refinePhase<AfterCut0>(1, (r) => before(r, r[3])),
    cutPhase<AfterRefine1>(1, (r) => before(r, r[3], r[4])),
    refinePhase<AfterCut1>(2, (r) => before(r, r[5])),
    cutPhase<AfterRefine2>(2, (r) => before(r, r[5], r[6])),
    refinePhase<AfterCut2>(3, (r) => before(r, r[7])),
    cutPhase<AfterRefine3>(3, (r) => before(r, r[7], r[8])),
    applyPhase,
  ],
  async reduce(ctx, [, [weights], scores, , , , , , , , applied]) {
    const p = ctx.params;
    const { files, stats } = gatherShards<ApplyStats>(applied);
    const frame = frameOf(p, scores);
    const input = stats.reduce((n, s) => n + s.input, 0);
    const kept = stats.reduce((n, s) => n + s.kept, 0);
    const minKept = stats.reduce((m, s) => (s.minKept === null ? m : Math.min(m, s.minKept)), Infinity);
    const sum = (f: (s: ApplyStats) => number[]) => Array.from({ length: frame.bins }, (_, b) => stats.reduce((n, s) => n + f(s)[b], 0));
    const histogram = input ? { edges: histogramEdges(frame), counts: sum((s) => s.counts), kept: sum((s) => s.keptCounts) } : { edges: [], counts: [], kept: [] };
    await ctx.store.removePrefix(weights.prefix);
    ctx.log(`select: ${input} general documents scored against ${weights.seedDocuments} seed documents, ${kept} kept (${p.method})`);
    return {
      files,
      schema: DOCUMENT_SCHEMA,
      metrics: {
        input,
        seedDocuments: weights.seedDocuments,
        kept,
        minKeptScore: kept ? round(minKept) : null,
        histogram,
        topFeatures: weights.topFeatures,
        method: p.method,
      },
    };
  },
};

export const selectStage: StageImpl<Params> = {
  fanout: selectFanout,
  run: (ctx) => runPhasesInline(ctx, selectFanout),
};
