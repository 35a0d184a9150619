/** The `dapt` command line, run as a user runs it (a child process), against the real servers. */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { configEnv, type DaptConfig } from '../config';
import { startStack, type Stack } from './helpers/stack';

let stack: Stack;
let cfg: DaptConfig;
before(async () => {
  stack = await startStack('cli');
  cfg = stack.config('cli');
  await stack.workers(cfg, ['cpu']);
});
after(async () => {
  await stack?.stop();
});

/** Async on purpose: this process hosts the workers, so it must not block while the CLI waits on them. */
function dapt(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = { ...process.env, ...configEnv(cfg) };
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(__dirname, '..', 'bin', 'dapt.js'), ...args], { env, timeout: 120_000 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err });
    });
  });
}

function writeSpec(name: string, text: string): string {
  const p = path.join(stack.dir, name);
  fs.writeFileSync(p, text);
  return p;
}

test('validate: exit 0 with the DAG by levels; exit 2 with every problem', async () => {
  const ok = await dapt('validate', writeSpec('ok.yaml', 'name: ok\nstages:\n  a: { uses: noop }\n  b: { uses: noop, needs: [a] }\n'));
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /level 0: a \(noop\)\n {2}level 1: b \(noop ← a\)/);
  const bad = writeSpec('bad.yaml', 'name: bad\nstages:\n  a: { uses: noop, needs: [zz] }\n  b: { uses: nope }\n');
  const res = await dapt('validate', bad);
  assert.equal(res.code, 2);
  assert.match(res.err, new RegExp(`${bad}:3:28: stages\\.a\\.needs\\[0\\]: needs "zz"`));
  assert.match(res.err, /stages\.b\.uses: unknown stage kind "nope"/);
  assert.match(res.err, /2 problem\(s\)/);
});

test('schema prints JSON Schema that names every stage kind', async () => {
  const res = await dapt('schema');
  assert.equal(res.code, 0);
  const schema = JSON.parse(res.out);
  assert.equal(schema.title, 'dapt pipeline');
  assert.match(res.out, /"const": "crawl"/);
});

test('run --watch follows a run to success; status, list and artifacts show it', async () => {
  const corpus = path.join(stack.dir, 'cli-corpus');
  fs.mkdirSync(corpus, { recursive: true });
  fs.writeFileSync(path.join(corpus, 'a.txt'), 'first document\n');
  fs.writeFileSync(path.join(corpus, 'b.txt'), 'second document\n');
  const spec = writeSpec('run.yaml', `name: clirun\nstages:\n  src: { uses: source, with: { paths: [cli-corpus] } }\n  dd: { uses: dedupe, needs: [src] }\n`);
  const run = await dapt('run', spec, '--watch');
  assert.equal(run.code, 0, run.err + run.out);
  const id = /run (clirun-\S+) started/.exec(run.out)?.[1];
  assert.ok(id, run.out);
  assert.match(run.out, /Temporal UI: http:\/\/\S+\/workflows\/clirun-/);
  assert.match(run.out, /✓ src +succeeded/);
  assert.match(run.out, new RegExp(`run ${id} succeeded`));

  const status = await dapt('status', id!);
  assert.equal(status.code, 0, status.err);
  assert.match(status.out, /succeeded/);
  assert.match(status.out, /dd +succeeded .*→ [0-9a-f]{12}/);

  const list = await dapt('list', '--pipeline', 'clirun');
  assert.match(list.out, new RegExp(`${id}\\s+COMPLETED`));

  const dl = path.join(stack.dir, 'download');
  const arts = await dapt('artifacts', id!, 'dd', '--download', dl);
  assert.equal(arts.code, 0, arts.err);
  assert.match(arts.out, /dd {2}documents {2}[0-9a-f]{64}/);
  assert.match(arts.out, /parent src [0-9a-f]{64}/);
  const manifest = JSON.parse(fs.readFileSync(path.join(dl, 'dd', 'manifest.json'), 'utf8'));
  assert.equal(manifest.files.length, 1);
  assert.ok(fs.existsSync(path.join(dl, 'dd', manifest.files[0].name)));

  const again = await dapt('run', spec, '--watch');
  assert.match(again.out, /≡ src +cached/);
  const forced = await dapt('run', spec, '--watch', '--no-cache', '--set', 'dd.normalize.lowercase=false');
  assert.match(forced.out, /✓ src +succeeded/);
});

test('a failing run exits 1 and names the stage and cause', async () => {
  const spec = writeSpec('fail.yaml', 'name: clifail\ndefaults: { retry: { maxAttempts: 1 } }\nstages:\n  boom: { uses: noop, with: { failAttempts: 1 } }\n');
  const res = await dapt('run', spec, '--watch');
  assert.equal(res.code, 1);
  assert.match(res.out, /stage "boom" failed after 1 attempt\(s\): Error: boom: failing on purpose/);
});

test('unreachable server: one clear line naming the server and address, exit 3', () => {
  const env = { ...process.env, DAPT_TEMPORAL_ADDRESS: '127.0.0.1:9' };
  const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'bin', 'dapt.js'), 'list'], { env, encoding: 'utf8' });
  assert.equal(r.status, 3);
  assert.match(r.stderr, /cannot reach the Temporal server at 127\.0\.0\.1:9 .*dapt dev up/);
});

test('schedule create, list, pause, trigger, backfill, delete on Temporal Schedules', async () => {
  const spec = writeSpec(
    'sched.yaml',
    'name: weekly\nschedule: { cron: "0 3 * * 1", overlap: buffer-one, catchupWindow: 2h }\nstages:\n  a: { uses: noop }\n',
  );
  const created = await dapt('schedule', 'create', spec, '--id', 'weekly-test');
  assert.equal(created.code, 0, created.err);
  assert.match(created.out, /schedule weekly-test created; next runs: \d{4}-\d\d-\d\dT03:00/);
  const d = await stack.client.schedule.getHandle('weekly-test').describe();
  assert.equal(d.policies.overlap, 'BUFFER_ONE');
  assert.equal(d.policies.catchupWindow, 2 * 3600 * 1000);
  assert.equal((await dapt('schedule', 'pause', 'weekly-test')).code, 0);
  assert.equal((await stack.client.schedule.getHandle('weekly-test').describe()).state.paused, true);
  assert.match((await dapt('schedule', 'list')).out, /weekly-test +paused/);
  assert.equal((await dapt('schedule', 'unpause', 'weekly-test')).code, 0);
  assert.equal((await dapt('schedule', 'trigger', 'weekly-test')).code, 0);
  // The triggered run gets its run id from its workflow id and completes on the workers.
  let runs: string[] = [];
  for (let i = 0; i < 100 && !runs.length; i++) {
    runs = [];
    for await (const wf of stack.client.workflow.list({ query: `WorkflowId STARTS_WITH "weekly-sched" AND ExecutionStatus = "Completed"` })) runs.push(wf.workflowId);
    if (!runs.length) await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(runs.length, 1);
  const backfill = await dapt('schedule', 'backfill', 'weekly-test', '--from', 'not-a-date', '--to', '2026-01-01T00:00:00Z');
  assert.equal(backfill.code, 2);
  assert.match(backfill.err, /--from not-a-date: expected an ISO date/);
  assert.equal((await dapt('schedule', 'delete', 'weekly-test')).code, 0);
  assert.doesNotMatch((await dapt('schedule', 'list')).out, /weekly-test/);
});
