/**
 * Paired comparison of two arms (e.g. base and adapted model) fine-tuned with the same seeds and scored on the
 * same test items: mean ± std over seeds per arm, and the difference of the means with a percentile interval
 * from a paired bootstrap over seeds × test items. Each resample draws seeds and test items with replacement,
 * once for both arms (that is the pairing), and recomputes the measure (macro-F1 and accuracy from the
 * predictions, entity F1 from per-sentence counts) on the drawn items of every drawn seed. Seed noise
 * (initialisation, batch order) and test-set noise both widen the interval; a difference that survives both is
 * one a promotion can rely on.
 *
 * Deterministic: the draws come from a seeded PRNG (activities/rng). Used by the evaluate stage (its
 * `comparison`) and by bench:adapt (every ablation arm against the base).
 */
import { rng } from './rng';

/** The trainer's per-item test outcomes of one arm, one entry per seed, in the order of `seeds`. */
export type ArmOutcomes =
  | { kind: 'classification'; seeds: number[]; gold: number[]; predictions: number[][] }
  /** ner: per test sentence [true positive entities, predicted entities, gold entities] */
  | { kind: 'ner'; seeds: number[]; entityCounts: [number, number, number][][] };

export type Measure = 'macroF1' | 'accuracy' | 'entityF1';

export interface ArmSummary {
  mean: number;
  /** sample standard deviation over seeds (n − 1); 0 with one seed */
  std: number;
  /** the measure per seed, on the whole test set */
  perSeed: number[];
}

export interface PairedDifference {
  measure: Measure;
  /** mean(a) − mean(b) on the whole test set: positive when arm a is better */
  difference: number;
  lower: number;
  upper: number;
  confidence: number;
  resamples: number;
  seeds: number;
  items: number;
  method: 'paired bootstrap over seeds × test items (percentile)';
}

export interface BootstrapOptions {
  measure: Measure;
  confidence?: number;
  resamples?: number;
  /** seed of the resampling PRNG (not a fine-tuning seed) */
  seed?: number;
}

export const DEFAULT_RESAMPLES = 2000;
export const DEFAULT_CONFIDENCE = 0.95;

/** The measure of seed `s` of an arm on test items `items` (indices, repeats allowed). */
type Scorer = (s: number, items: ArrayLike<number>) => number;

function f1(tp: number, nPred: number, nGold: number): number {
  return tp > 0 ? (2 * tp) / (nPred + nGold) : 0;
}

/**
 * Macro-F1 over the classes present in the gold labels or the predictions of the drawn items (scikit-learn's
 * label set, as trainer/scores.py computes it), or accuracy.
 */
function classificationScorer(o: Extract<ArmOutcomes, { kind: 'classification' }>, measure: 'macroF1' | 'accuracy'): Scorer {
  const k = Math.max(0, ...o.gold, ...o.predictions.flat()) + 1;
  const tp = new Float64Array(k);
  const nPred = new Float64Array(k);
  const nGold = new Float64Array(k);
  return (s, items) => {
    const pred = o.predictions[s];
    if (measure === 'accuracy') {
      let right = 0;
      for (let i = 0; i < items.length; i++) if (pred[items[i]] === o.gold[items[i]]) right++;
      return items.length ? right / items.length : 0;
    }
    tp.fill(0);
    nPred.fill(0);
    nGold.fill(0);
    for (let i = 0; i < items.length; i++) {
      const [g, p] = [o.gold[items[i]], pred[items[i]]];
      nGold[g]++;
      nPred[p]++;
      if (g === p) tp[g]++;
    }
    let sum = 0;
    let present = 0;
    for (let c = 0; c < k; c++) {
      if (!nPred[c] && !nGold[c]) continue;
      sum += f1(tp[c], nPred[c], nGold[c]);
      present++;
    }
    return present ? sum / present : 0;
  };
}

/** Micro entity-level F1 from the drawn sentences' counts (seqeval's strict score, as trainer/scores.py). */
function nerScorer(o: Extract<ArmOutcomes, { kind: 'ner' }>): Scorer {
  return (s, items) => {
    const counts = o.entityCounts[s];
    let [tp, nPred, nGold] = [0, 0, 0];
    for (let i = 0; i < items.length; i++) {
      const c = counts[items[i]];
      tp += c[0];
      nPred += c[1];
      nGold += c[2];
    }
    return f1(tp, nPred, nGold);
  };
}

function scorer(o: ArmOutcomes, measure: Measure): Scorer {
  if (o.kind === 'ner') {
    if (measure !== 'entityF1') throw new Error(`paired bootstrap: ner outcomes score entityF1, not ${measure}`);
    return nerScorer(o);
  }
  if (measure === 'entityF1') throw new Error('paired bootstrap: classification outcomes have no entityF1');
  return classificationScorer(o, measure);
}

function itemCount(o: ArmOutcomes): number {
  return o.kind === 'ner' ? (o.entityCounts[0]?.length ?? 0) : o.gold.length;
}

function runs(o: ArmOutcomes): unknown[][] {
  return o.kind === 'ner' ? o.entityCounts : o.predictions;
}

function check(o: ArmOutcomes, name: string): void {
  const r = runs(o);
  if (!o.seeds.length) throw new Error(`paired bootstrap: arm ${name} has no seeds`);
  if (r.length !== o.seeds.length) throw new Error(`paired bootstrap: arm ${name} has ${r.length} runs for ${o.seeds.length} seeds`);
  const n = itemCount(o);
  if (!n) throw new Error(`paired bootstrap: arm ${name} has no test items`);
  r.forEach((x, i) => {
    if (x.length !== n) throw new Error(`paired bootstrap: arm ${name} seed ${o.seeds[i]} has ${x.length} test items, expected ${n}`);
  });
}

export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  if (xs.length < 2) return { mean, std: 0 };
  return { mean, std: Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) };
}

/** One arm's measure per seed on the whole test set, and its mean ± std over seeds. */
export function summarizeArm(o: ArmOutcomes, measure: Measure): ArmSummary {
  check(o, 'a');
  const score = scorer(o, measure);
  const all = Array.from({ length: itemCount(o) }, (_, i) => i);
  const perSeed = o.seeds.map((_, s) => score(s, all));
  return { ...meanStd(perSeed), perSeed };
}

/** The q-quantile of sorted values, linear between order statistics (numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]) - sorted[lo]);
}

/**
 * mean(a) − mean(b) with its interval. Both arms must have the same seeds (the same fine-tuning seed is the
 * pair) and the same test items in the same order.
 */
export function pairedDifference(a: ArmOutcomes, b: ArmOutcomes, opts: BootstrapOptions): PairedDifference {
  check(a, 'a');
  check(b, 'b');
  if (a.kind !== b.kind) throw new Error(`paired bootstrap: cannot pair ${a.kind} with ${b.kind} outcomes`);
  if (a.seeds.join() !== b.seeds.join()) throw new Error(`paired bootstrap: the arms have different seeds (${a.seeds.join(', ')} vs ${b.seeds.join(', ')})`);
  const n = itemCount(a);
  if (itemCount(b) !== n) throw new Error(`paired bootstrap: the arms have ${n} and ${itemCount(b)} test items`);
  if (a.kind === 'classification' && b.kind === 'classification' && a.gold.some((g, i) => g !== b.gold[i])) {
    throw new Error('paired bootstrap: the arms were scored on different gold labels');
  }
  const confidence = opts.confidence ?? DEFAULT_CONFIDENCE;
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  if (!(confidence > 0 && confidence < 1)) throw new Error(`paired bootstrap: confidence ${confidence} is not in (0, 1)`);
  if (!(Number.isInteger(resamples) && resamples >= 1)) throw new Error(`paired bootstrap: resamples ${resamples} is not a positive integer`);

  const [sa, sb] = [scorer(a, opts.measure), scorer(b, opts.measure)];
  const S = a.seeds.length;
  const all = Array.from({ length: n }, (_, i) => i);
  let whole = 0;
  for (let s = 0; s < S; s++) whole += sa(s, all) - sb(s, all);

  const random = rng(opts.seed ?? 0);
  const items = new Uint32Array(n);
  const diffs = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) items[i] = Math.floor(random() * n);
    let sum = 0;
    for (let j = 0; j < S; j++) {
      const s = Math.floor(random() * S);
      sum += sa(s, items) - sb(s, items);
    }
    diffs[r] = sum / S;
  }
  diffs.sort((x, y) => x - y);
  const tail = (1 - confidence) / 2;
  return {
    measure: opts.measure,
    difference: whole / S,
    lower: quantile(diffs, tail),
    upper: quantile(diffs, 1 - tail),
    confidence,
    resamples,
    seeds: S,
    items: n,
    method: 'paired bootstrap over seeds × test items (percentile)',
  };
}
