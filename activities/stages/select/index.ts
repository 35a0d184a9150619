/**
 * The `select` stage (domain data mining, DSIR-style): three streaming passes over the general corpus.
 * 1. bucket counts of hashed unigrams+bigrams, for the seed corpus and for the general corpus;
 * 2. each general document's score: its features' log-ratio weights (mean or sum), plus `keywordBoost` ×
 *    log(1 + lexicon hits); scores kept in a typed array (8 bytes per document);
 * 3. documents in the top k and/or above the threshold written in input order, `metadata.selectScore` set.
 */
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA } from '../../../schemas/manifest';
import { ShardWriter, readDocuments } from '../../documents';
import { ConfigError, InputError } from '../../errors';
import type { StageContext, StageImpl, StageInputArtifact } from '../types';
import { featureWords, forEachFeature, histogram, logRatioWeights, round } from './features';

type Params = StageParams<'select'>;

export const selectStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const { params: p } = ctx;
    const { seed, general } = pickInputs(ctx.inputs, p);
    const docsOf = async function* (inputs: StageInputArtifact[]) {
      for (const { manifest } of inputs) yield* readDocuments(ctx.store, manifest);
    };

    // 1. Bucket distributions; one example n-gram per seed bucket, to show what the weights favour.
    const seedCounts = new Float64Array(p.buckets);
    const generalCounts = new Float64Array(p.buckets);
    const examples = new Map<number, string>();
    let seedDocs = 0;
    for await (const d of docsOf(seed)) {
      seedDocs++;
      forEachFeature(featureWords(d.text), p.buckets, (b, g) => {
        seedCounts[b]++;
        if (!examples.has(b)) examples.set(b, g!);
      }, true);
    }
    if (!seedDocs) throw new InputError(`select: the seed input ${p.seed} has no documents`);
    for await (const d of docsOf(general)) forEachFeature(featureWords(d.text), p.buckets, (b) => generalCounts[b]++);
    ctx.signal.throwIfAborted();
    const weights = logRatioWeights(seedCounts, generalCounts, p.smoothing);

    // 2. Scores.
    const keywords = p.keywords.map((k) => k.toLowerCase());
    let scores: Float64Array = new Float64Array(1024);
    let n = 0;
    for await (const d of docsOf(general)) {
      if (n === scores.length) scores = grow(scores);
      scores[n++] = score(d.text, weights, keywords, p);
      if (n % 10_000 === 0) ctx.progress({ message: `scored ${n} documents` });
    }
    scores = scores.subarray(0, n);
    ctx.signal.throwIfAborted();

    // 3. Which documents stay: the k best (ties by input order), all of them at or above the threshold.
    const keep = new Uint8Array(n);
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
    const limit = Math.min(n, p.topK ?? n);
    for (let r = 0; r < limit; r++) if (p.threshold === undefined || scores[order[r]] >= p.threshold) keep[order[r]] = 1;
    const writer = new ShardWriter(ctx.store, ctx.workDir, p.shardSize);
    let i = 0;
    for await (const d of docsOf(general)) {
      const s = scores[i];
      if (keep[i++]) await writer.write({ ...d, metadata: { ...d.metadata, selectScore: round(s) } });
    }
    const files = await writer.close();

    const kept = writer.total;
    const top = [...examples].sort((a, b) => weights[b[0]] - weights[a[0]]).slice(0, 20);
    ctx.log(`select: ${n} general documents scored against ${seedDocs} seed documents, ${kept} kept`);
    return {
      files,
      schema: DOCUMENT_SCHEMA,
      metrics: {
        input: n,
        seedDocuments: seedDocs,
        kept,
        minKeptScore: kept ? round(scores.reduce((m, x, j) => (keep[j] ? Math.min(m, x) : m), Infinity)) : null,
        histogram: histogram(scores, keep, p.histogramBins),
        topFeatures: top.map(([b, g]) => ({ ngram: g, weight: round(weights[b]) })),
      },
    };
  },
};

function score(text: string, weights: Float64Array, keywords: string[], p: Params): number {
  let sum = 0;
  let features = 0;
  forEachFeature(featureWords(text), p.buckets, (b) => {
    sum += weights[b];
    features++;
  });
  let s = p.score === 'sum' ? sum : features ? sum / features : 0;
  if (keywords.length && p.keywordBoost) {
    const lower = text.toLowerCase();
    let hits = 0;
    for (const k of keywords) for (let at = lower.indexOf(k); at !== -1; at = lower.indexOf(k, at + k.length)) hits++;
    s += p.keywordBoost * Math.log1p(hits);
  }
  return s;
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/** Seed and general inputs by the needs-stages the params name. */
function pickInputs(inputs: StageInputArtifact[], p: Params): { seed: StageInputArtifact[]; general: StageInputArtifact[] } {
  const byName = new Map(inputs.map((i) => [i.stage, i]));
  const need = (name: string) => {
    const i = byName.get(name);
    if (!i) throw new ConfigError(`select: "${name}" is not among the stage's needs (${[...byName.keys()].join(', ') || 'none'})`);
    if (i.manifest.kind !== 'documents') throw new InputError(`select reads documents, but input ${name} is ${i.manifest.kind}`);
    return i;
  };
  const general = (p.general ?? inputs.map((i) => i.stage).filter((s) => s !== p.seed)).map(need);
  if (!general.length) throw new ConfigError('select: no general corpus: add a need besides the seed stage');
  if (general.some((g) => g.stage === p.seed)) throw new ConfigError(`select: "${p.seed}" cannot be both seed and general`);
  return { seed: [need(p.seed)], general };
}
