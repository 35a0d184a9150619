import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { runTrainer, throwIfTrainerFailed, TrainerEventError } from '../activities/model-stage/trainer-process';
import { parseTrainerEvent, trainerEventsJsonSchema, type TrainerEvent } from '../schemas/trainer-events';
import { tempDir } from './helpers/tmp';

test('trainer/events.schema.json is the generated schema (regenerate with `npx dapt schema --trainer-events > trainer/events.schema.json`)', () => {
  const committed = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'trainer', 'events.schema.json'), 'utf8'));
  assert.deepEqual(committed, trainerEventsJsonSchema());
});

test('event lines: valid events parse, stray lines are not events, a broken event names itself and its fields', () => {
  const ok = parseTrainerEvent('{"event":"progress","step":10,"total":40,"loss":7.5,"lr":0.0001,"tokensPerSec":1200.5,"epoch":1,"model":"base","seed":2}');
  assert.deepEqual(ok, { event: { event: 'progress', step: 10, total: 40, loss: 7.5, lr: 0.0001, tokensPerSec: 1200.5, epoch: 1, model: 'base', seed: 2 } });
  assert.deepEqual(parseTrainerEvent('{"event":"done","outputDir":"/o","metrics":{"train.steps":4,"train.finalLoss":6.9}}'), {
    event: { event: 'done', outputDir: '/o', metrics: { 'train.steps': 4, 'train.finalLoss': 6.9 } },
  });
  for (const stray of ['loading weights…', '{not json', '{"step": 3}', '[1,2]', 'null']) assert.equal(parseTrainerEvent(stray), undefined, stray);

  const broken = (line: string) => {
    const r = parseTrainerEvent(line);
    assert.ok(r && 'error' in r, `${line} is an error`);
    return r.error;
  };
  assert.match(broken('{"event":"progress","step":10,"total":40,"loss":"7.5","lr":0,"tokensPerSec":1}'), /^malformed trainer event 'progress': loss: .*number/);
  assert.match(broken('{"event":"checkpoint","step":-1}'), /^malformed trainer event 'checkpoint': step: .*; path: /);
  assert.match(broken('{"event":"metric","name":"train.steps","value":4,"unit":"steps"}'), /^malformed trainer event 'metric': .*unit/);
  assert.match(broken('{"event":"done","outputDir":"/o","metrics":{"train.steps":"4"}}'), /^malformed trainer event 'done': metrics\.train\.steps: /);
  assert.match(broken('{"event":"heartbeat","step":1}'), /^unknown trainer event 'heartbeat' \(known: progress, checkpoint, metric, done\)/);
});

/**
 * A stand-in for the trainer's python (DAPT_TRAINER_PYTHON): it writes the given stdout lines, then waits for
 * SIGTERM the way the trainer does (checkpoint, exit 143) and records that it got it.
 */
function fakeTrainer(dir: string, lines: string[]): { python: string; terminated: string } {
  const terminated = path.join(dir, 'terminated');
  const python = path.join(dir, 'python');
  fs.writeFileSync(
    python,
    ['#!/bin/bash', `trap 'touch ${terminated}; exit 143' TERM`, ...lines.map((l) => `printf '%s\\n' '${l}'`), 'for i in $(seq 600); do sleep 0.1; done', 'exit 0'].join('\n'),
    { mode: 0o755 },
  );
  return { python, terminated };
}

test('a trainer that breaks the event contract is stopped with SIGTERM and the attempt fails naming the event', async () => {
  const dir = tempDir('events');
  const fake = fakeTrainer(dir, [
    'starting',
    '{"event":"progress","step":1,"total":4,"loss":7.1,"lr":0.001,"tokensPerSec":100}',
    '{"event":"progress","step":2,"total":4,"lossValue":7.0,"lr":0.001,"tokensPerSec":100}',
    '{"event":"progress","step":3,"total":4,"loss":6.9,"lr":0.001,"tokensPerSec":100}',
  ]);
  const saved = process.env.DAPT_TRAINER_PYTHON;
  process.env.DAPT_TRAINER_PYTHON = fake.python;
  try {
    const seen: TrainerEvent[] = [];
    const logs: string[] = [];
    const controller = new AbortController();
    const started = Date.now();
    const result = await runTrainer({
      command: 'evaluate',
      configPath: path.join(dir, 'cfg.json'),
      cwd: dir,
      signal: controller.signal,
      onEvent: (e) => seen.push(e),
      log: (m) => logs.push(m),
    });
    assert.ok(Date.now() - started < 50_000, 'stopped, not waited for');
    assert.ok(fs.existsSync(fake.terminated), 'the trainer got SIGTERM (time to checkpoint), not SIGKILL');
    assert.equal(result.code, 143);
    assert.deepEqual(seen.map((e) => e.event === 'progress' && e.step), [1, 3], 'valid events before and after still reach the stage');
    assert.ok(logs.includes('trainer stdout: starting'), 'a stray line is logged, not an error');
    assert.match(result.eventError ?? '', /^malformed trainer event 'progress': loss: .*expected number.*; \(event\): Unrecognized key: "lossValue"/);
    assert.throws(
      () => throwIfTrainerFailed('pretrain', result, controller.signal),
      (e: Error) => e instanceof TrainerEventError && e.retryable === false && /^pretrain: malformed trainer event 'progress'/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env.DAPT_TRAINER_PYTHON;
    else process.env.DAPT_TRAINER_PYTHON = saved;
  }
});
