/** Configuration profiles: layering (defaults → profiles file → env → flags), credentials from env/files, errors that name their source. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CONFIG_ENV, configEnv, loadConfig, ProfileError, temporalConnectOptions } from '../config';
import { tempDir } from './helpers/tmp';

const dir = tempDir('config');
const file = (name: string, text = `-----BEGIN ${name}-----\n`) => {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
};
const problems = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProfileError, `expected a ProfileError, got ${String(e)}`);
    return e.message;
  }
  return assert.fail('expected a configuration error');
};

test('local is the embedded default: the dev stack, overridable by env and flags', () => {
  const cfg = loadConfig({}, {});
  assert.equal(cfg.profile.name, 'local');
  assert.equal(cfg.temporal.address, '127.0.0.1:7233');
  assert.equal(cfg.store.endpoint, 'http://127.0.0.1:9000');
  assert.equal(cfg.store.bucket, 'dapt');
  assert.equal(cfg.temporal.tls, undefined);
  const env = loadConfig({ store: { bucket: 'flagged' } }, { DAPT_TEMPORAL_ADDRESS: 'h:1', DAPT_BUCKET: 'from-env', DAPT_S3_PREFIX: 'nlp/' });
  assert.equal(env.temporal.address, 'h:1');
  assert.equal(env.store.bucket, 'flagged', 'flags win over the environment');
  assert.equal(env.store.prefix, 'nlp/');
});

test('cluster from the environment alone: mTLS files, credentials from mounted files, a round trip through configEnv', () => {
  const env = {
    DAPT_PROFILE: 'cluster',
    DAPT_TEMPORAL_ADDRESS: 'temporal.ml.svc:7233',
    DAPT_NAMESPACE: 'nlp',
    DAPT_TEMPORAL_TLS_CA_FILE: file('tls/ca.pem'),
    DAPT_TEMPORAL_TLS_CERT_FILE: file('tls/client.pem'),
    DAPT_TEMPORAL_TLS_KEY_FILE: file('tls/client.key'),
    DAPT_TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    DAPT_S3_ENDPOINT: 'https://minio.ml.svc',
    DAPT_S3_CA_FILE: file('tls/minio-ca.pem'),
    DAPT_S3_ACCESS_KEY_FILE: file('secrets/access', 'team-nlp\n'),
    DAPT_S3_SECRET_KEY_FILE: file('secrets/secret', 's3cr3t-value\n'),
    DAPT_BUCKET: 'ml-artifacts',
    DAPT_S3_PREFIX: 'nlp/',
  };
  const cfg = loadConfig({}, env);
  assert.equal(cfg.profile.name, 'cluster');
  assert.deepEqual(cfg.temporal, {
    address: 'temporal.ml.svc:7233',
    namespace: 'nlp',
    tls: { caFile: env.DAPT_TEMPORAL_TLS_CA_FILE, certFile: env.DAPT_TEMPORAL_TLS_CERT_FILE, keyFile: env.DAPT_TEMPORAL_TLS_KEY_FILE, serverName: 'temporal.internal' },
  });
  assert.equal(cfg.store.accessKey, 'team-nlp', 'the trailing newline of a mounted secret is not part of it');
  assert.equal(cfg.store.secretKey, 's3cr3t-value');
  assert.equal(cfg.store.caFile, env.DAPT_S3_CA_FILE);
  const conn = temporalConnectOptions(cfg);
  assert.equal(conn.tls?.serverNameOverride, 'temporal.internal');
  assert.equal(conn.tls?.clientCertPair?.crt.toString(), '-----BEGIN tls/client.pem-----\n');
  assert.equal(conn.tls?.serverRootCACertificate?.toString(), '-----BEGIN tls/ca.pem-----\n');
  assert.deepEqual(loadConfig({}, configEnv(cfg)), cfg, 'a child process given configEnv() resolves the same configuration');
  assert.deepEqual(temporalConnectOptions(loadConfig({}, { ...env, DAPT_TEMPORAL_TLS_CERT_FILE: '', DAPT_TEMPORAL_TLS_KEY_FILE: '' })).tls?.clientCertPair, undefined);
});

test('a profiles file: per-team bucket and prefix, cert paths relative to the file, the environment on top', () => {
  const profiles = file(
    'home/profiles.yaml',
    [
      'profiles:',
      '  nlp-prod:',
      '    temporal:',
      '      address: temporal.example.com:7233',
      '      namespace: nlp',
      '      tls: { caFile: certs/ca.pem, certFile: certs/c.pem, keyFile: certs/c.key }',
      '    store: { endpoint: "https://s3.example.com", bucket: ml-shared, prefix: nlp/ }',
      '    queuePrefix: nlp-',
      '  broken:',
      '    temporal: { address: 3 }',
    ].join('\n'),
  );
  for (const f of ['ca.pem', 'c.pem', 'c.key']) file(`home/certs/${f}`);
  const env = { DAPT_PROFILES_FILE: profiles, DAPT_S3_ACCESS_KEY: 'ak', DAPT_S3_SECRET_KEY: 'sk', DAPT_NAMESPACE: 'nlp-staging' };
  const cfg = loadConfig({}, env, { profile: 'nlp-prod' });
  assert.deepEqual(cfg.profile, { name: 'nlp-prod', file: profiles });
  assert.equal(cfg.temporal.tls?.certFile, path.join(dir, 'home/certs/c.pem'));
  assert.equal(cfg.temporal.namespace, 'nlp-staging', 'the environment wins over the file');
  assert.deepEqual([cfg.store.bucket, cfg.store.prefix, cfg.queuePrefix], ['ml-shared', 'nlp/', 'nlp-']);
  assert.equal(loadConfig({}, { ...env, DAPT_PROFILE: 'nlp-prod' }).temporal.address, 'temporal.example.com:7233', 'DAPT_PROFILE selects it too');
  // Another profile's mistake does not break this one; choosing the broken one names the field and line.
  assert.match(problems(() => loadConfig({}, env, { profile: 'broken' })), new RegExp(`${profiles}:10: profiles\\.broken\\.temporal\\.address: .*expected string`));
  assert.match(problems(() => loadConfig({}, env, { profile: 'nope' })), /profile "nope" is not defined: no such profile in .*profiles\.yaml/);
});

test('specific errors: missing TLS files, half an mTLS pair, credentials in the file, unknown fields, unreadable secrets', () => {
  const base = { DAPT_TEMPORAL_ADDRESS: 't:7233', DAPT_S3_ENDPOINT: 'http://m:9000', DAPT_S3_ACCESS_KEY: 'a', DAPT_S3_SECRET_KEY: 'b' };
  const missing = problems(() =>
    loadConfig({}, { ...base, DAPT_TEMPORAL_TLS_CERT_FILE: '/nonexistent/client.pem', DAPT_TEMPORAL_TLS_KEY_FILE: '/nonexistent/client.key' }, { profile: 'cluster' }),
  );
  assert.match(missing, /DAPT_TEMPORAL_TLS_CERT_FILE: temporal\.tls\.certFile: cannot read \/nonexistent\/client\.pem \(no such file\)/);
  assert.match(missing, /DAPT_TEMPORAL_TLS_KEY_FILE: temporal\.tls\.keyFile: cannot read \/nonexistent\/client\.key \(no such file\)/);
  assert.match(
    problems(() => loadConfig({}, { ...base, DAPT_TEMPORAL_TLS_CERT_FILE: file('only.pem') }, { profile: 'cluster' })),
    /DAPT_TEMPORAL_TLS_CERT_FILE: temporal\.tls\.keyFile is missing: mTLS needs both/,
  );
  assert.match(
    problems(() => loadConfig({}, { DAPT_TEMPORAL_ADDRESS: 't:7233' }, { profile: 'cluster' })),
    /profile "cluster": store\.endpoint is not set[\s\S]*store\.secretKey is not set \(DAPT_S3_SECRET_KEY or DAPT_S3_SECRET_KEY_FILE\)/,
  );
  assert.match(problems(() => loadConfig({}, { ...base, DAPT_S3_SECRET_KEY_FILE: '/nonexistent/secret' }, { profile: 'cluster' })), /DAPT_S3_SECRET_KEY_FILE: cannot read \/nonexistent\/secret \(ENOENT\)/);
  assert.match(problems(() => loadConfig({}, { DAPT_TEMPORAL_ADDRESS: 'no-port' })), /^DAPT_TEMPORAL_ADDRESS: temporal\.address: expected host:port, got "no-port"$/);

  const profiles = file(
    'bad/profiles.yaml',
    ['profiles:', '  p:', '    temporal: { address: "t:1", tsl: true }', '    store:', '      endpoint: http://m:9000', '      secretKey: hunter2'].join('\n'),
  );
  const msg = problems(() => loadConfig({}, { DAPT_PROFILES_FILE: profiles }, { profile: 'p' }));
  assert.match(msg, new RegExp(`${profiles}:3: profiles\\.p\\.temporal\\.tsl: unknown field "tsl"`));
  assert.match(msg, new RegExp(`${profiles}:6: profiles\\.p\\.store\\.secretKey: credentials are never read from the profiles file: set DAPT_S3_SECRET_KEY or DAPT_S3_SECRET_KEY_FILE`));
  assert.doesNotMatch(msg, /hunter2/, 'a secret is never echoed');
});

test('dapt doctor with a TLS profile whose cert files are missing: a configuration error (exit 2) naming the variable and file', async () => {
  const bin = path.join(__dirname, '..', 'bin', 'dapt.js');
  const env = {
    ...process.env,
    DAPT_TEMPORAL_ADDRESS: '127.0.0.1:1',
    DAPT_S3_ENDPOINT: 'https://127.0.0.1:1',
    DAPT_S3_ACCESS_KEY: 'a',
    DAPT_S3_SECRET_KEY: 'b',
    DAPT_TEMPORAL_TLS_CERT_FILE: path.join(dir, 'absent/client.pem'),
    DAPT_TEMPORAL_TLS_KEY_FILE: path.join(dir, 'absent/client.key'),
  };
  const r = await promisify(execFile)(process.execPath, [bin, '--profile', 'cluster', 'doctor'], { env }).then(
    () => assert.fail('doctor accepted missing certificate files'),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /configuration error: configuration problems:/);
  assert.match(r.stderr, /DAPT_TEMPORAL_TLS_CERT_FILE: temporal\.tls\.certFile: cannot read .*absent\/client\.pem \(no such file\)/);
});

test('docs/configuration.md lists every variable dapt reads', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'configuration.md'), 'utf8');
  const missing = CONFIG_ENV.filter((v) => !doc.includes(`\`${v.name}\``)).map((v) => v.name);
  assert.deepEqual(missing, []);
});
