/**
 * UDA's TF-IDF word replacement (Xie et al. 2019, google-research/uda `word_level_augment.py`):
 *  - corpus statistics: idf(w) = log(N / df(w)); a word's corpus TF-IDF is Σ_docs tf(w, d) / |d| · idf(w);
 *  - in a document, a word's replacement weight is max_d − tfidf_d(w) with tfidf_d(w) = tf(w, d) / |d| · idf(w):
 *    the document's keywords (the highest TF-IDF) get weight 0 and are kept, filler words are replaced most;
 *    the weights are scaled so the expected number of replaced words is ratio · |d|;
 *  - replacement words are drawn from the vocabulary with probability ∝ max − corpus TF-IDF, i.e. toward words
 *    that carry little information, so a replacement rarely plants a misleading keyword.
 * Term sums are kept in fixed point (integers), so the statistics do not depend on the order documents came in,
 * nor on how they were sharded: the fan-out (./stats) adds up per-shard sums exactly and ranks the vocabulary in
 * the same order as `CorpusStats.finish` does in memory.
 */

export const FIXED = 1e9;

/**
 * One language's document frequencies and fixed-point TF sums over some documents (one shard, or all of them).
 * Each document adds integers, so the sums are exact and do not depend on the order documents came in, as long
 * as they stay below 2^53 (Number.MAX_SAFE_INTEGER): a shard would need millions of documents to get there.
 */
export class CorpusStats {
  readonly df = new Map<string, number>();
  readonly tf = new Map<string, number>();
  docs = 0;

  add(keys: readonly string[]): void {
    if (!keys.length) return;
    this.docs++;
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    for (const [k, c] of counts) {
      this.df.set(k, (this.df.get(k) ?? 0) + 1);
      this.tf.set(k, (this.tf.get(k) ?? 0) + Math.round((FIXED * c) / keys.length));
    }
  }

  /** The model of these documents alone, in memory (the fan-out builds the same one from partitions). */
  finish(): TfidfModel {
    const scored = [...this.df.keys()].map((w) => ({ w, s: corpusTfidf(this.tf.get(w) ?? 0, this.df.get(w)!, this.docs) }));
    scored.sort((a, b) => rankOrder(a.s, a.w, b.s, b.w));
    const cdf = new Float64Array(scored.length);
    const weights = cumulativeWeights(scored.length ? scored[0].s : 0);
    for (let i = 0; i < scored.length; i++) cdf[i] = weights(scored[i].s);
    const words = scored.map((x) => x.w);
    return new TfidfModel(this.docs, { size: words.length, word: (i) => words[i], cdf, df: (k) => this.df.get(k) });
  }
}

/** A word's corpus TF-IDF: its summed TF (fixed point) times its IDF over `docs` documents. */
export function corpusTfidf(tf: number, df: number, docs: number): number {
  return (tf / FIXED) * Math.log(Math.max(1, docs) / df);
}

/** The vocabulary's order: highest corpus TF-IDF first, ties by word (JavaScript string order). */
export function rankOrder(s1: number, w1: string, s2: number, w2: string): number {
  return s2 - s1 || (w1 < w2 ? -1 : w1 > w2 ? 1 : 0);
}

/**
 * The cumulative sampling weights of a vocabulary in rank order whose first (highest) score is `max`: each word
 * weighs max − its score; a vocabulary of equally informative words (or of one word) still samples uniformly.
 * Call it once per word, in order.
 */
export function cumulativeWeights(max: number): (score: number) => number {
  let acc = 0;
  return (score) => (acc += max - score || 1e-12);
}

/** A vocabulary in rank order: the i-th word, the cumulative sampling weights, a word's document frequency. */
export interface RankedVocabulary {
  size: number;
  word(i: number): string;
  cdf: Float64Array;
  df(key: string): number | undefined;
}

export class TfidfModel {
  constructor(
    readonly docs: number,
    private readonly vocab: RankedVocabulary,
  ) {}

  /** Words never seen in the corpus count as the rarest. */
  idf(key: string): number {
    return Math.log(Math.max(1, this.docs) / (this.vocab.df(key) ?? 1));
  }

  /** A replacement word, drawn toward low-information words. */
  sample(random: () => number): string {
    const cdf = this.vocab.cdf;
    const x = random() * cdf[cdf.length - 1];
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.vocab.word(lo);
  }

  /**
   * Per word of one document, the probability of replacing it: ∝ max − tfidf_d(w), summing to ratio · (words
   * that may be replaced). Protected words get 0. Where a share would exceed 1, it is capped and the rest is
   * spread over the others, so the expected fraction stays `ratio` (UDA clips, which replaces fewer).
   */
  replaceProbabilities(keys: readonly string[], ratio: number, protectedWords: readonly boolean[]): Float64Array {
    const n = keys.length;
    const counts = new Map<string, number>();
    for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
    const score = keys.map((k) => ((counts.get(k) ?? 0) / n) * this.idf(k));
    const eligible = keys.map((_, i) => !protectedWords[i]);
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (eligible[i]) max = Math.max(max, score[i]);
    const weight: number[] = score.map((s, i) => (eligible[i] ? max - s : 0));
    const count = eligible.filter(Boolean).length;
    if (!weight.some((w) => w > 0)) for (let i = 0; i < n; i++) weight[i] = eligible[i] ? 1 : 0; // all equally informative
    return waterFill(weight, ratio * count);
  }
}

/** p_i = min(1, c · w_i) with c chosen so that Σ p_i = target (or every positive weight at 1 if it cannot). */
export function waterFill(weight: readonly number[], target: number): Float64Array {
  const p = new Float64Array(weight.length);
  const capped = new Uint8Array(weight.length);
  for (;;) {
    let free = 0;
    let fixed = 0;
    for (let i = 0; i < weight.length; i++) {
      if (capped[i]) fixed++;
      else free += weight[i];
    }
    if (free <= 0) break;
    const c = (target - fixed) / free;
    let changed = false;
    for (let i = 0; i < weight.length; i++) {
      if (capped[i]) continue;
      p[i] = c * weight[i];
      if (p[i] >= 1) {
        p[i] = 1;
        capped[i] = 1;
        changed = true;
      }
    }
    if (!changed) break;
  }
  return p;
}
