/**
 * `npm run bench:engine`: dapt's engine overhead against a minimal hand-written Temporal workflow that makes
 * the same activity calls (bench/baseline-workflows.ts). Both run on one private Temporal dev server and MinIO,
 * with in-process workers of the same shape, a warm-up run first, then `--reps` interleaved repetitions.
 *
 *   npm run bench:engine -- [--reps 3] [--slots 16] [--explain] [--no-trace] [--write-docs docs/benchmarks.md] [--smoke]
 *
 * --explain adds diagnostic variants (one fan-out batch for dapt; no prepareStage for the baseline) to the
 * rotation; --no-trace skips the per-run history breakdown. --smoke (test/bench.smoke.test.ts: keeps the
 * benchmark working) runs every variant once on tiny workloads (a 2 × 3 DAG, 12 fan-out tasks), no warm-up.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { stageCacheKey } from '../activities/cache-key';
import { ArtifactStore, keys } from '../activities/store';
import { startRun, waitForRun } from '../client/runs';
import { ensureBinaries } from '../infra/servers';
import type { Plan } from '../schemas/plan';
import type { DaptConfig } from '../config';
import { startWorkers, type RunningWorkers } from '../worker/worker';
import { runBaselineDag, runBaselineFanout, startBaselineWorkers, type BaselineWorkers } from './baseline';
import { median, summarize, traceRun, type TraceSummary } from './history';
import { dagWorkload, fanoutWorkload, type Workload, type WorkloadName } from './workloads';
import { renderReport, writeDocsSection, type Environment, type ResultRow } from './report';
import { startBenchStack, type BenchStack } from './local-stack';

const TARGET_RATIO = 1.3;

interface Options {
  reps: number;
  slots: number;
  writeDocs?: string;
  trace: boolean;
  explain: boolean;
  smoke: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '3' },
      slots: { type: 'string', default: '16' },
      'write-docs': { type: 'string' },
      'no-trace': { type: 'boolean', default: false },
      explain: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a positive integer, got "${v}"`);
    return n;
  };
  const smoke = values.smoke;
  if (smoke && values['write-docs']) throw new Error('--smoke measures nothing worth writing: drop --write-docs');
  return {
    reps: smoke ? 1 : int('reps', values.reps),
    slots: int('slots', values.slots),
    writeDocs: values['write-docs'],
    trace: !values['no-trace'],
    explain: values.explain || smoke,
    smoke,
  };
}

interface Bench {
  client: Client;
  config: DaptConfig;
  store: ArtifactStore;
}

interface Measured {
  ms: number;
  workflowId: string;
}

/** Fails loudly if the fan-out stage's ledger already exists: the run would reuse tasks instead of running them. */
async function assertFreshLedger(store: ArtifactStore, plan: Plan, runId: string): Promise<void> {
  for (const stage of Object.values(plan.stages)) {
    if (stage.mode !== 'fanout') continue;
    const key = stageCacheKey({ pipeline: plan.name, runId, stage, inputs: [], noCache: false }, undefined);
    if ((await store.statSize(keys.ledgerTasks(key, 0))) !== undefined) throw new Error(`ledger of ${stage.name} (${key}) is not empty`);
  }
}

async function runDapt(b: Bench, w: Workload, plan: Plan, runId: string, fanoutBatchSize?: number): Promise<Measured> {
  const t0 = performance.now();
  const run = await startRun(b.client, b.config, plan, { runId, fanoutBatchSize });
  const res = await waitForRun(b.client, run.workflowId);
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`dapt run ${run.workflowId} failed: ${res.error}`);
  const notDone = Object.entries(res.status.stages).filter(([, s]) => s.state !== 'succeeded');
  if (notDone.length) throw new Error(`dapt run ${run.workflowId}: stages not succeeded: ${notDone.map(([n, s]) => `${n}=${s.state}`).join(', ')}`);
  if (w.name === 'B') {
    const s = res.status.stages.fan;
    const ok = s.fanout?.done === w.units && s.fanout.reused === 0 && s.metrics?.sum === w.units;
    if (!ok) throw new Error(`dapt run ${run.workflowId}: fan-out did not run ${w.units} fresh tasks: ${JSON.stringify(s)}`);
  }
  return { ms, workflowId: run.workflowId };
}

async function runBaseline(b: Bench, w: Workload, plan: Plan, runId: string, skipPrepare = false): Promise<Measured> {
  const t0 = performance.now();
  if (w.name === 'A') {
    const res = await runBaselineDag(b.client, plan, runId, { skipPrepare });
    const ms = performance.now() - t0;
    if (res.stages !== w.units) throw new Error(`baseline run ${res.workflowId} ran ${res.stages} stages, not ${w.units}`);
    return { ms, workflowId: res.workflowId };
  }
  const res = await runBaselineFanout(b.client, plan, runId);
  const ms = performance.now() - t0;
  if (res.count !== w.units || res.reused !== 0 || res.metrics.sum !== w.units) {
    throw new Error(`baseline run ${res.workflowId}: fan-out did not run ${w.units} fresh tasks: ${JSON.stringify(res)}`);
  }
  return { ms, workflowId: res.workflowId };
}

/** One way of running a workload. The two compared ones, plus diagnostic variants for `--explain`. */
interface Variant {
  id: string;
  description: string;
  workloads: WorkloadName[];
  explain: boolean;
  run(b: Bench, w: Workload, plan: Plan, runId: string): Promise<Measured>;
}

const VARIANTS: Variant[] = [
  { id: 'dapt', description: 'dapt', workloads: ['A', 'B'], explain: false, run: (b, w, p, r) => runDapt(b, w, p, r) },
  { id: 'baseline', description: 'baseline', workloads: ['A', 'B'], explain: false, run: (b, w, p, r) => runBaseline(b, w, p, r) },
  {
    id: 'dapt-1batch',
    description: 'dapt, all tasks in one fan-out child workflow (fanoutBatchSize = tasks)',
    workloads: ['B'],
    explain: true,
    run: (b, w, p, r) => runDapt(b, w, p, r, w.units),
  },
  {
    id: 'baseline-noprep',
    description: 'baseline without prepareStage (cache keys computed up front: one activity per stage)',
    workloads: ['A'],
    explain: true,
    run: (b, w, p, r) => runBaseline(b, w, p, r, true),
  },
];

let runCounter = 0;

async function runOnce(b: Bench, v: Variant, w: Workload, label: string): Promise<Measured> {
  const runId = `${label}-${v.id}-${++runCounter}`;
  const plan = w.plan(runId);
  await assertFreshLedger(b.store, plan, runId);
  const m = await v.run(b, w, plan, runId);
  console.log(`  ${w.name} ${v.id.padEnd(15)} ${label.padEnd(7)} ${m.ms.toFixed(0).padStart(6)} ms`);
  return m;
}

function firstLine(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: 'utf8' }).split('\n')[0].trim();
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

async function environment(opts: Options): Promise<Environment> {
  const bins = await ensureBinaries();
  const stamp = (tool: string) => {
    try {
      return fs.readFileSync(path.join(path.dirname(bins.temporal), `${tool}.version`), 'utf8').trim();
    } catch {
      return 'unknown pin';
    }
  };
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return {
    date: new Date().toISOString(),
    command: `npm run bench:engine -- ${opts.smoke ? '--smoke' : `--reps ${opts.reps} --slots ${opts.slots}${opts.explain ? ' --explain' : ''}`}`,
    machine: `${os.availableParallelism()} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}`,
    node: process.version,
    temporal: firstLine(bins.temporal, ['--version']),
    minio: `${stamp('minio')} (${firstLine(bins.minio, ['--version'])})`,
    reps: opts.reps,
    slots: opts.slots,
    smoke: opts.smoke,
  };
}

async function main(): Promise<void> {
  const opts = parseOptions();
  process.env.DAPT_LOG_LEVEL ??= 'ERROR'; // the SDK's "no workflows registered" notices are expected here
  const env = await environment(opts);
  console.log(`machine: ${env.machine}; node ${env.node}`);
  console.log(`temporal: ${env.temporal}; minio: ${env.minio}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-'));
  let stack: BenchStack | undefined;
  let dapt: RunningWorkers | undefined;
  let baseline: BaselineWorkers | undefined;
  try {
    stack = await startBenchStack(dir, { bucket: 'bench', queuePrefix: 'dapt-' });
    const { client, config } = stack;
    // dapt's workers first: startWorkers installs the SDK runtime, which must happen before any other Worker.
    dapt = await startWorkers({ config, queues: ['cpu'], concurrency: opts.slots, log: () => {} });
    baseline = await startBaselineWorkers(config, opts.slots);
    const b: Bench = { client, config, store: new ArtifactStore(config.store) };

    const workloads = opts.smoke ? [dagWorkload(dir, 2, 3), fanoutWorkload(dir, 12)] : [dagWorkload(dir), fanoutWorkload(dir)];
    const variants = VARIANTS.filter((v) => opts.explain || !v.explain);
    const rotation = workloads.flatMap((w) => variants.filter((v) => v.workloads.includes(w.name)).map((v) => ({ w, v })));
    const times = new Map<string, Measured[]>();
    const key = (w: Workload, v: Variant) => `${w.name}:${v.id}`;
    const timesOf = (w: Workload, id: string) => times.get(`${w.name}:${id}`) ?? [];

    if (!opts.smoke) {
      console.log('warm-up');
      for (const { w, v } of rotation) await runOnce(b, v, w, 'warmup');
    }
    console.log(`measured (${opts.reps} repetitions, interleaved, alternating the order of the variants)`);
    for (let rep = 0; rep < opts.reps; rep++) {
      for (const w of workloads) {
        const mine = rotation.filter((x) => x.w === w);
        for (const { v } of rep % 2 === 0 ? mine : [...mine].reverse()) {
          const m = await runOnce(b, v, w, `rep${rep + 1}`);
          times.set(key(w, v), [...(times.get(key(w, v)) ?? []), m]);
        }
      }
    }

    const row = (w: Workload, id: string, label: string): ResultRow => ({
      workload: label,
      unit: w.unit,
      units: w.units,
      daptMs: median(timesOf(w, id).map((m) => m.ms)),
      baselineMs: median(timesOf(w, 'baseline').map((m) => m.ms)),
      runs: { dapt: timesOf(w, id).map((m) => m.ms), baseline: timesOf(w, 'baseline').map((m) => m.ms) },
    });
    const rows = workloads.map((w) => row(w, 'dapt', `${w.name}: ${w.title}`));
    const explainRows = rotation.filter(({ v }) => v.explain).map(({ w, v }) => row(w, v.id, `${w.name}: ${v.description}`));

    const traces: { label: string; summary: TraceSummary }[] = [];
    if (opts.trace) {
      // The last measured run of each: where the time went, from Temporal's histories.
      for (const { w, v } of rotation) {
        const m = timesOf(w, v.id).at(-1)!;
        traces.push({ label: `${w.name} ${v.id}`, summary: summarize(await traceRun(client, m.workflowId), m.ms) });
      }
    }

    const report = renderReport(env, rows, explainRows, TARGET_RATIO, traces);
    console.log(`\n${report}`);
    if (opts.writeDocs) {
      writeDocsSection(opts.writeDocs, report);
      console.log(`results written to ${opts.writeDocs}`);
    }
  } finally {
    await baseline?.shutdown().catch((e) => console.error('baseline workers:', e));
    await dapt?.shutdown().catch((e) => console.error('dapt workers:', e));
    await stack?.stop();
    if (!process.env.DAPT_KEEP_BENCH_DIR) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
