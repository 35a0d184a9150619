/**
 * A cluster profile against a real MinIO serving HTTPS with a certificate from a private CA (made here with
 * openssl): credentials from mounted files, the team's bucket and prefix, the CA from DAPT_S3_CA_FILE.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ArtifactStore } from '../activities/store';
import { runDoctor } from '../client/doctor';
import { startMinio, type MinioServer } from '../infra/servers';
import { loadConfig } from '../worker/config';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-tls-'));
let minio: MinioServer;

/** A CA and a server certificate for 127.0.0.1 signed by it, laid out as MinIO's certs dir wants. */
function makeCerts(): { certsDir: string; caFile: string } {
  const certsDir = path.join(dir, 'certs');
  fs.mkdirSync(certsDir);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=dapt test CA');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(certsDir, 'private.key'), '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', path.join(certsDir, 'public.crt'), '-days', '2', '-extfile', 'san.ext');
  return { certsDir, caFile: path.join(dir, 'ca.pem') };
}

before(async () => {
  const tls = makeCerts();
  minio = await startMinio({ dataDir: path.join(dir, 'data'), logFile: path.join(dir, 'minio.log'), accessKey: 'team-nlp', secretKey: 'tls-secret-key', tls });
});
after(async () => {
  await minio?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('cluster profile over HTTPS with a private CA: the store verifies the server, writes under the team prefix; doctor agrees', async () => {
  fs.writeFileSync(path.join(dir, 'access'), 'team-nlp\n');
  fs.writeFileSync(path.join(dir, 'secret'), 'tls-secret-key\n');
  const cfg = loadConfig({}, {
    DAPT_PROFILE: 'cluster',
    DAPT_TEMPORAL_ADDRESS: '127.0.0.1:1',
    DAPT_S3_ENDPOINT: minio.endpoint,
    DAPT_S3_CA_FILE: path.join(dir, 'ca.pem'),
    DAPT_S3_ACCESS_KEY_FILE: path.join(dir, 'access'),
    DAPT_S3_SECRET_KEY_FILE: path.join(dir, 'secret'),
    DAPT_BUCKET: 'ml-shared',
    DAPT_S3_PREFIX: 'nlp/',
  });
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

  const checks = await runDoctor(cfg, { trainer: false });
  const bucket = checks.find((c) => c.name === 'bucket')!;
  assert.equal(bucket.ok, true, bucket.detail);
  assert.match(bucket.detail, /bucket ml-shared prefix nlp\/: exists, write\+read\+delete of a probe object ok/);
  const temporal = checks.find((c) => c.name === 'temporal')!;
  assert.equal(temporal.ok, false);
  assert.match(temporal.detail, /^cannot reach 127\.0\.0\.1:1: /);
});
