/**
 * Document stages as per-shard fan-outs on real workers: extract → filter → exact dedupe over a 20-shard input.
 * The same pipeline runs (1) on one in-process worker, (2) on two `dapt worker` processes, and (3) on two
 * processes of which one is SIGKILLed while it holds a task of each stage (and replaced). Each stage's output
 * digest must be the same in all three; in (2) both processes must have run tasks of one stage at the same
 * time; in (3) every task completes exactly once per stage — finished shards are never redone — and the
 * killed worker's task is finished by another worker. A rerun without the cache reuses every task from the
 * ledger.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { getRunStatus, startRun, waitForRun } from '../client/runs';
import { documentShards } from '../activities/documents';
import { statusText } from '../cli/render';
import { isAlive } from '../infra/process';
import type { Plan } from '../schemas';
import { startedTaskOf, stageTaskCompletions, type TaskCompletion } from './helpers/fanout-tasks';
import { plan } from './helpers/plans';
import { startStack, type Stack, type WorkerProcess } from './helpers/stack';

const SHARDS = 20;
const PER_SHARD = 60;
const STAGES = ['extract', 'filter', 'dedupe'] as const;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let stack: Stack;
let corpus: string;

// Sentences people could have written: CLD3 takes them for English and the Gopher/C4 rules keep them.
const SENTENCES = [
  'The committee reviewed the annual budget before the public hearing began.',
  'Farmers in the valley planted barley early because the spring was unusually warm.',
  'Several witnesses described the accident in remarkably similar terms.',
  'The library extended its opening hours during the examination period.',
  'Engineers replaced the old bridge bearings without closing the road to traffic.',
  'A local bakery donated bread to the shelter every morning for a year.',
  'The museum opened a new wing dedicated to maritime history and navigation.',
  'Researchers measured the river temperature at twelve stations along its course.',
  'Parents and teachers discussed the new timetable at the evening meeting.',
  'The orchestra rehearsed the second movement until the tempo felt natural.',
  'Heavy rain delayed the harvest, and prices at the market rose sharply.',
  'The council approved a plan to plant trees along the main avenue.',
  'Volunteers cleaned the beach after the storm had carried debris ashore.',
  'The hospital trained its nurses to use the new monitoring equipment.',
  'Students built a small weather station on the roof of the school.',
  'The ferry service added an extra crossing on weekends during the summer.',
];

function page(i: number): string {
  // Every seventh page repeats an earlier one in another shard (an exact duplicate); every eleventh is too short.
  const n = i % 7 === 6 && i > PER_SHARD ? i - PER_SHARD - 3 : i;
  const count = n % 11 === 10 ? 2 : 7;
  const body = Array.from({ length: count }, (_, k) => SENTENCES[(n * 7 + k * 5) % SENTENCES.length]).join(' ');
  return (
    `<!doctype html><html lang="en"><head><title>Notes ${n}</title></head><body>` +
    `<nav><a href="/">Home</a> <a href="/about">About</a> <a href="/contact">Contact</a></nav>` +
    `<article><h1>Notes ${n}</h1><p>${body}</p><p>Entry number ${n} of the town record. ${SENTENCES[n % SENTENCES.length]}</p></article>` +
    `<footer>Copyright the town record. All rights reserved.</footer></body></html>`
  );
}

before(async () => {
  stack = await startStack('shard-map');
  corpus = path.join(stack.dir, 'pages');
  fs.mkdirSync(corpus, { recursive: true });
  const rows = Array.from({ length: SHARDS * PER_SHARD }, (_, i) => JSON.stringify({ id: `p${i}`, text: page(i), contentType: 'text/html' }));
  fs.writeFileSync(path.join(corpus, 'pages.jsonl'), rows.join('\n') + '\n');
});

after(async () => {
  await stack?.stop();
});

function pipeline(name: string): Plan {
  return plan({
    name,
    defaults: { timeout: { heartbeat: '4s' }, retry: { maxAttempts: 4, initialInterval: '200ms' } },
    stages: {
      source: { uses: 'source', with: { paths: [corpus], shardSize: PER_SHARD } },
      extract: { uses: 'extract', needs: ['source'], concurrency: 4, with: { minChars: 350 } },
      filter: { uses: 'filter', needs: ['extract'], concurrency: 4, with: { gopherRepetition: { enabled: false } } },
      dedupe: { uses: 'dedupe', needs: ['filter'], concurrency: 4 },
    },
  });
}

interface Outcome {
  workflowId: string;
  digests: Record<string, string>;
  metrics: Record<string, Record<string, unknown>>;
}

async function runToEnd(cfgName: string, p: Plan, during?: (workflowId: string) => Promise<void>): Promise<Outcome> {
  const cfg = stack.config(cfgName);
  const run = await startRun(stack.client, cfg, p);
  await during?.(run.workflowId);
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, res.error);
  const digests: Record<string, string> = {};
  const metrics: Record<string, Record<string, unknown>> = {};
  for (const s of STAGES) {
    digests[s] = res.status.stages[s].digest!;
    metrics[s] = res.status.stages[s].metrics as Record<string, unknown>;
  }
  return { workflowId: run.workflowId, digests, metrics };
}

/** Task completions of one fan-out phase, by task index (the activity id ends in `:task:<phase>:<index>`). */
function byTask(completions: TaskCompletion[], phase: number): Map<number, TaskCompletion[]> {
  const out = new Map<number, TaskCompletion[]>();
  for (const c of completions) {
    const m = /:task:(\d+):(\d+)$/.exec(c.activityId);
    if (!m || Number(m[1]) !== phase) continue;
    const list = out.get(Number(m[2])) ?? [];
    list.push(c);
    out.set(Number(m[2]), list);
  }
  return out;
}

let reference: Outcome;

test('one worker: each document stage runs one task per input shard', { timeout: 300_000 }, async (t) => {
  const cfg = stack.config('one');
  await stack.workers(cfg, ['cpu']);
  reference = await runToEnd('one', pipeline('one'));
  const status = await getRunStatus(stack.client, reference.workflowId);
  const took = (s: { startedAt?: string; endedAt?: string }) => (Date.parse(s.endedAt ?? '') - Date.parse(s.startedAt ?? '')) / 1000;
  t.diagnostic(Object.entries(status.stages).map(([n, s]) => `${n} ${took(s)} s`).join(', '));
  assert.equal(status.stages.extract.fanout?.total, SHARDS);
  assert.equal(status.stages.filter.fanout?.total, SHARDS);
  const m = reference.metrics;
  assert.equal(m.extract.input, SHARDS * PER_SHARD);
  assert.ok((m.extract.tooShort as number) > 0, 'the short pages were dropped by extract');
  assert.ok((m.dedupe.duplicates as number) > 0, 'the planted duplicates were found');
  assert.equal(m.dedupe.input, m.filter.kept);
  assert.equal(m.dedupe.kept, (m.dedupe.input as number) - (m.dedupe.duplicates as number));
  // each document stage's input as the status carries it, and `dapt status` prints its rate from it
  const store = stack.store(cfg);
  const extracted = (await store.readManifest(reference.digests.extract))!;
  const shards = documentShards(extracted);
  assert.deepEqual(status.stages.filter.input, { records: m.filter.input, bytes: shards.reduce((n, f) => n + f.bytes, 0) });
  assert.equal(status.stages.dedupe.input?.records, m.filter.kept);
  assert.match(statusText(status), /filter +succeeded .* [\d.]+k? docs\/s, [\d.]+ MB\/s/);
});

test('two worker processes run shards of one stage at the same time, with the same output', { timeout: 300_000 }, async () => {
  const cfg = stack.config('two');
  await stack.workers(cfg, []); // the workflows only: every task runs in a worker process
  const procs = await Promise.all([0, 1].map((i) => stack.workerProcess(cfg, ['cpu'], { workflows: false, concurrency: 2, name: `two-${i}` })));
  const out = await runToEnd('two', pipeline('two'));
  assert.deepEqual(out.digests, reference.digests);
  const tasks = [...byTask(await stageTaskCompletions(stack.client, out.workflowId, 'extract'), 0).values()].flat();
  assert.equal(tasks.length, SHARDS);
  const ids = new Set(tasks.map((t) => t.identity));
  assert.deepEqual([...ids].sort(), procs.map((p) => p.identity).sort(), 'both processes ran extract tasks');
  const [a, b] = procs.map((p) => tasks.filter((t) => t.identity === p.identity));
  assert.ok(a.some((x) => b.some((y) => x.startedMs < y.completedMs && y.startedMs < x.completedMs)), 'a task of each process overlapped in time');
  await Promise.all(procs.map((p) => p.stop()));
});

test('SIGKILL of a worker mid-extract, mid-filter and mid-dedupe: same output, no finished shard redone', { timeout: 480_000 }, async () => {
  const cfg = stack.config('kill');
  await stack.workers(cfg, []);
  let n = 0;
  const spawn = () => stack.workerProcess(cfg, ['cpu'], { workflows: false, concurrency: 2, name: `kill-${n++}` });
  const live: WorkerProcess[] = await Promise.all([spawn(), spawn()]);
  const victims: Record<string, { worker: WorkerProcess; activityId: string; workflowId: string }> = {};
  const killed: WorkerProcess[] = [];
  let killedInDedupe = false;
  // A replacement starts in the background: the next stage may start and end while it boots.
  const replacements: Promise<number>[] = [];
  // what the killed workers' attempts left on disk: a worker started later on this host removes it
  const workRoot = path.join(os.tmpdir(), 'dapt-work');
  const leftBy = (pid: number) => fs.readdirSync(workRoot).filter((n) => new RegExp(`\\.${pid}\\.\\d+@`).test(n) && n.includes(`@${os.hostname()}-`));
  const left: string[] = [];
  const kill = (w: WorkerProcess) => {
    process.kill(w.pid, 'SIGKILL');
    left.push(...leftBy(w.pid));
    killed.push(w);
    live.splice(live.indexOf(w), 1);
    replacements.push(spawn().then((r) => live.push(r)));
  };

  const out = await runToEnd('kill', pipeline('kill'), async (workflowId) => {
    for (const stage of STAGES) {
      let runningSince = 0;
      for (const deadline = Date.now() + 180_000; !victims[stage]; await sleep(50)) {
        const s = (await getRunStatus(stack.client, workflowId)).stages[stage];
        if (Date.now() > deadline) assert.fail(`no ${stage} task was seen running`);
        if (s.state !== 'pending' && s.state !== 'running') {
          // Exact dedupe's tasks last milliseconds at this size: its worker was killed while the stage ran (below).
          if (stage === 'dedupe' && runningSince) break;
          assert.fail(`${stage} ended (${s.state}) before a worker was caught running one of its tasks`);
        }
        if (s.state !== 'running') continue;
        runningSince ||= Date.now();
        if (stage !== 'dedupe' && !s.fanout?.done) continue; // at least one task finished: a kill is mid-stage
        const held = await startedTaskOf(stack.client, workflowId, stage, live);
        if (held) {
          victims[stage] = held;
          kill(held.worker);
        } else if (stage === 'dedupe' && !killedInDedupe && runningSince < Date.now() - 200) {
          killedInDedupe = true;
          kill(live[0]);
        }
      }
    }
  });
  assert.deepEqual(out.digests, reference.digests, 'the output equals an uninterrupted run');
  for (const w of killed) assert.equal(isAlive(w.pid), false);
  assert.ok(victims.extract && victims.filter, 'a worker was killed holding an extract task and one holding a filter task');

  let retried = 0;
  for (const stage of STAGES) {
    const completions = await stageTaskCompletions(stack.client, out.workflowId, stage);
    const v = victims[stage];
    if (v) {
      const victim = completions.find((c) => c.workflowId === v.workflowId && c.activityId === v.activityId);
      assert.ok(victim, `${stage}: the killed worker's task completed`);
      // On a fast machine a short task can finish between the look and the kill: then it is the victim's own
      // first-attempt completion. Otherwise another worker finished it on a later attempt.
      if (victim.identity !== v.worker.identity || victim.attempt !== 1) {
        assert.notEqual(victim.identity, v.worker.identity, `${stage}: another worker finished the killed task`);
        assert.ok(victim.attempt >= 2, `${stage}: the killed task completed on attempt ${victim.attempt}`);
        retried++;
      }
    }
    // Each phase: every task completed exactly once (an activity completes once; a redone shard would be a
    // second completion under a later batch or round).
    for (let phase = 0; phase < (stage === 'dedupe' ? 3 : 1); phase++) {
      const tasks = byTask(completions, phase);
      for (const [i, list] of tasks) assert.equal(list.length, 1, `${stage} phase ${phase} task ${i} completed ${list.length} times`);
    }
    assert.equal(byTask(completions, 0).size, SHARDS, `${stage}: one task per shard`);
  }
  assert.ok(retried >= 1, 'at least one killed task was finished by another worker');

  // Same stages again without the cache: every task's result comes from the ledger.
  const again = await runToEnd('kill', { ...pipeline('kill'), stages: Object.fromEntries(Object.entries(pipeline('kill').stages).map(([k, s]) => [k, { ...s, cache: false }])) });
  assert.deepEqual(again.digests, reference.digests);
  const status = await getRunStatus(stack.client, again.workflowId);
  assert.equal(status.stages.filter.fanout?.reused, SHARDS);
  assert.equal(status.stages.extract.fanout?.reused, SHARDS);
  await Promise.all(replacements);
  assert.ok(left.length >= 1, 'the killed workers left work folders of the tasks they held');
  assert.deepEqual(left.filter((n) => fs.existsSync(path.join(workRoot, n))), [], 'the replacement workers removed them');
  await Promise.all(live.map((p) => p.stop()));
});
