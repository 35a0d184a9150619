/**
 * How big a run's Temporal histories get, measured: the numbers behind "Scaling limits of one run" in
 * docs/operations.md. Runs, on a private dev server and MinIO with in-process workers:
 *
 *   - a chain-free DAG of `--stages` no-op stages (levels of 10, each stage needing the whole previous level);
 *   - one no-op fan-out stage of `--tasks` tasks (batches of 200, the default);
 *
 * then reads every history of each run (the run and its fan-out batch child workflows) and prints events and
 * encoded bytes per history, per stage, per batch and per task, and what they extrapolate to against Temporal's
 * default per-history limits (warning at 10,240 events / 10 MB, failure at 51,200 events / 50 MB).
 *
 * Run: node --import tsx bench/history-limits.ts [--stages 100] [--tasks 2000]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { connectClient, startRun, waitForRun } from '../client/runs';
import { ensureBinaries, startMinio, startTemporal, type MinioServer, type TemporalServer } from '../infra/servers';
import { compilePipeline, formatIssues, type Plan } from '../schemas';
import { loadConfig, type DaptConfig } from '../config';
import { startWorkers, type RunningWorkers } from '../worker/worker';

const WARN_EVENTS = 10_240;
const FAIL_EVENTS = 51_200;
const WARN_BYTES = 10 * 1024 * 1024;
const BATCH = 200; // workflows/pipeline.ts DEFAULT_BATCH

interface HistoryStat {
  workflowId: string;
  events: number;
  bytes: number;
}

function plan(spec: unknown): Plan {
  const res = compilePipeline(spec);
  if (!res.ok) throw new Error(formatIssues('<bench spec>', res.issues));
  return res.plan;
}

function dagSpec(name: string, stages: number): unknown {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < stages; i++) {
    const level = Math.floor(i / 10);
    const needs = level === 0 ? [] : Array.from({ length: Math.min(10, stages - (level - 1) * 10) }, (_, j) => `s${(level - 1) * 10 + j}`);
    out[`s${i}`] = { uses: 'noop', cache: false, ...(needs.length ? { needs } : {}) };
  }
  return { name, stages: out };
}

async function histories(client: Client, workflowId: string): Promise<HistoryStat[]> {
  const stat = async (id: string): Promise<HistoryStat> => {
    const h = await client.workflow.getHandle(id).fetchHistory();
    return { workflowId: id, events: h.events?.length ?? 0, bytes: temporal.api.history.v1.History.encode(h).finish().length };
  };
  const out = [await stat(workflowId)];
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${workflowId}--"` })) out.push(await stat(wf.workflowId));
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { stages: { type: 'string', default: '100' }, tasks: { type: 'string', default: '2000' } } });
  const stages = Number(values.stages);
  const tasks = Number(values.tasks);
  if (!Number.isInteger(stages) || stages < 10 || !Number.isInteger(tasks) || tasks < BATCH) {
    throw new Error(`--stages must be an integer >= 10 and --tasks an integer >= ${BATCH}`);
  }
  await ensureBinaries();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-history-'));
  let server: TemporalServer | undefined;
  let minio: MinioServer | undefined;
  let workers: RunningWorkers | undefined;
  try {
    [server, minio] = await Promise.all([
      startTemporal({ logFile: path.join(dir, 'temporal.log'), uiPort: false }),
      startMinio({ dataDir: path.join(dir, 'minio'), logFile: path.join(dir, 'minio.log') }),
    ]);
    const config: DaptConfig = loadConfig(
      {
        temporal: { address: server.address, namespace: server.namespace },
        store: { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: 'history' },
      },
      {},
    );
    const client = await connectClient(config);
    workers = await startWorkers({ config, queues: ['cpu'], concurrency: 64, log: () => {} });

    const run = async (p: Plan) => {
      const r = await startRun(client, config, p);
      const res = await waitForRun(client, r.workflowId);
      if (!res.ok) throw new Error(`${p.name} failed: ${res.error}`);
      return histories(client, r.workflowId);
    };
    const dag = await run(plan(dagSpec('history-dag', stages)));
    const fan = await run(plan({ name: 'history-fanout', stages: { wide: { uses: 'noop', cache: false, concurrency: 64, with: { tasks } } } }));

    const [dagRun] = dag;
    const [fanRun, ...batches] = fan;
    const batchEvents = batches.map((b) => b.events);
    const perStage = dagRun.events / stages;
    const perStageBytes = dagRun.bytes / stages;
    // The fan-out run's own history: its one stage's fixed cost plus a few events per batch child.
    const perBatchParent = (fanRun.events - perStage) / batches.length;
    const perTask = batches.reduce((s, b) => s + b.events, 0) / tasks;
    const maxBatch = batches.reduce((m, b) => (b.events > m.events ? b : m));
    const tasksAtWarn = Math.floor((WARN_EVENTS - perStage) / perBatchParent) * BATCH;
    const tasksAtFail = Math.floor((FAIL_EVENTS - perStage) / perBatchParent) * BATCH;
    const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 1 });

    console.log(`\n| measured (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores) | value |`);
    console.log('| --- | --- |');
    console.log(`| DAG of ${stages} no-op stages: run history | ${fmt(dagRun.events)} events, ${fmt(dagRun.bytes / 1024)} KiB |`);
    console.log(`| per stage | ${fmt(perStage)} events, ${fmt(perStageBytes)} bytes |`);
    console.log(`| stages per run at the ${fmt(WARN_EVENTS)}-event warning | ≈ ${fmt(Math.floor(WARN_EVENTS / perStage))} (bytes: ≈ ${fmt(Math.floor(WARN_BYTES / perStageBytes))}) |`);
    console.log(`| fan-out of ${fmt(tasks)} tasks: run history | ${fmt(fanRun.events)} events, ${fmt(fanRun.bytes / 1024)} KiB, ${batches.length} batch children |`);
    console.log(`| run-history events per batch of ${BATCH} | ${fmt(perBatchParent)} |`);
    console.log(`| batch child history | ${fmt(Math.min(...batchEvents))}–${fmt(Math.max(...batchEvents))} events, at most ${fmt(maxBatch.bytes / 1024)} KiB |`);
    console.log(`| child-history events per task | ${fmt(perTask)} |`);
    console.log(`| tasks per fan-out stage at the warning / the failure limit | ≈ ${fmt(tasksAtWarn)} / ≈ ${fmt(tasksAtFail)} |`);
  } finally {
    await workers?.shutdown();
    await Promise.all([server?.stop(), minio?.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
