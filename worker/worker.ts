/**
 * A dapt worker process: the pipeline workflows and engine bookkeeping on the workflow queue, and stage
 * activities on each resource queue it serves (cpu, gpu, gpu-<class>). Activity slots per queue are bounded.
 */
import os from 'node:os';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/runtime';
import { ArtifactStore, StoreUnavailableError } from '../activities/store';
import { QUEUES } from '../schemas/common';
import { workflowBundle } from './bundle';
import { workflowQueue, type DaptConfig } from './config';
import { connectionError } from './errors';
import { visibleGpus } from './gpus';

export { visibleGpus };

export interface WorkerOptions {
  config: DaptConfig;
  /** Logical resource queues to serve; the workflow queue is always served unless `workflows` is false. */
  queues: string[];
  /** Activity slots per queue; gpu defaults to the number of visible GPUs (1 when running on CPU). */
  concurrency?: number;
  workflows?: boolean;
  log?: (msg: string) => void;
}

export interface RunningWorkers {
  queues: string[];
  /** Resolves when every worker has stopped (after shutdown()). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

let runtimeInstalled = false;

export async function startWorkers(opts: WorkerOptions): Promise<RunningWorkers> {
  const { config } = opts;
  const log = opts.log ?? ((m: string) => console.error(m));
  if (!runtimeInstalled) {
    // Quiet the core SDK's own logging; dapt reports what matters itself.
    const level = (process.env.DAPT_LOG_LEVEL ?? 'WARN') as 'WARN';
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        // Activity-only workers are normal here (they serve resource queues), not worth a warning.
        if (entry.message.startsWith('No workflows registered')) return;
        const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
        console.error(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}${meta}`);
      }),
      // Core's benign "task not found" races after a shutdown or cancellation are not worth a user's attention.
      telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }) } },
    });
    runtimeInstalled = true;
  }
  const connection = await NativeConnection.connect({ address: config.temporal.address }).catch((e) => {
    throw connectionError('Temporal', config.temporal.address, e);
  });
  const store = new ArtifactStore(config.store);
  await store.ensureBucket().catch((e) => {
    throw e instanceof StoreUnavailableError ? connectionError('MinIO', config.store.endpoint, e) : e;
  });
  const activities = createActivities({ store, log });

  const workers: { queue: string; worker: Worker }[] = [];
  if (opts.workflows !== false) {
    workers.push({
      queue: workflowQueue(config),
      worker: await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: workflowQueue(config),
        workflowBundle: await workflowBundle(),
        activities,
        maxConcurrentActivityTaskExecutions: 50,
      }),
    });
  }
  for (const q of opts.queues) {
    const slots = opts.concurrency ?? defaultSlots(q, log);
    workers.push({
      queue: config.queuePrefix + q,
      worker: await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.queuePrefix + q,
        activities,
        maxConcurrentActivityTaskExecutions: slots,
        // On SIGTERM running stages get this long to finish before they are cancelled (and checkpoint).
        shutdownGraceTime: '10s',
        // Progress, checkpoint acknowledgements and cancellation travel with heartbeats: send them often.
        maxHeartbeatThrottleInterval: '5s',
      }),
    });
  }
  const done = Promise.all(workers.map((w) => w.worker.run())).then(async () => {
    await connection.close();
  });
  let stopping: Promise<void> | undefined;
  return {
    queues: workers.map((w) => w.queue),
    done,
    shutdown() {
      stopping ??= (async () => {
        for (const w of workers) if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
        await done;
      })();
      return stopping;
    },
  };
}

function defaultSlots(queue: string, log: (m: string) => void): number {
  if (queue === QUEUES.gpu || queue.startsWith(`${QUEUES.gpu}-`)) {
    const gpus = visibleGpus();
    if (gpus === 0) log(`queue ${queue}: no GPU visible, running its stages on CPU with 1 slot`);
    return Math.max(1, gpus);
  }
  return Math.max(2, os.availableParallelism());
}
