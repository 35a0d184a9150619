import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { modelRefFingerprint } from '../activities/model-stage/staging';
import { taskFilesFingerprint } from '../activities/model-stage/task-data';
import { ArtifactStore } from '../activities/store';
import { startRun, waitForRun } from '../client/runs';
import type { RunStatus } from '../schemas';
import type { DaptConfig } from '../config';
import { plan } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { warcRecord } from './helpers/warc';

let stack: Stack;
before(async () => {
  stack = await startStack('cache');
});
after(async () => {
  await stack?.stop();
});

function states(st: RunStatus): Record<string, string> {
  return Object.fromEntries(Object.entries(st.stages).map(([n, s]) => [n, s.state]));
}

test('stage cache: rerun all cached; a param change reruns that stage and its dependents; --no-cache; a deleted blob is a miss', async () => {
  const cfg = stack.config('cache');
  await stack.workers(cfg, ['cpu']);
  const store = stack.store(cfg);
  const corpus = path.join(stack.dir, 'corpus');
  fs.mkdirSync(corpus);
  // d4 and d5 repeat d0 and d1 up to case: duplicates only when dedupe lowercases.
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(corpus, `d${i}.txt`), `${i < 4 ? 'document' : 'DOCUMENT'} number ${i % 4} about leases\n`);
  const spec = (lowercase: boolean) => ({
    name: 'cachey',
    stages: {
      src: { uses: 'source', with: { paths: [corpus], shardSize: 4 } },
      dedupe: { uses: 'dedupe', needs: ['src'], with: { normalize: { lowercase } } },
      tail: { uses: 'noop', needs: ['dedupe'] },
      side: { uses: 'noop', cache: false },
    },
  });
  const go = async (p: ReturnType<typeof plan>, noCache = false) => {
    const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p, { noCache })).workflowId);
    assert.equal(res.ok, true, res.error);
    return res.status;
  };

  const first = await go(plan(spec(true)));
  assert.deepEqual(states(first), { src: 'succeeded', dedupe: 'succeeded', tail: 'succeeded', side: 'succeeded' });
  assert.deepEqual(first.stages.dedupe.metrics, { input: 6, kept: 4, duplicates: 2, dupRate: 2 / 6 });

  const second = await go(plan(spec(true)));
  assert.deepEqual(states(second), { src: 'cached', dedupe: 'cached', tail: 'cached', side: 'succeeded' }, '`cache: false` always reruns');
  assert.equal(second.stages.dedupe.digest, first.stages.dedupe.digest);

  const changed = await go(plan(spec(false)));
  assert.deepEqual(states(changed), { src: 'cached', dedupe: 'succeeded', tail: 'succeeded', side: 'succeeded' });
  assert.equal((changed.stages.dedupe.metrics as { kept: number }).kept, 6);

  const forced = await go(plan(spec(true)), true);
  assert.deepEqual(states(forced), { src: 'succeeded', dedupe: 'succeeded', tail: 'succeeded', side: 'succeeded' });
  assert.equal(forced.stages.src.digest, first.stages.src.digest, 'same input, same content digest');

  // Delete one blob of the source output: its cache entry must not be trusted any more.
  const manifest = (await store.readManifest(first.stages.src.digest!))!;
  await store.remove(manifest.files[0].key);
  const healed = await go(plan(spec(true)));
  assert.equal(healed.stages.src.state, 'succeeded', 'a deleted artifact is a cache miss');
  assert.equal(healed.stages.dedupe.state, 'cached', 'same content again: dependents hit');
  assert.equal(await store.statSize(manifest.files[0].key), manifest.files[0].bytes, 'the blob is back');

  // Editing an input file changes the source fingerprint.
  fs.writeFileSync(path.join(corpus, 'd0.txt'), 'a brand new clause\n');
  const edited = await go(plan(spec(true)));
  assert.equal(edited.stages.src.state, 'succeeded');
  assert.equal(edited.stages.dedupe.state, 'succeeded');
});

async function runOk(cfg: DaptConfig, p: ReturnType<typeof plan>): Promise<RunStatus> {
  const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p, {})).workflowId);
  assert.equal(res.ok, true, res.error);
  return res.status;
}

async function objectBytes(store: ArtifactStore, bucket: string, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.client.getObject(bucket, key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

test('stage cache by content: a blob rewritten with other bytes of the same size is a miss; the stage reruns and republishes it', async () => {
  const cfg = stack.config('corrupt');
  await stack.workers(cfg, ['cpu']);
  const store = stack.store(cfg);
  const corpus = path.join(stack.dir, 'corpus-corrupt');
  fs.mkdirSync(corpus);
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(corpus, `d${i}.txt`), `clause ${i} of the lease\n`);
  const spec = plan({ name: 'corrupt', stages: { src: { uses: 'source', with: { paths: [corpus] } }, tail: { uses: 'noop', needs: ['src'] } } });

  const first = await runOk(cfg, spec);
  const manifest = (await store.readManifest(first.stages.src.digest!))!;
  const f = manifest.files[0];
  const original = await objectBytes(store, store.bucket, store.key(f.key));
  assert.equal(f.etag, md5(original), 'the manifest records the ETag: for one part, the MD5 of the content');

  // Other bytes, same length, written over the blob through the S3 API.
  const corrupted = Buffer.from(original);
  corrupted[corrupted.length - 1] ^= 0xff;
  await store.client.putObject(store.bucket, store.key(f.key), corrupted, corrupted.length);
  assert.equal(await store.statSize(f.key), f.bytes, 'same size: a size check alone would call this a hit');
  assert.equal(await store.verifyManifest(manifest), false);
  const { etag: _etag, ...sizeOnly } = f;
  assert.equal(await store.verifyManifest({ ...manifest, files: [sizeOnly] }), true, 'an entry without an ETag (an old manifest) is checked by size');

  const healed = await runOk(cfg, spec);
  assert.equal(healed.stages.src.state, 'succeeded', 'a corrupted blob is a cache miss');
  assert.equal(healed.stages.src.digest, first.stages.src.digest);
  assert.equal(healed.stages.tail.state, 'cached', 'same content again: dependents hit');
  assert.equal(sha256(await objectBytes(store, store.bucket, store.key(f.key))), f.sha256, 'the blob was uploaded again, not reused');
  const republished = (await store.readManifest(first.stages.src.digest!))!;
  assert.equal(republished.producer.run, manifest.producer.run, 'the first producer stays on record');
  assert.equal(await store.verifyManifest(republished), true);

  const again = await runOk(cfg, spec);
  assert.equal(again.stages.src.state, 'cached');
});

test('putFile: the ETag of a multipart upload is computed from the local bytes; a rewritten blob is uploaded again', async () => {
  const cfg = stack.config('multipart');
  const store = new ArtifactStore({ ...cfg.store, partSize: 5 * 1024 * 1024 });
  await store.ensureBucket();
  const file = path.join(stack.dir, 'big.bin');
  const data = Buffer.alloc(11 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4096) data[i] = (i / 4096) % 251;
  fs.writeFileSync(file, data);

  const put = await store.putFile(file, 'big.bin');
  assert.match(put.etag ?? '', /^[0-9a-f]{32}-3$/, 'three parts of 5 MiB');
  assert.equal((await store.stat(put.key))?.etag, put.etag);
  const before = (await store.client.statObject(store.bucket, store.key(put.key))).lastModified.getTime();
  await new Promise((r) => setTimeout(r, 1100));
  assert.deepEqual(await store.putFile(file, 'big.bin'), put, 'an intact blob is reused');
  assert.equal((await store.client.statObject(store.bucket, store.key(put.key))).lastModified.getTime(), before, 'not uploaded again');

  const corrupted = Buffer.from(data);
  corrupted[7] ^= 1;
  await store.client.putObject(store.bucket, store.key(put.key), corrupted, corrupted.length);
  assert.notEqual((await store.stat(put.key))?.etag, put.etag);
  assert.deepEqual(await store.putFile(file, 'big.bin'), put, 'uploaded again: the same ETag as the first upload');
  assert.equal(sha256(await objectBytes(store, store.bucket, store.key(put.key))), put.sha256);
});

test('s3:// inputs are fingerprinted by key, size and ETag: an overwritten object is a miss, an unchanged one a hit', async () => {
  const cfg = stack.config('s3in');
  await stack.workers(cfg, ['cpu']);
  const store = stack.store(cfg);
  const bucket = `${store.bucket}-in`;
  await store.client.makeBucket(bucket);
  // Uncompressed WET: the overwrite keeps the object's size.
  const wet = (word: string) => warcRecord({ type: 'conversion', uri: 'https://example.org/a', contentType: 'text/plain', block: `Harbour notes: ${word}` });
  await store.client.putObject(bucket, 'crawl/a.wet', wet('alpha'));
  const spec = plan({ name: 's3in', stages: { dumps: { uses: 'warc', with: { paths: [`s3://${bucket}/crawl/`] } } } });

  const first = await runOk(cfg, spec);
  assert.equal(first.stages.dumps.state, 'succeeded');
  const second = await runOk(cfg, spec);
  assert.equal(second.stages.dumps.state, 'cached', 'an unchanged s3:// input is a hit');
  const size = (await store.client.statObject(bucket, 'crawl/a.wet')).size;
  await store.client.putObject(bucket, 'crawl/a.wet', wet('omega'));
  assert.equal((await store.client.statObject(bucket, 'crawl/a.wet')).size, size);
  const third = await runOk(cfg, spec);
  assert.equal(third.stages.dumps.state, 'succeeded', 'an overwritten s3:// input of the same size is a miss');
  assert.notEqual(third.stages.dumps.digest, first.stages.dumps.digest);

  // The base model of pretrain/perplexity/evaluate (an s3:// folder) and s3:// task files, through the same fingerprint.
  await store.client.putObject(bucket, 'models/bert/config.json', Buffer.from('{"a":1}'));
  await store.client.putObject(bucket, 'models/bert/model.bin', Buffer.from('weights-1'));
  const model = `s3://${bucket}/models/bert`;
  const m1 = JSON.stringify(await modelRefFingerprint(model, undefined, store));
  assert.match(m1, /models\/bert\/model\.bin/);
  await store.client.putObject(bucket, 'models/bert-large/model.bin', Buffer.from('other'));
  assert.equal(JSON.stringify(await modelRefFingerprint(model, undefined, store)), m1, 'unchanged (a sibling folder is not the model)');
  await store.client.putObject(bucket, 'models/bert/model.bin', Buffer.from('weights-2'));
  assert.notEqual(JSON.stringify(await modelRefFingerprint(model, undefined, store)), m1, 'an overwritten weight file changes the fingerprint');

  await store.client.putObject(bucket, 'task/train.jsonl', Buffer.from('{"text":"a","label":"x"}\n'));
  const t1 = JSON.stringify(await taskFilesFingerprint([`s3://${bucket}/task/train.jsonl`], store));
  assert.equal(JSON.stringify(await taskFilesFingerprint([`s3://${bucket}/task/train.jsonl`], store)), t1);
  await store.client.putObject(bucket, 'task/train.jsonl', Buffer.from('{"text":"b","label":"x"}\n'));
  assert.notEqual(JSON.stringify(await taskFilesFingerprint([`s3://${bucket}/task/train.jsonl`], store)), t1);
  assert.deepEqual(await taskFilesFingerprint([`s3://${bucket}/task/none.jsonl`], store), [{ s3: `s3://${bucket}/task/none.jsonl`, missing: true }]);
});
