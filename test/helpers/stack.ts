/**
 * A private, real Temporal dev server and MinIO server per test file, on free loopback ports, plus helpers to
 * run in-process workers on a queue prefix of their own. Torn down in `after`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ArtifactStore } from '../../activities/store';
import { connectClient } from '../../client/runs';
import { startMinio, startTemporal, type MinioServer, type TemporalServer } from '../../infra/servers';
import { loadConfig, type DaptConfig } from '../../worker/config';
import { startWorkers, type RunningWorkers } from '../../worker/worker';

export interface Stack {
  dir: string;
  temporal: TemporalServer;
  minio: MinioServer;
  client: Client;
  /** A config with its own queue prefix and bucket, so tests in one file do not see each other's tasks. */
  config(name: string): DaptConfig;
  workers(config: DaptConfig, queues?: string[], concurrency?: number): Promise<RunningWorkers>;
  store(config: DaptConfig): ArtifactStore;
  stop(): Promise<void>;
}

export async function startStack(label: string): Promise<Stack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `dapt-${label}-`));
  const [temporal, minio] = await Promise.all([
    startTemporal({ logFile: path.join(dir, 'temporal.log'), uiPort: false }),
    startMinio({ dataDir: path.join(dir, 'minio'), logFile: path.join(dir, 'minio.log') }),
  ]);
  const base = loadConfig(
    {
      temporal: { address: temporal.address, namespace: temporal.namespace },
      store: { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: 'dapt' },
    },
    {},
  );
  const client = await connectClient(base);
  const running: RunningWorkers[] = [];
  return {
    dir,
    temporal,
    minio,
    client,
    config: (name) => ({ ...base, queuePrefix: `${name}-`, store: { ...base.store, bucket: `t-${name}`.toLowerCase() } }),
    async workers(config, queues = ['cpu', 'gpu'], concurrency) {
      const w = await startWorkers({ config, queues, concurrency, log: () => {} });
      running.push(w);
      return w;
    },
    store: (config) => new ArtifactStore(config.store),
    async stop() {
      await Promise.all(running.map((w) => w.shutdown()));
      await client.connection.close();
      await Promise.all([temporal.stop(), minio.stop()]);
      if (!process.env.DAPT_KEEP_TEST_DIRS) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
