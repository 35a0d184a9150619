/** The demo prints each task's majority-class baseline beside its scores: what always predicting the commonest test label scores. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { majorityBaseline } from '../cli/commands/demo';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-baseline-'));
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
