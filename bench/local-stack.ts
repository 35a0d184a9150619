/**
 * The servers a benchmark runs against: a Temporal dev server and a MinIO of its own under `dir`, on loopback
 * ports, and a client — what every engine benchmark starts before its workers, and stops at the end.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { connectClient } from '../client/runs';
import { loadConfig, type DaptConfig } from '../config';
import { startMinio, startTemporal, type MinioServer, type TemporalServer } from '../infra/servers';

export interface BenchStack {
  config: DaptConfig;
  client: Client;
  temporal: TemporalServer;
  minio: MinioServer;
  /** Closes the client and stops both servers (errors are printed, not thrown: a benchmark's own error matters more). */
  stop(): Promise<void>;
}

export async function startBenchStack(dir: string, o: { bucket: string; queuePrefix?: string }): Promise<BenchStack> {
  const [t, m] = await Promise.allSettled([
    startTemporal({ logFile: path.join(dir, 'temporal.log'), uiPort: false }),
    startMinio({ dataDir: path.join(dir, 'minio'), logFile: path.join(dir, 'minio.log') }),
  ]);
  const servers = [t, m].flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopServers = () => Promise.all(servers.map((s) => s.stop())).then(() => undefined, (e: unknown) => console.error('servers:', e));
  if (t.status === 'rejected' || m.status === 'rejected') {
    await stopServers();
    throw t.status === 'rejected' ? t.reason : (m as PromiseRejectedResult).reason;
  }
  const [temporal, minio] = [t.value, m.value];
  const config = loadConfig(
    {
      temporal: { address: temporal.address, namespace: temporal.namespace },
      store: { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: o.bucket },
      ...(o.queuePrefix ? { queuePrefix: o.queuePrefix } : {}),
    },
    {},
  );
  let client: Client;
  try {
    client = await connectClient(config);
  } catch (e) {
    await stopServers();
    throw e;
  }
  return {
    config,
    client,
    temporal,
    minio,
    stop: async () => {
      await client.connection.close().catch(() => {});
      await stopServers();
    },
  };
}
