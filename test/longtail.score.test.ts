/**
 * The "needs knowledge" score and the glossary reader of the longtail stage, without servers: each factor's
 * closed form, that one failed condition sinks the score, and that every glossary problem is named with its line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../activities/errors';
import { readDictionary, termKey } from '../activities/stages/longtail/dictionary';
import { needsKnowledge, type TermStats } from '../activities/stages/longtail/score';
import { stageKinds } from '../schemas/stages';
import { tempDir } from './helpers/tmp';

const p = stageKinds.longtail.params.parse({ baseModel: 'm' }).score; // generalPerMillion 10, enoughFreq 10, fragmentPieces 3
const term = (t: Partial<TermStats>): TermStats => ({ domainFreq: 10, generalFreq: 0, generalUnits: 1_000_000, pieces: 3, unknown: false, defined: true, ...t });
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs ${b}`);

describe('needs-knowledge score', () => {
  test('a rare, frequent-enough, fragmented, defined term scores 1', () => {
    assert.deepEqual(needsKnowledge(term({}), p), { rare: 1, enough: 1, fragmented: 1, need: 1, score: 1 });
  });

  test('each factor follows its closed form', () => {
    // 10 per million in general text: half rare; 30 per million: a quarter.
    close(needsKnowledge(term({ generalFreq: 10 }), p).rare, 0.5, 'rare at the scale');
    close(needsKnowledge(term({ generalFreq: 60, generalUnits: 2_000_000 }), p).rare, 0.25, 'rare at 3x the scale');
    close(needsKnowledge(term({ domainFreq: 3 }), p).enough, Math.log(4) / Math.log(11), 'enough below enoughFreq');
    assert.equal(needsKnowledge(term({ domainFreq: 500 }), p).enough, 1, 'enough is capped');
    close(needsKnowledge(term({ pieces: 2 }), p).fragmented, 0.5, 'two pieces of three');
    assert.equal(needsKnowledge(term({ pieces: 9 }), p).fragmented, 1, 'fragmented is capped');
    const k = needsKnowledge(term({ generalFreq: 10, domainFreq: 3, pieces: 2 }), p);
    close(k.score, 0.5 * (Math.log(4) / Math.log(11)) * 0.5, 'the score is the product');
  });

  test('one failed condition sinks the score', () => {
    assert.equal(needsKnowledge(term({ pieces: 1 }), p).score, 0, 'the base tokenizer has the term as one token');
    assert.equal(needsKnowledge(term({ domainFreq: 0 }), p).score, 0, 'never seen in the domain');
    const undefinedTerm = needsKnowledge(term({ defined: false }), p);
    assert.equal(undefinedTerm.score, 0, 'no definition: nothing to inject');
    assert.equal(undefinedTerm.need, 1, 'but it still needs knowledge');
    assert.ok(needsKnowledge(term({ generalFreq: 10_000 }), p).score < 0.001, 'common in general text');
  });

  test('the unknown token counts as fully fragmented; no general corpus counts as rare', () => {
    assert.equal(needsKnowledge(term({ pieces: 1, unknown: true }), p).fragmented, 1);
    assert.equal(needsKnowledge(term({ generalFreq: null, generalUnits: null }), p).rare, 1);
  });
});

describe('glossary (dictionary) file', () => {
  const dir = tempDir('glossary');
  const write = (name: string, lines: string[]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, lines.join('\n') + '\n');
    return f;
  };

  test('terms are keyed case- and space-insensitively; identical repeats are one entry', () => {
    const f = write('ok.jsonl', [
      JSON.stringify({ term: 'Stochastic  Gradient Descent', definition: 'an optimiser that follows noisy gradients' }),
      '',
      JSON.stringify({ term: 'hyperparameter', definition: 'a setting chosen before training', source: 'ignored' }),
      JSON.stringify({ term: 'hyperparameter', definition: 'a setting chosen before training' }),
    ]);
    const d = readDictionary(f);
    assert.equal(d.size, 2);
    assert.equal(d.get(termKey('stochastic gradient descent'))?.term, 'Stochastic  Gradient Descent');
    assert.deepEqual(d.get('hyperparameter'), { term: 'hyperparameter', definition: 'a setting chosen before training' });
  });

  test('every problem is reported at once, with its line and field', () => {
    const f = write('bad.jsonl', [
      JSON.stringify({ term: 'learning rate', definition: 'the step size' }),
      '{"term": "weight decay"',
      JSON.stringify({ term: '', definition: 'x' }),
      JSON.stringify({ term: 'momentum' }),
      JSON.stringify(['not', 'an', 'object']),
      JSON.stringify({ term: 'Learning Rate', definition: 'something else' }),
    ]);
    assert.throws(() => readDictionary(f), (e: Error) => {
      assert.ok(e instanceof ConfigError, 'non-retryable');
      for (const want of [`${f}:2: not valid JSON`, `${f}:3: field "term": expected a non-empty string`, `${f}:4: field "definition": expected a non-empty string, got nothing`, `${f}:5: expected a JSON object`, `${f}:6: term "Learning Rate" is already defined differently on line 1`])
        assert.ok(e.message.includes(want), `${want} in\n${e.message}`);
      assert.match(e.message, /5 problem\(s\)/);
      return true;
    });
  });

  test('a missing or empty file is refused', () => {
    assert.throws(() => readDictionary(path.join(dir, 'nope.jsonl')), /dictionary: .*nope\.jsonl does not exist/);
    assert.throws(() => readDictionary(write('empty.jsonl', [''])), /no entries/);
  });
});
