/**
 * Cluster profiles over TLS against real servers, with a private CA made here by openssl: MinIO serving HTTPS
 * (credentials from mounted files, the team's bucket and prefix, DAPT_S3_CA_FILE), and Temporal behind a
 * TLS-terminating front that requires client certificates (mTLS, a server name that differs from the address).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ArtifactStore } from '../activities/store';
import { formatChecks, runDoctor } from '../client/doctor';
import { connectClient, startRun, waitForRun } from '../client/runs';
import { startMinio, startTemporal, type MinioServer, type TemporalServer } from '../infra/servers';
import { loadConfig, type DaptConfig } from '../config';
import { startWorkers } from '../worker/worker';
import { plan } from './helpers/plans';
import { makePki, tlsProxy, type Pki } from './helpers/tls';
import { tempDir } from './helpers/tmp';

const dir = tempDir('tls');
let pki: Pki;
let minio: MinioServer;
let temporal: TemporalServer;
let front: Awaited<ReturnType<typeof tlsProxy>>;

before(async () => {
  pki = makePki(path.join(dir, 'pki'));
  // MinIO wants its certificate as certs/public.crt + certs/private.key.
  const s3 = pki.issue('minio', ['IP:127.0.0.1']);
  const certsDir = path.join(dir, 'minio-certs');
  fs.mkdirSync(certsDir);
  fs.copyFileSync(s3.certFile, path.join(certsDir, 'public.crt'));
  fs.copyFileSync(s3.keyFile, path.join(certsDir, 'private.key'));
  [minio, temporal] = await Promise.all([
    startMinio({
      dataDir: path.join(dir, 'data'),
      logFile: path.join(dir, 'minio.log'),
      accessKey: 'team-nlp',
      secretKey: 'tls-secret-key',
      tls: { certsDir, caFile: pki.caFile },
    }),
    startTemporal({ logFile: path.join(dir, 'temporal.log'), uiPort: false }),
  ]);
  const [host, port] = temporal.address.split(':');
  front = await tlsProxy({ host, port: Number(port) }, pki.issue('temporal-frontend', ['DNS:temporal.internal']), pki.caFile);
});
after(async () => {
  await front?.close();
  await Promise.all([minio?.stop(), temporal?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The cluster profile as the Helm chart sets it: variables only, secrets as mounted files. */
function clusterEnv(extra: Record<string, string> = {}): Record<string, string> {
  fs.writeFileSync(path.join(dir, 'access'), 'team-nlp\n');
  fs.writeFileSync(path.join(dir, 'secret'), 'tls-secret-key\n');
  const client = pki.issue('worker');
  return {
    DAPT_PROFILE: 'cluster',
    DAPT_TEMPORAL_ADDRESS: `127.0.0.1:${front.port}`,
    DAPT_TEMPORAL_TLS_CA_FILE: pki.caFile,
    DAPT_TEMPORAL_TLS_CERT_FILE: client.certFile,
    DAPT_TEMPORAL_TLS_KEY_FILE: client.keyFile,
    DAPT_TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    DAPT_S3_ENDPOINT: minio.endpoint,
    DAPT_S3_CA_FILE: pki.caFile,
    DAPT_S3_ACCESS_KEY_FILE: path.join(dir, 'access'),
    DAPT_S3_SECRET_KEY_FILE: path.join(dir, 'secret'),
    DAPT_BUCKET: 'ml-shared',
    DAPT_S3_PREFIX: 'nlp/',
    DAPT_QUEUE_PREFIX: 'nlp-',
    ...extra,
  };
}

test('S3 over HTTPS with a private CA: the store verifies the server and writes under the team prefix', async () => {
  const cfg = loadConfig({}, clusterEnv());
  assert.match(cfg.store.endpoint, /^https:\/\//);
  const store = new ArtifactStore(cfg.store);
  await store.ensureBucket();
  await store.putJson('hello.json', { team: 'nlp' });
  assert.deepEqual(await store.getJson('hello.json'), { team: 'nlp' });
  const names: string[] = [];
  for await (const o of store.client.listObjectsV2('ml-shared', '', true) as AsyncIterable<{ name: string }>) names.push(o.name);
  assert.deepEqual(names, ['nlp/hello.json'], 'the key lives under the team prefix');
  // The certificate is really checked: without the CA the same store is refused.
  await assert.rejects(new ArtifactStore({ ...cfg.store, caFile: undefined }).getJson('hello.json'), /self[- ]signed|unable to verify|certificate/i);
});

test('Temporal over mTLS: workers and the client run a pipeline through the TLS front; doctor is all ok', async () => {
  const cfg: DaptConfig = loadConfig({}, clusterEnv());
  const workers = await startWorkers({ config: cfg, queues: ['cpu'], log: () => {} });
  const client = await connectClient(cfg);
  try {
    const p = plan({ name: 'over-mtls', stages: { a: { uses: 'noop' }, b: { uses: 'noop', needs: ['a'] } } });
    const res = await waitForRun(client, (await startRun(client, cfg, p, { noCache: true })).workflowId);
    assert.equal(res.ok, true, res.error);
    const checks = await runDoctor(cfg, { queues: ['cpu'], trainer: false });
    assert.deepEqual(checks.filter((c) => !c.ok), [], formatChecks(checks));
    assert.match(checks.find((c) => c.name === 'temporal')!.detail, new RegExp(`^reachable at 127\\.0\\.0\\.1:${front.port}, mTLS`));
    assert.match(checks.find((c) => c.name === 'bucket')!.detail, /bucket ml-shared prefix nlp\/: exists, write\+read\+delete of a probe object ok/);
  } finally {
    await client.connection.close();
    await workers.shutdown();
  }
});

test('Temporal over TLS without a client certificate, or with the wrong server name: doctor names the failure', async () => {
  const noCert = loadConfig({}, clusterEnv({ DAPT_TEMPORAL_TLS_CERT_FILE: '', DAPT_TEMPORAL_TLS_KEY_FILE: '' }));
  assert.equal(noCert.temporal.tls?.certFile, undefined);
  const refused = await runDoctor(noCert, { queues: ['cpu'], trainer: false });
  const t1 = refused.find((c) => c.name === 'temporal')!;
  assert.equal(t1.ok, false, formatChecks(refused));
  assert.match(t1.detail, new RegExp(`^cannot reach 127\\.0\\.0\\.1:${front.port}: `));
  assert.equal(refused.find((c) => c.name === 'bucket')!.ok, true, 'the other checks still run');

  const wrongName = await runDoctor(loadConfig({}, clusterEnv({ DAPT_TEMPORAL_TLS_SERVER_NAME: 'elsewhere.internal' })), { queues: ['cpu'], trainer: false });
  assert.equal(wrongName.find((c) => c.name === 'temporal')!.ok, false, formatChecks(wrongName));
});
