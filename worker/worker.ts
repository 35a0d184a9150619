/**
 * A dapt worker process: the pipeline workflows and engine bookkeeping on the workflow queue, and stage
 * activities on each resource queue it serves (cpu, gpu, gpu-<class>). Activity slots per queue are bounded; a
 * GPU queue has one slot per visible GPU and each attempt leases its GPUs from one pool shared by all the GPU
 * queues of the process (several GPU classes on one machine never hand out the same device twice).
 */
import os from 'node:os';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/runtime';
import { ArtifactStore, StoreUnavailableError } from '../activities/store';
import { freePort } from '../infra/process';
import { isGpuQueue } from '../schemas/common';
import { workflowBundle } from './bundle';
import { temporalConnectOptions, workflowQueue, type DaptConfig } from '../config';
import { connectionError } from './errors';
import { GpuPool, visibleGpuIds, visibleGpus } from '../activities/gpus';
import { WorkerMetrics } from './metrics';

export { visibleGpus };

export interface WorkerOptions {
  config: DaptConfig;
  /** Logical resource queues to serve; the workflow queue is always served unless `workflows` is false. */
  queues: string[];
  /** Activity slots per queue; gpu defaults to the number of visible GPUs (1 when running on CPU). */
  concurrency?: number;
  workflows?: boolean;
  /** Signals on which the SDK shuts the workers down (only the first workers of a process set it). */
  shutdownSignals?: NodeJS.Signals[];
  log?: (msg: string) => void;
  /** Serve Prometheus metrics on this port (0: any free port); undefined: no endpoint. */
  metricsPort?: number;
  /** Interface of the metrics endpoint (default 0.0.0.0: scraped from other machines). */
  metricsHost?: string;
  /** GPU ids to hand out on GPU queues (default: CUDA_VISIBLE_DEVICES, else /dev/nvidiaN). */
  gpus?: string[];
}

export interface RunningWorkers {
  queues: string[];
  /** The GPUs its GPU queues hand out (one slot each); absent without GPU queues. */
  gpus?: string[];
  /** The metrics endpoint, when one was asked for. */
  metrics?: { port: number; url: string };
  /** Resolves when every worker has stopped (after shutdown()). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

let runtimeInstalled = false;

export async function startWorkers(opts: WorkerOptions): Promise<RunningWorkers> {
  const { config } = opts;
  const log = opts.log ?? ((m: string) => console.error(m));
  // The SDK core's own metrics need the runtime installed with an exporter: only the first workers of a process can.
  let coreMetricsUrl: string | undefined;
  if (!runtimeInstalled && opts.metricsPort !== undefined) coreMetricsUrl = `http://127.0.0.1:${await freePort()}/metrics`;
  if (!runtimeInstalled) {
    // Quiet the core SDK's own logging; dapt reports what matters itself.
    const level = (process.env.DAPT_LOG_LEVEL ?? 'WARN') as 'WARN';
    Runtime.install({
      // Default: SIGINT/SIGTERM shut the workers down gracefully. A process that handles them itself (dapt demo
      // cancels its run first, which needs the workers alive) passes [].
      ...(opts.shutdownSignals ? { shutdownSignals: opts.shutdownSignals } : {}),
      logger: new DefaultLogger(level, (entry) => {
        // Activity-only workers are normal here (they serve resource queues), not worth a warning.
        if (entry.message.startsWith('No workflows registered')) return;
        const meta = entry.meta && Object.keys(entry.meta).length ? ` ${JSON.stringify(entry.meta)}` : '';
        console.error(`${new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString()} [${entry.level}] ${entry.message}${meta}`);
      }),
      // Core's benign "task not found" races after a shutdown or cancellation are not worth a user's attention.
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }) },
        ...(coreMetricsUrl ? { metrics: { prometheus: { bindAddress: new URL(coreMetricsUrl).host } } } : {}),
      },
    });
    runtimeInstalled = true;
  }
  const connection = await NativeConnection.connect(temporalConnectOptions(config)).catch((e) => {
    throw connectionError('Temporal', config.temporal.address, e);
  });
  const store = new ArtifactStore(config.store);
  await store.ensureBucket().catch((e) => {
    throw e instanceof StoreUnavailableError ? connectionError('MinIO', config.store.endpoint, e) : e;
  });
  const activities = createActivities({ store, log });
  const gpuQueues = opts.queues.filter(isGpuQueue);
  const pool = gpuQueues.length ? new GpuPool(opts.gpus ?? visibleGpuIds()) : undefined;
  // GPU queues get the same activities with the GPU pool: each attempt is pinned to the GPUs it leases.
  const gpuActivities = pool ? createActivities({ store, log, gpus: pool }) : activities;
  const metrics = opts.metricsPort !== undefined ? new WorkerMetrics(pool) : undefined;
  const interceptors = metrics ? { activity: [metrics.interceptor()] } : undefined;

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
        interceptors,
      }),
    });
    metrics?.queue(workflowQueue(config), 50);
  }
  for (const q of opts.queues) {
    const slots = opts.concurrency ?? defaultSlots(q, pool, log);
    metrics?.queue(config.queuePrefix + q, slots);
    workers.push({
      queue: config.queuePrefix + q,
      worker: await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.queuePrefix + q,
        activities: isGpuQueue(q) ? gpuActivities : activities,
        maxConcurrentActivityTaskExecutions: slots,
        interceptors,
        // On SIGTERM running stages get this long to finish before they are cancelled (and checkpoint).
        shutdownGraceTime: '10s',
        // Progress, checkpoint acknowledgements and cancellation travel with heartbeats: send them often.
        maxHeartbeatThrottleInterval: '5s',
      }),
    });
  }
  const endpoint = metrics ? await metrics.serve(opts.metricsPort!, opts.metricsHost, coreMetricsUrl) : undefined;
  const done = Promise.all(workers.map((w) => w.worker.run())).then(async () => {
    await endpoint?.close();
    await connection.close();
  });
  let stopping: Promise<void> | undefined;
  return {
    queues: workers.map((w) => w.queue),
    ...(pool ? { gpus: [...pool.ids] } : {}),
    ...(endpoint ? { metrics: { port: endpoint.port, url: endpoint.url } } : {}),
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

/** A GPU queue: one slot per GPU of the pool (1 when there is none: its stages run on CPU). */
function defaultSlots(queue: string, pool: GpuPool | undefined, log: (m: string) => void): number {
  if (isGpuQueue(queue)) {
    const gpus = pool?.total ?? 0;
    if (gpus === 0) log(`queue ${queue}: no GPU visible, running its stages on CPU with 1 slot`);
    return Math.max(1, gpus);
  }
  return Math.max(2, os.availableParallelism());
}
