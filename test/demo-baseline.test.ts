/** The demo prints each task's majority-class baseline beside its scores: what always predicting the commonest test label scores. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { headline, majorityBaseline } from '../cli/commands/demo';
import type { Plan } from '../schemas/plan';
import type { RunStatus } from '../schemas/run';
import { tempDir } from './helpers/tmp';

const dir = tempDir('baseline');
const write = (name: string, rows: object[]) => fs.writeFileSync(path.join(dir, name), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

test('majority baseline of a classification test set: accuracy and macro-F1 over the task labels', () => {
  write('test.jsonl', [{ text: 'a', label: 'x' }, { text: 'b', label: 'x' }, { text: 'c', label: 'x' }, { text: 'd', label: 'y' }]);
  const b = majorityBaseline({ data: { test: 'test.jsonl' } }, dir)!;
  assert.equal(b.accuracy, 0.75);
  assert.ok(Math.abs(b.macroF1 - (2 * 0.75) / 1.75 / 2) < 1e-12);
  // A label the test set lacks still counts in the macro average (the model can predict it).
  assert.ok(Math.abs(majorityBaseline({ data: { test: 'test.jsonl' } }, dir, ['x', 'y', 'z'])!.macroF1 - (2 * 0.75) / 1.75 / 3) < 1e-12);
  write('other.jsonl', [{ text: 'a', cls: 'p' }, { text: 'b', cls: 'q' }]);
  assert.equal(majorityBaseline({ data: { test: path.join(dir, 'other.jsonl'), labelField: 'cls' } }, '/')!.accuracy, 0.5);
});

test('no baseline where the test set is not one local file of single labels', () => {
  write('ner.jsonl', [{ tokens: ['a'], tags: ['O'] }]);
  assert.equal(majorityBaseline({ data: { test: 'ner.jsonl' } }, dir), undefined);
  assert.equal(majorityBaseline({ data: { test: 's3://bucket/test.jsonl' } }, dir), undefined);
  assert.equal(majorityBaseline({ data: { test: ['test.jsonl'] } }, dir), undefined);
  assert.equal(majorityBaseline({ data: { test: 'missing.jsonl' } }, dir), undefined);
});

test('the demo headline: base → adapted with the interval, then every other ablation arm against the same base', () => {
  write('test.jsonl', [{ text: 'a', label: 'x' }, { text: 'b', label: 'y' }]);
  const iv = (difference: number, lower: number, upper: number) => ({ macroF1: { difference, lower, upper, confidence: 0.95 } });
  const scores = (mean: number) => ({ mean: { macroF1: mean }, std: { macroF1: 0.01 }, seeds: [{ seed: 1 }, { seed: 2 }, { seed: 3 }] });
  const metrics = {
    task: 'classification',
    primary: 'macroF1',
    labels: ['x', 'y'],
    delta: { macroF1: -0.01 },
    models: { base: scores(0.8), adapted: scores(0.79), 'adapted+pl': scores(0.85) },
    comparison: { adapted: iv(-0.01, -0.03, 0.01), 'adapted+pl': iv(0.05, 0.02, 0.08) },
  };
  const plan = { stages: { evaluate: { kind: 'evaluate', params: { data: { test: 'test.jsonl' } } } } } as unknown as Plan;
  const status = { stages: { evaluate: { metrics } } } as unknown as RunStatus;
  assert.deepEqual(headline(plan, status, dir), [
    'evaluate (classification, macroF1, 3 seeds): base 0.800 ± 0.010 → adapted 0.790 ± 0.010 (Δ -0.010, 95% interval [-0.030, +0.010]: no difference shown at this size); majority-class baseline 0.333',
    '  adapted+pl: 0.850 ± 0.010 (Δ +0.050, 95% interval [+0.020, +0.080]: adapted+pl helped)',
  ]);
});
