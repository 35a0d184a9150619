/**
 * Resolves the near-dedupe options into concrete numbers: the LSH split (bands × rows) and the similarity
 * threshold used to confirm candidates. The split either comes from the spec, defaults to FineWeb's 14 × 8
 * (≈ 0.75 similarity), or is derived from a threshold the way datasketch's `_optimal_param` does it (with
 * false negatives weighted 0.8 when candidates are verified: then 0.75 gives 14 × 8 too).
 */
import { NearDedupeParams } from '../spec';
import type { StageParams } from '../../../../schemas/stages';

export type NearOptions = Required<Omit<NonNullable<StageParams<'dedupe'>['near']>, 'bands' | 'rows' | 'threshold'>> & {
  threshold: number;
  bands: number;
  rows: number;
};

export const DEFAULT_THRESHOLD = 0.75;
const DEFAULT_SPLIT = { bands: 14, rows: 8 };

export function resolveNear(params: StageParams<'dedupe'>): NearOptions {
  const near = params.near ?? NearDedupeParams.parse({});
  let split = near.bands !== undefined && near.rows !== undefined ? { bands: near.bands, rows: near.rows } : undefined;
  // Verified candidates make LSH false positives cost only time, so the derived split then favours recall.
  const fnWeight = near.verify ? 0.8 : 0.5;
  if (!split) split = near.threshold === undefined && near.numPerm >= 112 ? DEFAULT_SPLIT : optimalSplit(near.threshold ?? DEFAULT_THRESHOLD, near.numPerm, fnWeight);
  return { ...near, ...split, threshold: near.threshold ?? DEFAULT_THRESHOLD };
}

/** P(two documents of similarity s share at least one band) for b bands of r rows. */
export function collisionProbability(s: number, bands: number, rows: number): number {
  return 1 - (1 - s ** rows) ** bands;
}

/** Simpson's rule; the integrands are smooth polynomials, 128 intervals are plenty. */
function integrate(f: (x: number) => number, lo: number, hi: number, n = 128): number {
  const h = (hi - lo) / n;
  let sum = f(lo) + f(hi);
  for (let i = 1; i < n; i++) sum += f(lo + i * h) * (i % 2 ? 4 : 2);
  return (sum * h) / 3;
}

/**
 * The (bands, rows) with bands·rows ≤ numPerm minimizing the false-positive area below the threshold plus the
 * false-negative area above it, weighted (datasketch weighs both 0.5).
 */
export function optimalSplit(threshold: number, numPerm: number, fnWeight = 0.5): { bands: number; rows: number } {
  let best = { bands: 1, rows: 1, error: Infinity };
  for (let b = 1; b <= numPerm; b++) {
    for (let r = 1; r <= Math.floor(numPerm / b); r++) {
      const fp = integrate((s) => collisionProbability(s, b, r), 0, threshold);
      const fn = integrate((s) => 1 - collisionProbability(s, b, r), threshold, 1);
      const error = (1 - fnWeight) * fp + fnWeight * fn;
      if (error < best.error) best = { bands: b, rows: r, error };
    }
  }
  return { bands: best.bands, rows: best.rows };
}
