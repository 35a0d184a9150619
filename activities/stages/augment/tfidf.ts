/**
 * UDA's TF-IDF word replacement (Xie et al. 2019, google-research/uda `word_level_augment.py`):
 *  - corpus statistics: idf(w) = log(N / df(w)); a word's corpus TF-IDF is Σ_docs tf(w, d) / |d| · idf(w);
 *  - in a document, a word's replacement weight is max_d − tfidf_d(w) with tfidf_d(w) = tf(w, d) / |d| · idf(w):
 *    the document's keywords (the highest TF-IDF) get weight 0 and are kept, filler words are replaced most;
 *    the weights are scaled so the expected number of replaced words is ratio · |d|;
 *  - replacement words are drawn from the vocabulary with probability ∝ max − corpus TF-IDF, i.e. toward words
 *    that carry little information, so a replacement rarely plants a misleading keyword.
 * Term sums are kept in fixed point (integers), so the statistics do not depend on the order documents came in.
 */

const FIXED = 1e9;

export class CorpusStats {
  private readonly df = new Map<string, number>();
  private readonly tf = new Map<string, number>();
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

  finish(): TfidfModel {
    return new TfidfModel(this.docs, this.df, this.tf);
  }
}

export class TfidfModel {
  readonly vocab: string[];
  /** Cumulative sampling weights over `vocab`. */
  private readonly cdf: Float64Array;

  constructor(
    readonly docs: number,
    private readonly df: ReadonlyMap<string, number>,
    tf: ReadonlyMap<string, number>,
  ) {
    const scored = [...df.keys()].map((w) => ({ w, s: ((tf.get(w) ?? 0) / FIXED) * this.idf(w) }));
    scored.sort((a, b) => b.s - a.s || (a.w < b.w ? -1 : a.w > b.w ? 1 : 0));
    this.vocab = scored.map((x) => x.w);
    const max = scored.length ? scored[0].s : 0;
    this.cdf = new Float64Array(scored.length);
    let acc = 0;
    for (let i = 0; i < scored.length; i++) {
      // A vocabulary of equally informative words (or of one word) still samples uniformly.
      acc += max - scored[i].s || 1e-12;
      this.cdf[i] = acc;
    }
  }

  /** Words never seen in the corpus count as the rarest. */
  idf(key: string): number {
    return Math.log(Math.max(1, this.docs) / (this.df.get(key) ?? 1));
  }

  /** A replacement word, drawn toward low-information words. */
  sample(random: () => number): string {
    const x = random() * this.cdf[this.cdf.length - 1];
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return this.vocab[lo];
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
