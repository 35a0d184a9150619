/**
 * The source and dedupe stages against a real MinIO: every input format, the errors a spec author can make,
 * and exact dedupe counts on known duplicates.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { ConfigError, InputError } from '../activities/errors';
import { dedupeStage, normalizeForDedupe } from '../activities/stages/dedupe/run';
import { sourceStage } from '../activities/stages/source/run';
import { stageKinds } from '../schemas/stages';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio, readOutput } from './helpers/stage-context';

let minio: TestMinio;
let files: string;

before(async () => {
  minio = await startTestMinio('stages-sd');
  files = path.join(minio.dir, 'files');
  const w = (rel: string, content: string | Buffer) => {
    fs.mkdirSync(path.dirname(path.join(files, rel)), { recursive: true });
    fs.writeFileSync(path.join(files, rel), content);
  };
  w('b/notes.txt', 'Cafe\u0301 notes:\r\n\r\n\r\n\r\nsecond   paragraph\n');
  w('a/readme.md', '# Project title\n\nSome markdown body.\n');
  w('a/page.html', '<html><head><title>A page</title></head><body><nav>menu</nav><article><h1>Heading</h1><p>First paragraph of the article.</p><p>Second paragraph.</p></article></body></html>');
  w('a/rows.jsonl', ['{"text":"row one","url":"u1"}', '', '{"text":"x"}', '{"text":"row three"}'].join('\n'));
  w('c/more.jsonl.gz', zlib.gzipSync('{"body":"gz row"}\n{"text":"gz text row"}\n'));
  w('c/small.txt.gz', zlib.gzipSync('compressed text file'));
  w('c/ignored.csv', 'a,b\n');
  w('bad/broken.jsonl', '{"text":"ok"}\n{"text": oops}\n');
  w('nofield/rows.jsonl', '{"text":"ok"}\n{"body":"no text field"}\n');
});

after(async () => {
  await minio?.stop();
});

describe('source stage', () => {
  test('reads txt, md, html, jsonl and their .gz forms in sorted order, dropping short documents', async () => {
    const store = await minio.freshStore();
    const params = stageKinds.source.params.parse({ paths: [path.join(files, 'a'), path.join(files, 'b'), path.join(files, 'c/small.txt.gz')], minChars: 3, shardSize: 2 });
    const t = makeStageContext({ store, params });
    const out = await sourceStage.run!(t.ctx);
    const docs = await readOutput(store, out);

    assert.deepEqual(
      docs.map((d) => [path.relative(files, d.source), d.metadata.format]),
      [['a/page.html', 'html'], ['a/readme.md', 'md'], ['a/rows.jsonl', 'jsonl'], ['a/rows.jsonl', 'jsonl'], ['b/notes.txt', 'txt'], ['c/small.txt.gz', 'txt']],
    );
    assert.equal(out.files.length, 3, 'six documents in shards of two');
    const byFormat = (f: string) => docs.filter((d) => d.metadata.format === f);
    assert.equal(byFormat('html')[0].metadata.title, 'A page');
    assert.match(byFormat('html')[0].text, /^Heading\n\nFirst paragraph of the article\.\n\nSecond paragraph\.$/);
    assert.doesNotMatch(byFormat('html')[0].text, /menu/);
    assert.equal(byFormat('md')[0].metadata.title, 'Project title');
    assert.deepEqual(byFormat('jsonl').map((d) => [d.text, d.metadata.line, d.metadata.url]), [['row one', 1, 'u1'], ['row three', 4, undefined]]);
    assert.equal(byFormat('txt')[0].text, 'Caf\u00e9 notes:\n\nsecond paragraph', 'NFC, newlines unified, blank lines and spaces collapsed');
    assert.equal(new Set(docs.map((d) => d.id)).size, docs.length);
    const bytes = ['a/page.html', 'a/readme.md', 'a/rows.jsonl', 'b/notes.txt', 'c/small.txt.gz'].reduce((n, f) => n + fs.statSync(path.join(files, f)).size, 0);
    assert.deepEqual(out.metrics, { files: 5, documents: 6, dropped: 1, bytes });

    // Ids depend on path and position only: a rerun gives the same shards.
    const again = await sourceStage.run!(makeStageContext({ store, params }).ctx);
    assert.deepEqual(again.files.map((f) => f.sha256), out.files.map((f) => f.sha256));
  });

  test('a .jsonl.gz line without the text field is an InputError naming file and line', async () => {
    const store = await minio.freshStore();
    const params = stageKinds.source.params.parse({ paths: [path.join(files, 'c')] });
    await assert.rejects(sourceStage.run!(makeStageContext({ store, params }).ctx), (e: Error) => {
      assert.ok(e instanceof InputError);
      assert.match(e.message, /c\/more\.jsonl\.gz:1: field "text" is missing/);
      return true;
    });
    const ok = stageKinds.source.params.parse({ paths: [path.join(files, 'c')], textField: 'body', extensions: ['.jsonl'] });
    await assert.rejects(sourceStage.run!(makeStageContext({ store, params: ok }).ctx), /more\.jsonl\.gz:2: field "body"/);
  });

  test('a broken JSON line is an InputError naming file:line', async () => {
    const store = await minio.freshStore();
    const params = stageKinds.source.params.parse({ paths: [path.join(files, 'bad')] });
    await assert.rejects(sourceStage.run!(makeStageContext({ store, params }).ctx), (e: Error) => {
      assert.ok(e instanceof InputError, String(e));
      assert.match(e.message, /bad\/broken\.jsonl:2: not valid JSON/);
      return true;
    });
    const missing = stageKinds.source.params.parse({ paths: [path.join(files, 'nofield')] });
    await assert.rejects(sourceStage.run!(makeStageContext({ store, params: missing }).ctx), /nofield\/rows\.jsonl:2: field "text" is missing/);
  });

  test('a missing path is a ConfigError, from run and from fingerprint', async () => {
    const store = await minio.freshStore();
    const params = stageKinds.source.params.parse({ paths: [path.join(files, 'a'), path.join(files, 'nope')] });
    await assert.rejects(sourceStage.run!(makeStageContext({ store, params }).ctx), (e: Error) => e instanceof ConfigError && /nope does not exist/.test(e.message));
    await assert.rejects(async () => sourceStage.fingerprint!(params), ConfigError);
  });

  test('fingerprint changes when a file changes', async () => {
    const dir = path.join(minio.dir, 'fp');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'one.txt'), 'first version');
    const params = stageKinds.source.params.parse({ paths: [dir] });
    const before1 = JSON.stringify(await sourceStage.fingerprint!(params));
    assert.equal(JSON.stringify(await sourceStage.fingerprint!(params)), before1);
    fs.writeFileSync(path.join(dir, 'one.txt'), 'second, longer version');
    assert.notEqual(JSON.stringify(await sourceStage.fingerprint!(params)), before1);
  });
});

describe('dedupe stage', () => {
  test('keeps the first occurrence across inputs; counts duplicates', async () => {
    const store = await minio.freshStore();
    const dir = path.join(minio.dir, 'dd');
    fs.mkdirSync(dir, { recursive: true });
    const rows = (texts: string[]) => texts.map((text) => JSON.stringify({ text })).join('\n');
    fs.writeFileSync(path.join(dir, 'one.jsonl'), rows(['Hello   World', 'unique one', 'hello world', 'ＨＥＬＬＯ　world', 'Hello, world!']));
    fs.writeFileSync(path.join(dir, 'two.jsonl'), rows(['unique two', 'UNIQUE ONE', 'hello world']));
    const src = (f: string) => stageKinds.source.params.parse({ paths: [path.join(dir, f)] });
    const one = await publishAsInput(store, 'one', await sourceStage.run!(makeStageContext({ store, params: src('one.jsonl') }).ctx));
    const two = await publishAsInput(store, 'two', await sourceStage.run!(makeStageContext({ store, params: src('two.jsonl') }).ctx));

    const params = stageKinds.dedupe.params.parse({});
    const out = await dedupeStage.run!(makeStageContext({ store, params, inputs: [one, two] }).ctx);
    const kept = await readOutput(store, out);
    assert.deepEqual(kept.map((d) => d.text), ['Hello World', 'unique one', 'Hello, world!', 'unique two']);
    assert.equal(kept[0].metadata.line, 1, 'the first occurrence is the one kept');
    assert.deepEqual(out.metrics, { input: 8, kept: 4, duplicates: 4, dupRate: 0.5 });

    const noPunct = stageKinds.dedupe.params.parse({ normalize: { punctuation: true } });
    const out2 = await dedupeStage.run!(makeStageContext({ store, params: noPunct, inputs: [one, two] }).ctx);
    assert.deepEqual(out2.metrics, { input: 8, kept: 3, duplicates: 5, dupRate: 5 / 8 });
  });

  test('normalization options', () => {
    const all = { lowercase: true, whitespace: true, punctuation: true };
    assert.equal(normalizeForDedupe(' Ｆｕｌｌ—width,\tText! ', all), 'fullwidth text');
    assert.equal(normalizeForDedupe('A  B', { lowercase: false, whitespace: false, punctuation: false }), 'A  B');
  });
});
