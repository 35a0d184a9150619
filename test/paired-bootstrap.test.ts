/**
 * The paired bootstrap (activities/paired-bootstrap.ts): identical arms give an interval on 0, a clear gain an
 * interval above 0, small cases are checked by hand, and the measures agree with trainer/scores.py's definitions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pairedDifference, quantile, summarizeArm, type ArmOutcomes } from '../activities/paired-bootstrap';
import { rng } from '../activities/rng';

/** `seeds` runs on `n` items of `k` classes, each prediction right with probability `p`. */
function arm(gold: number[], seeds: number[], p: number, k: number, salt: number): Extract<ArmOutcomes, { kind: 'classification' }> {
  const predictions = seeds.map((s) => {
    const r = rng(s * 7919 + salt);
    return gold.map((g) => (r() < p ? g : (g + 1 + Math.floor(r() * (k - 1))) % k));
  });
  return { kind: 'classification', seeds, gold, predictions };
}

const gold = Array.from({ length: 300 }, (_, i) => i % 3);
const seeds = [1, 2, 3, 4, 5];

test('identical arms: the interval is [0, 0], centred on 0', () => {
  const a = arm(gold, seeds, 0.6, 3, 1);
  for (const measure of ['macroF1', 'accuracy'] as const) {
    const d = pairedDifference(a, a, { measure, resamples: 500 });
    assert.equal(d.difference, 0);
    assert.equal(d.lower, 0);
    assert.equal(d.upper, 0);
  }
});

test('two draws of the same quality: the interval contains 0 and is about centred on it', () => {
  const d = pairedDifference(arm(gold, seeds, 0.6, 3, 1), arm(gold, seeds, 0.6, 3, 2), { measure: 'macroF1', resamples: 1000 });
  assert.ok(d.lower < 0 && d.upper > 0, `${d.lower} .. ${d.upper}`);
  assert.ok(Math.abs(d.lower + d.upper) / 2 < (d.upper - d.lower) / 4, `centre ${(d.lower + d.upper) / 2} vs width ${d.upper - d.lower}`);
});

test('a clear gain: the interval excludes 0, and the order of the arms flips its sign', () => {
  const [good, bad] = [arm(gold, seeds, 0.8, 3, 1), arm(gold, seeds, 0.5, 3, 2)];
  const d = pairedDifference(good, bad, { measure: 'macroF1', resamples: 1000 });
  assert.ok(d.lower > 0.15 && d.lower <= d.difference && d.difference <= d.upper, JSON.stringify(d));
  const r = pairedDifference(bad, good, { measure: 'macroF1', resamples: 1000 });
  assert.ok(Math.abs(r.difference + d.difference) < 1e-12);
  assert.ok(r.upper < 0);
});

test('deterministic given the resampling seed; another seed moves the bounds only a little', () => {
  const [a, b] = [arm(gold, seeds, 0.7, 3, 1), arm(gold, seeds, 0.6, 3, 2)];
  const x = pairedDifference(a, b, { measure: 'accuracy', resamples: 400, seed: 3 });
  assert.deepEqual(pairedDifference(a, b, { measure: 'accuracy', resamples: 400, seed: 3 }), x);
  const y = pairedDifference(a, b, { measure: 'accuracy', resamples: 400, seed: 4 });
  assert.notEqual(y.lower, x.lower);
  assert.ok(Math.abs(y.lower - x.lower) < 0.02);
});

test('by hand: macro-F1 and accuracy of one seed, mean ± std over two', () => {
  // class 0: tp 1, predicted 1, gold 2 → F1 2/3; class 1: tp 2, predicted 3, gold 2 → F1 4/5; macro 11/15
  const o: ArmOutcomes = { kind: 'classification', seeds: [1, 2], gold: [0, 0, 1, 1], predictions: [[0, 1, 1, 1], [0, 0, 1, 1]] };
  const f = summarizeArm(o, 'macroF1');
  assert.ok(Math.abs(f.perSeed[0] - 11 / 15) < 1e-12);
  assert.equal(f.perSeed[1], 1);
  assert.ok(Math.abs(f.mean - 13 / 15) < 1e-12);
  assert.ok(Math.abs(f.std - Math.SQRT2 * (2 / 15)) < 1e-12); // |x1 − x2| / √2 for two values
  assert.deepEqual(summarizeArm(o, 'accuracy').perSeed, [0.75, 1]);
  // a class neither in gold nor predicted does not count (scikit-learn's label set)
  assert.equal(summarizeArm({ kind: 'classification', seeds: [1], gold: [0, 2], predictions: [[0, 2]] }, 'macroF1').mean, 1);
});

test('by hand: one seed, two items — the bootstrap distribution of the accuracy difference', () => {
  // a is right on both items, b on item 0 only. Draws of two items: {0,0} → 0, {0,1} or {1,0} → 0.5, {1,1} → 1,
  // with probabilities 1/4, 1/2, 1/4: the 95% interval spans [0, 1] and half the resamples are 0.5.
  const a: ArmOutcomes = { kind: 'classification', seeds: [7], gold: [0, 1], predictions: [[0, 1]] };
  const b: ArmOutcomes = { kind: 'classification', seeds: [7], gold: [0, 1], predictions: [[0, 0]] };
  const d = pairedDifference(a, b, { measure: 'accuracy', resamples: 4000 });
  assert.equal(d.difference, 0.5);
  assert.equal(d.lower, 0);
  assert.equal(d.upper, 1);
  const narrow = pairedDifference(a, b, { measure: 'accuracy', resamples: 4000, confidence: 0.4 });
  assert.deepEqual([narrow.lower, narrow.upper], [0.5, 0.5]); // the middle 40% all lie on 0.5
});

test('by hand: seeds are resampled too — items that agree, seeds that do not', () => {
  // One item, always right for a; b is right with seed 1 and wrong with seed 2. Per drawn seed pair the
  // difference is the share of seed-2 draws: {1,1} → 0, mixed → 0.5, {2,2} → 1.
  const a: ArmOutcomes = { kind: 'classification', seeds: [1, 2], gold: [0], predictions: [[0], [0]] };
  const b: ArmOutcomes = { kind: 'classification', seeds: [1, 2], gold: [0], predictions: [[0], [1]] };
  const d = pairedDifference(a, b, { measure: 'accuracy', resamples: 4000 });
  assert.equal(d.difference, 0.5);
  assert.deepEqual([d.lower, d.upper], [0, 1]);
});

test('ner: entity F1 from per-sentence counts, micro over the drawn sentences', () => {
  const a: ArmOutcomes = { kind: 'ner', seeds: [1], entityCounts: [[[1, 1, 1], [1, 2, 1], [0, 0, 2]]] };
  // tp 2, predicted 3, gold 4 → 2·2 / 7
  assert.ok(Math.abs(summarizeArm(a, 'entityF1').mean - 4 / 7) < 1e-12);
  const d = pairedDifference(a, a, { measure: 'entityF1', resamples: 50 });
  assert.deepEqual([d.lower, d.difference, d.upper], [0, 0, 0]);
  assert.throws(() => pairedDifference(a, a, { measure: 'macroF1' }), /ner outcomes score entityF1/);
});

test('mismatched arms are refused with what differs', () => {
  const a = arm(gold, seeds, 0.6, 3, 1);
  assert.throws(() => pairedDifference(a, arm(gold, [1, 2, 3], 0.6, 3, 1), { measure: 'macroF1' }), /different seeds \(1, 2, 3, 4, 5 vs 1, 2, 3\)/);
  assert.throws(() => pairedDifference(a, arm(gold.slice(1), seeds, 0.6, 3, 1), { measure: 'macroF1' }), /300 and 299 test items/);
  assert.throws(() => pairedDifference(a, { ...a, predictions: a.predictions.slice(1) }, { measure: 'macroF1' }), /arm b has 4 runs for 5 seeds/);
  assert.throws(() => pairedDifference(a, a, { measure: 'macroF1', confidence: 1 }), /confidence 1 is not in \(0, 1\)/);
});

test('quantile: linear between order statistics', () => {
  assert.equal(quantile([0, 1, 2, 3, 4], 0.5), 2);
  assert.equal(quantile([0, 10], 0.25), 2.5);
  assert.equal(quantile([5], 0.975), 5);
});
