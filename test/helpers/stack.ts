/**
 * A private, real Temporal dev server and MinIO server (or a distributed MinIO cluster) per test file, on free
 * loopback ports, plus helpers to run workers, in-process or as `dapt worker` processes, on a queue prefix of
 * their own. Torn down in `after`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ArtifactStore } from '../../activities/store';
import { connectClient } from '../../client/runs';
import { startWorkerProcess, type WorkerProcess } from '../../infra/worker-process';
import { startMinio, startMinioCluster, startTemporal, type MinioCluster, type MinioServer, type TemporalServer } from '../../infra/servers';
import { loadConfig, type DaptConfig } from '../../config';
import { startWorkers, type RunningWorkers } from '../../worker/worker';
import { tempDir } from './tmp';

export interface StackOptions {
  /** Run MinIO in distributed mode with this many single-drive nodes (≥ 4) instead of one server. */
  minioNodes?: number;
}

export type { WorkerProcess };

export interface Stack {
  dir: string;
  temporal: TemporalServer;
  /** The MinIO server the configs point at: node 0 of the cluster in distributed mode. */
  minio: MinioServer;
  /** Set in distributed mode. */
  minioCluster?: MinioCluster;
  client: Client;
  /** A config with its own queue prefix and bucket, so tests in one file do not see each other's tasks. */
  config(name: string): DaptConfig;
  workers(config: DaptConfig, queues?: string[], concurrency?: number): Promise<RunningWorkers>;
  /** `dapt worker --queue …` as a separate process with the config in its environment; resolves once it polls. */
  workerProcess(config: DaptConfig, queues: string[], opts?: { concurrency?: number; workflows?: boolean; name?: string }): Promise<WorkerProcess>;
  store(config: DaptConfig): ArtifactStore;
  stop(): Promise<void>;
}

export async function startStack(label: string, opts: StackOptions = {}): Promise<Stack> {
  const dir = tempDir(label);
  const [temporal, minioCluster] = await Promise.all([
    startTemporal({ logFile: path.join(dir, 'temporal.log'), uiPort: false }),
    opts.minioNodes
      ? startMinioCluster({ nodes: opts.minioNodes, dataDir: path.join(dir, 'minio'), logDir: dir })
      : startMinio({ dataDir: path.join(dir, 'minio'), logFile: path.join(dir, 'minio.log') }).then(
          (m): MinioCluster => ({ nodes: [m], endpoints: [m.endpoint], accessKey: m.accessKey, secretKey: m.secretKey, stop: m.stop }),
        ),
  ]);
  const minio = minioCluster.nodes[0];
  const base = loadConfig(
    {
      temporal: { address: temporal.address, namespace: temporal.namespace },
      store: { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: 'dapt' },
    },
    {},
  );
  const client = await connectClient(base);
  const running: RunningWorkers[] = [];
  const processes: WorkerProcess[] = [];
  return {
    dir,
    temporal,
    minio,
    minioCluster: opts.minioNodes ? minioCluster : undefined,
    client,
    config: (name) => ({ ...base, queuePrefix: `${name}-`, store: { ...base.store, bucket: `t-${name}`.toLowerCase() } }),
    async workers(config, queues = ['cpu', 'gpu'], concurrency) {
      const w = await startWorkers({ config, queues, concurrency, log: () => {} });
      running.push(w);
      return w;
    },
    async workerProcess(config, queues, o = {}) {
      const w = await spawnWorkerProcess(dir, config, queues, o);
      processes.push(w);
      return w;
    },
    store: (config) => new ArtifactStore(config.store),
    async stop() {
      await Promise.all([...processes.map((p) => p.stop()), ...running.map((w) => w.shutdown())]);
      await client.connection.close();
      await Promise.all([temporal.stop(), minioCluster.stop()]);
      if (!process.env.DAPT_KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

let workerCount = 0;

function spawnWorkerProcess(
  dir: string,
  config: DaptConfig,
  queues: string[],
  o: { concurrency?: number; workflows?: boolean; name?: string },
): Promise<WorkerProcess> {
  const logFile = path.join(dir, `worker-${o.name ?? ++workerCount}.log`);
  return startWorkerProcess({ config, queues, logFile, concurrency: o.concurrency, workflows: o.workflows });
}
