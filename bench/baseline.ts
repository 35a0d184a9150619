/**
 * Runs the baseline workflows (bench/baseline-workflows.ts) with the same worker topology as dapt's
 * startWorkers: one worker on a workflow queue that hosts the workflows and the control activities
 * (50 activity slots), one on a stage queue with `slots` activity slots; the same createActivities.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker } from '@temporalio/worker';
import workflowPackage from '@temporalio/workflow/package.json';
import { cacheDir } from '../infra/servers';
import { stageCacheKey } from '../activities/cache-key';
import { createActivities } from '../activities/runtime';
import { ArtifactStore } from '../activities/store';
import type { Plan } from '../schemas/plan';
import type { DaptConfig } from '../config';
import type {
  BaselineFanoutResult,
  BaselineQueues,
  baselineDagWorkflow,
  baselineFanoutWorkflow,
} from './baseline-workflows';

export const BASELINE_QUEUES: BaselineQueues = { control: 'baseline-pipelines', stage: 'baseline-cpu' };

export interface BaselineWorkers {
  shutdown(): Promise<void>;
}

/**
 * The baseline workflows' bundle, cached on disk by a hash of the sources it is built from (as worker/bundle.ts
 * caches dapt's): webpack takes several seconds, which the smoke run would pay every time.
 */
async function baselineBundle(): Promise<string> {
  const root = path.resolve(__dirname, '..');
  const h = createHash('sha256').update(workflowPackage.version);
  const walk = (p: string) => {
    if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p).sort()) walk(path.join(p, e));
    else if (p.endsWith('.ts')) h.update(p).update(fs.readFileSync(p));
  };
  ['bench/baseline-workflows.ts', 'workflows', 'schemas'].forEach((p) => walk(path.join(root, p)));
  const file = path.join(cacheDir(), 'bundles', `bench-baseline-${h.digest('hex').slice(0, 16)}.js`);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8');
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(__dirname, 'baseline-workflows.ts'),
    logger: { info() {}, warn() {}, error: console.error, debug() {}, trace() {}, log() {} },
  });
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, code);
  fs.renameSync(tmp, file);
  return code;
}

/** Bundles the baseline workflows (or reads the cached bundle) and starts its two workers. */
export async function startBaselineWorkers(config: DaptConfig, slots: number): Promise<BaselineWorkers> {
  const code = await baselineBundle();
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const store = new ArtifactStore(config.store);
  await store.ensureBucket();
  const activities = createActivities({ store, log: () => {} });
  const common = { connection, namespace: config.temporal.namespace, activities };
  const workers = [
    await Worker.create({ ...common, taskQueue: BASELINE_QUEUES.control, workflowBundle: { code }, maxConcurrentActivityTaskExecutions: 50 }),
    await Worker.create({ ...common, taskQueue: BASELINE_QUEUES.stage, maxConcurrentActivityTaskExecutions: slots }),
  ];
  const done = Promise.all(workers.map((w) => w.run())).then(() => connection.close());
  return {
    async shutdown() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await done;
    },
  };
}

export async function runBaselineDag(
  client: Client,
  plan: Plan,
  runId: string,
  opts: { skipPrepare?: boolean } = {},
): Promise<{ workflowId: string; stages: number }> {
  const workflowId = `baseline-${plan.name}-${runId}`;
  const levels = plan.levels.map((names) => names.map((n) => plan.stages[n]));
  let cacheKeys: Record<string, string> | undefined;
  if (opts.skipPrepare) {
    // The keys prepareStage would compute: known up front only when no stage passes an artifact on and no
    // stage kind fingerprints its inputs (noop does not).
    if (Object.values(plan.stages).some((s) => s.kind !== 'noop' || s.produces !== 'none' || s.cache)) {
      throw new Error('skipPrepare needs a plan of uncached noop stages that produce no artifacts');
    }
    cacheKeys = Object.fromEntries(
      Object.values(plan.stages).map((stage) => [stage.name, stageCacheKey({ pipeline: plan.name, runId, stage, inputs: [], noCache: false }, undefined)]),
    );
  }
  const res = await client.workflow.execute<typeof baselineDagWorkflow>('baselineDagWorkflow', {
    workflowId,
    taskQueue: BASELINE_QUEUES.control,
    args: [{ pipeline: plan.name, runId, levels, queues: BASELINE_QUEUES, cacheKeys }],
  });
  return { workflowId, ...res };
}

export async function runBaselineFanout(
  client: Client,
  plan: Plan,
  runId: string,
): Promise<{ workflowId: string } & BaselineFanoutResult> {
  const workflowId = `baseline-${plan.name}-${runId}`;
  const stages = Object.values(plan.stages);
  if (stages.length !== 1 || stages[0].mode !== 'fanout') throw new Error(`plan ${plan.name} is not a single fan-out stage`);
  const res = await client.workflow.execute<typeof baselineFanoutWorkflow>('baselineFanoutWorkflow', {
    workflowId,
    taskQueue: BASELINE_QUEUES.control,
    args: [{ pipeline: plan.name, runId, stage: stages[0], queues: BASELINE_QUEUES }],
  });
  return { workflowId, ...res };
}
