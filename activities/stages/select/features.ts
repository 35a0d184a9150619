/**
 * DSIR's feature space (Xie et al. 2023, "Data Selection for Language Models via Importance Resampling"):
 * lowercased word unigrams and bigrams hashed into a fixed number of buckets. Words are those of the filters
 * (tokens.ts), so Chinese contributes character unigrams and bigrams, which cover most two-character words.
 */
import { tokenize, wordsOf } from '../filter/tokens';

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

export interface Histogram {
  /** bins + 1 edges, from the lowest to the highest score. */
  edges: number[];
  counts: number[];
  /** How many of each bin's documents were kept. */
  kept: number[];
}

export function histogram(scores: ArrayLike<number>, keep: ArrayLike<number>, bins: number): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < scores.length; i++) [lo, hi] = [Math.min(lo, scores[i]), Math.max(hi, scores[i])];
  if (!scores.length) return { edges: [], counts: [], kept: [] };
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  const kept = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.floor((scores[i] - lo) / width));
    counts[b]++;
    if (keep[i]) kept[b]++;
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => round(lo + i * width));
  return { edges, counts, kept };
}

export function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
