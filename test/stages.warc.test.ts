/**
 * The warc stage against a real MinIO: WARC and WET files written by test/helpers/warc.ts (one gzip member per
 * record), read from local paths and from an s3:// prefix; charsets; skipped records counted by reason.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, InputError } from '../activities/errors';
import { warcStage } from '../activities/stages/warc/run';
import type { ArtifactStore } from '../activities/store';
import { stageKinds } from '../schemas/stages';
import { makeStageContext, startTestMinio, type TestMinio, readOutput } from './helpers/stage-context';
import { ARTICLE, ZH, writeSampleWarcs } from './helpers/warc';

let minio: TestMinio;
let dir: string;

before(async () => {
  minio = await startTestMinio('stages-warc');
  dir = path.join(minio.dir, 'warc');
  writeSampleWarcs(dir);
});

after(async () => {
  await minio?.stop();
});

async function runWarc(store: ArtifactStore, params: unknown) {
  const out = await warcStage.run!(makeStageContext({ store, params: stageKinds.warc.params.parse(params) }).ctx);
  return { out, docs: await readOutput(store, out) };
}

describe('warc stage', () => {
  test('reads WARC responses as HTML and WET conversions as text, counting what it skips', async () => {
    const store = await minio.freshStore();
    const { out, docs } = await runWarc(store, { paths: [path.join(dir, 'crawl'), path.join(dir, 'plain.wet')], shardSize: 2 });
    assert.deepEqual(
      docs.map((d) => [path.basename(d.source), d.metadata.format, d.metadata.url]),
      [
        ['a.warc.gz', 'html', 'https://example.org/harbour'],
        ['a.warc.gz', 'html', 'https://example.cn/gang'],
        ['a.warc.gz', 'html', 'https://example.org/tiny'],
        ['a.warc.wet.gz', 'wet', 'https://example.org/harbour'],
        ['plain.wet', 'wet', 'https://example.cn/gang'],
      ],
    );
    const [html, gbk, , wet, plain] = docs;
    assert.match(html.text, /^<!doctype html>/);
    assert.deepEqual([html.metadata.contentType, html.metadata.charset, html.metadata.status, html.metadata.date], ['text/html', 'utf-8', 200, '2024-05-01T12:00:00Z']);
    assert.equal(gbk.metadata.charset, 'gbk');
    assert.ok(gbk.text.includes(ZH[0]), 'GBK page decoded through its <meta> charset');
    assert.equal(wet.text, `The old harbour\n${ARTICLE.join('\n')}`);
    assert.equal(wet.metadata.contentLanguages, 'eng');
    assert.equal(plain.text, ZH.join('\n'));
    assert.equal(out.files.length, 3);
    assert.deepEqual(out.metrics!.skipped, { type_warcinfo: 2, type_request: 1, http_status: 1, content_type: 1, type_metadata: 1, short: 1 });
    assert.deepEqual([out.metrics!.records, out.metrics!.documents], [12, 5]);
    const again = await runWarc(store, { paths: [path.join(dir, 'crawl'), path.join(dir, 'plain.wet')], shardSize: 2 });
    assert.deepEqual(again.docs.map((d) => d.id), docs.map((d) => d.id), 'ids come from WARC-Record-IDs');
  });

  test('reads an s3:// prefix of the configured store; limit stops early', async () => {
    const store = await minio.freshStore();
    const bucket = `${store.bucket}-cc`;
    await store.client.makeBucket(bucket);
    for (const f of ['a.warc.gz', 'a.warc.wet.gz']) await store.client.fPutObject(bucket, `crawl/2024/${f}`, path.join(dir, 'crawl', f));
    const { docs } = await runWarc(store, { paths: [`s3://${bucket}/crawl/`] });
    assert.deepEqual(docs.map((d) => d.source), [...Array(3).fill(`s3://${bucket}/crawl/2024/a.warc.gz`), `s3://${bucket}/crawl/2024/a.warc.wet.gz`]);
    const limited = await runWarc(store, { paths: [`s3://${bucket}/crawl/`], records: ['conversion'], limit: 1 });
    assert.deepEqual(limited.docs.map((d) => d.metadata.format), ['wet']);
  });

  test('a truncated file is an InputError naming it; a missing path a ConfigError', async () => {
    const store = await minio.freshStore();
    await assert.rejects(runWarc(store, { paths: [path.join(dir, 'broken.warc.gz')] }), (e: Error) => e instanceof InputError && /broken\.warc\.gz/.test(e.message));
    await assert.rejects(runWarc(store, { paths: [path.join(dir, 'nope')] }), ConfigError);
  });
});
