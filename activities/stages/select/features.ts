/**
 * DSIR's feature space (Xie et al. 2023, "Data Selection for Language Models via Importance Resampling"):
 * lowercased word unigrams and bigrams hashed into a fixed number of buckets. Words are those of the filters
 * (tokens.ts), so Chinese contributes character unigrams and bigrams, which cover most two-character words.
 */
import { createHash } from 'node:crypto';
import { tokenize, wordsOf } from '../../words';

/** 32-bit FNV-1a over UTF-16 code units: fast, stable across runs and machines. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The words a document's features are made of. */
export function featureWords(text: string): string[] {
  return wordsOf(tokenize(text.toLowerCase()));
}

/** Calls `f` with the bucket of every unigram and bigram of `words` (and the n-gram, when `named`). */
export function forEachFeature(words: readonly string[], buckets: number, f: (bucket: number, ngram?: string) => void, named = false): void {
  for (let i = 0; i < words.length; i++) {
    f(fnv1a(words[i]) % buckets, named ? words[i] : undefined);
    if (i + 1 < words.length) {
      const bigram = `${words[i]} ${words[i + 1]}`;
      f(fnv1a(bigram) % buckets, named ? bigram : undefined);
    }
  }
}

/** log p_seed(b) − log p_general(b) per bucket, each distribution add-`smoothing` smoothed. */
export function logRatioWeights(seed: Float64Array, general: Float64Array, smoothing: number): Float64Array {
  const total = (c: Float64Array) => c.reduce((a, b) => a + b, 0) + smoothing * c.length;
  const [ts, tg] = [total(seed), total(general)];
  const w = new Float64Array(seed.length);
  for (let b = 0; b < w.length; b++) w[b] = Math.log((seed[b] + smoothing) / ts) - Math.log((general[b] + smoothing) / tg);
  return w;
}

/** What a document's score depends on besides its text. */
export interface ScoreOptions {
  buckets: number;
  score: 'mean' | 'sum';
  /** Lowercased. */
  keywords: readonly string[];
  keywordBoost: number;
}

/**
 * A document's score: its features' log-ratio weights (mean or sum: the sum is DSIR's log importance weight),
 * plus `keywordBoost` × log(1 + lexicon hits).
 */
export function scoreText(text: string, weights: Float64Array, o: ScoreOptions): number {
  let sum = 0;
  let features = 0;
  forEachFeature(featureWords(text), o.buckets, (b) => {
    sum += weights[b];
    features++;
  });
  let s = o.score === 'sum' ? sum : features ? sum / features : 0;
  if (o.keywords.length && o.keywordBoost) {
    const lower = text.toLowerCase();
    let hits = 0;
    for (const k of o.keywords) for (let at = lower.indexOf(k); at !== -1; at = lower.indexOf(k, at + k.length)) hits++;
    s += o.keywordBoost * Math.log1p(hits);
  }
  return s;
}

/**
 * A standard Gumbel draw that depends only on the seed and the document id: u from the first 48 bits of
 * sha256(seed, id), strictly inside (0, 1), then −log(−log u). Adding it to log weights and keeping the k largest
 * samples k documents without replacement with probability ∝ weight (the Gumbel-top-k trick).
 */
export function gumbel(seed: number, id: string): number {
  const h = createHash('sha256').update(`${seed}\u0000${id}`).digest();
  const u = (h.readUIntBE(0, 6) + 0.5) / 2 ** 48;
  return -Math.log(-Math.log(u));
}

export interface Histogram {
  /** bins + 1 edges, from the lowest to the highest score. */
  edges: number[];
  counts: number[];
  /** How many of each bin's documents were kept. */
  kept: number[];
}

/** Where the histogram's bins lie: `bins` equal widths from the lowest to the highest score (width 1 when equal). */
export interface HistogramFrame {
  lo: number;
  width: number;
  bins: number;
}

export function histogramFrame(lo: number, hi: number, bins: number): HistogramFrame {
  return { lo, width: hi > lo ? (hi - lo) / bins : 1, bins };
}

/** A score's bin; the highest score falls in the last one. */
export function binOf(f: HistogramFrame, score: number): number {
  return Math.min(f.bins - 1, Math.floor((score - f.lo) / f.width));
}

export function histogramEdges(f: HistogramFrame): number[] {
  return Array.from({ length: f.bins + 1 }, (_, i) => round(f.lo + i * f.width));
}

export function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
