/**
 * The shard I/O path's fast paths (activities/jsonl.ts, activities/documents.ts, activities/shard-codec.ts) give
 * what the straightforward code gave: lines exactly as readline cuts them, records exactly as zod parses them, the
 * same errors with file and line, zstd shards any zstd reader reads, gzip shards written before still read, and a
 * record passed through unchanged written as the same bytes. No servers: the store is a stand-in that keeps blobs
 * in memory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { ShardWriter, asDocumentRecord, readShard } from '../activities/documents';
import { SHARD_CODEC, SHARD_ZSTD_LEVEL, compressFrame, decompressed, sniffCodec, zstdFrameEnd } from '../activities/shard-codec';
import { compress as compressAtLevel } from '@mongodb-js/zstd/bindings';
import { InputError } from '../activities/errors';
import { LineSplitter, jsonLines } from '../activities/jsonl';
import type { ArtifactStore } from '../activities/store';
import { rng } from '../activities/rng';
import { DocumentRecord, type ArtifactFileT, type DocumentRecordT } from '../schemas/manifest';
import { tempDir } from './helpers/tmp';

/** What ShardWriter and readShard use of a store, in memory. */
function memoryStore(): { store: ArtifactStore; blobs: Map<string, Buffer> } {
  const blobs = new Map<string, Buffer>();
  const fake = {
    async putFile(local: string, name: string, records?: number): Promise<ArtifactFileT> {
      const bytes = fs.readFileSync(local);
      const key = `blob-${blobs.size}`;
      blobs.set(key, bytes);
      return { key, name, sha256: '0'.repeat(64), bytes: bytes.length, ...(records === undefined ? {} : { records }) };
    },
    async getStream(key: string): Promise<Readable> {
      const b = blobs.get(key);
      if (!b) throw new Error(`no blob ${key}`);
      return Readable.from(chunked(b, 1000));
    },
  };
  return { store: fake as unknown as ArtifactStore, blobs };
}

function chunked(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

async function readlineLines(b: Buffer, size: number): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readline.createInterface({ input: Readable.from(chunked(b, size)), crlfDelay: Infinity })) out.push(l);
  return out;
}

function splitterLines(b: Buffer, size: number): string[] {
  const s = new LineSplitter();
  const out = chunked(b, size).flatMap((c) => s.push(c));
  return [...out, ...s.end()];
}

async function collect<T>(g: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of g) out.push(x);
  return out;
}

function shardOf(store: ReturnType<typeof memoryStore>, name: string, content: string | Buffer, gzip = true): ArtifactFileT {
  const key = `k-${name}`;
  const raw = Buffer.from(content);
  store.blobs.set(key, gzip ? zlib.gzipSync(raw) : raw);
  return { key, name, sha256: '0'.repeat(64), bytes: raw.length };
}

describe('LineSplitter', () => {
  test('cuts lines as readline does, for any chunking: \\n, \\r\\n, lone \\r, blank lines, UTF-8 across chunks, no final break', async () => {
    const r = rng(3);
    const pieces = ['a', 'bc', 'é', '中文', '😀', ' ', '{"x":1}', '\n', '\n', '\r\n', '\r', '\n\n'];
    for (let trial = 0; trial < 300; trial++) {
      const text = Array.from({ length: Math.floor(r() * 40) }, () => pieces[Math.floor(r() * pieces.length)]).join('');
      const b = Buffer.from(text);
      for (const size of [1, 2, 3, 7, 64, 1 << 16]) {
        const want = await readlineLines(b, size);
        assert.deepEqual(splitterLines(b, size), want, `${JSON.stringify(text)} in chunks of ${size}`);
        // cut: the same lines, as byte views (decoded here) or text.
        const s = new LineSplitter();
        const cut = [...chunked(b, size).flatMap((c) => s.cut(c)), ...s.end()];
        assert.deepEqual(cut.map((l) => (typeof l === 'string' ? l : l.toString('utf8'))), want, `cut: ${JSON.stringify(text)} in chunks of ${size}`);
        if (!text.includes('\r')) assert.ok(cut.slice(0, want.length - (text.endsWith('\n') ? 0 : 1)).every((l) => Buffer.isBuffer(l)), 'no CR: byte views');
      }
    }
  });
});

describe('jsonLines', () => {
  test('numbers lines counting blank ones, names file and line of bad JSON, reports corrupt gzip', async () => {
    const lines = await collect(jsonLines(Readable.from([Buffer.from('{"a":1}\n\n  \r\n{"a":2}\r\n[3]')]), 'f.jsonl'));
    assert.deepEqual(lines, [{ value: { a: 1 }, line: 1 }, { value: { a: 2 }, line: 4 }, { value: [3], line: 5 }]);
    await assert.rejects(collect(jsonLines(Readable.from([Buffer.from('{"a":1}\n{"a": oops}\n')]), 'f.jsonl')), (e: Error) => {
      return e instanceof InputError && e.message === 'f.jsonl:2: not valid JSON';
    });
    const whole = zlib.gzipSync('{"a":1}\n'.repeat(1000));
    const truncated = whole.subarray(0, whole.length - 4);
    await assert.rejects(collect(jsonLines(Readable.from([truncated]).pipe(zlib.createGunzip()), 'g.jsonl.gz')), (e: Error) => {
      return e instanceof InputError && e.message === 'g.jsonl.gz: corrupt or truncated gzip data';
    });
  });
});

describe('document records', () => {
  const cases: unknown[] = [
    { id: 'a', text: 't', source: 's', metadata: { url: 'u', n: [1, { x: null }] } },
    { id: '', text: '', source: '', metadata: {} },
    { text: 't', id: 'a', source: 's', metadata: {} }, // other key order: zod's output has the schema's order
    { id: 'a', text: 't', source: 's', metadata: {}, extra: 1 }, // stripped by zod
    { id: 'a', text: 't', source: 's' }, // metadata defaults to {}
    { id: 'a', text: 't', source: 's', metadata: null },
    { id: 'a', text: 't', source: 's', metadata: [] },
    { id: 1, text: 't', source: 's', metadata: {} },
    { id: 'a', text: 't', metadata: {} },
    [1, 2],
    'text',
    null,
  ];

  test('the hand check accepts only what zod returns unchanged; readShard gives what zod gives, and its errors', async () => {
    const mem = memoryStore();
    for (const [i, value] of cases.entries()) {
      const zod = DocumentRecord.safeParse(value);
      const fast = asDocumentRecord(value);
      if (fast) {
        assert.ok(zod.success, `case ${i}`);
        assert.equal(JSON.stringify(fast), JSON.stringify(zod.data), `case ${i}: the same record, key order included`);
      }
      const file = shardOf(mem, `case-${i}.jsonl.gz`, `\n${JSON.stringify(value)}\n`);
      if (zod.success) {
        const [rec] = await collect(readShard(mem.store, file));
        assert.equal(JSON.stringify(rec), JSON.stringify(zod.data), `case ${i}`);
      } else {
        await assert.rejects(collect(readShard(mem.store, file)), (e: Error) => {
          return e instanceof InputError && e.message === `case-${i}.jsonl.gz:2: not a document record (${zod.error.issues[0]?.message})`;
        });
      }
    }
    assert.ok(asDocumentRecord(cases[0]) && !asDocumentRecord(cases[2]) && !asDocumentRecord(cases[3]), 'the common shape is the fast one');
  });

  test('readShard: bad JSON and a corrupt shard are named', async () => {
    const mem = memoryStore();
    await assert.rejects(collect(readShard(mem.store, shardOf(mem, 'bad.jsonl.gz', '{"id":"a","text":"t","source":"s","metadata":{}}\n{oops\n'))), {
      message: 'bad.jsonl.gz:2: not valid JSON',
    });
    const gz = zlib.gzipSync('{"id":"a","text":"t","source":"s","metadata":{}}\n'.repeat(100));
    await assert.rejects(collect(readShard(mem.store, shardOf(mem, 'cut.jsonl.gz', gz.subarray(0, gz.length - 4), false))), {
      message: 'cut.jsonl.gz: corrupt or truncated gzip data',
    });
    const zst = await zstdCompress(Buffer.from('{"id":"a","text":"t","source":"s","metadata":{}}\n'.repeat(100)), 1);
    await assert.rejects(collect(readShard(mem.store, shardOf(mem, 'cut.jsonl.zst', zst.subarray(0, zst.length - 3), false))), {
      message: 'cut.jsonl.zst: corrupt or truncated zstd data',
    });
    const bad = Buffer.from(zst);
    bad.fill(0xff, 20, 40);
    await assert.rejects(collect(readShard(mem.store, shardOf(mem, 'bad.jsonl.zst', bad, false))), (e: Error) => e instanceof InputError && e.message.startsWith('bad.jsonl.zst'));
    // Neither codec's magic under a name that says zstd: damage, named as such (not a JSON error on line 1).
    await assert.rejects(collect(readShard(mem.store, shardOf(mem, 'plain.jsonl.zst', 'not compressed at all', false))), {
      message: 'plain.jsonl.zst: corrupt or truncated zstd data (no zstd header)',
    });
    // A name without a codec: plain JSONL, read as is.
    await assert.rejects(collect(readShard(mem.store, shardOf(mem, 'plain.jsonl', 'not json at all', false))), {
      message: 'plain.jsonl:1: not valid JSON',
    });
  });
});

describe('ShardWriter', () => {
  test('round trip: shards cut at shardSize, zstd frames any zstd reader reads, the same bytes every time', async () => {
    const r = rng(11);
    const docs: DocumentRecordT[] = Array.from({ length: 2500 }, (_, i) => ({
      id: `d${i}`,
      text: Array.from({ length: 1 + Math.floor(r() * 300) }, () => ['word', 'é', '"q"', '\n', '中', '\\'][Math.floor(r() * 6)]).join(' '),
      source: 'src',
      metadata: { i, tags: ['x'] },
    }));
    const dir = tempDir('shards');
    try {
      const runs = [];
      for (let run = 0; run < 2; run++) {
        const mem = memoryStore();
        const w = new ShardWriter(mem.store, dir, 1000);
        for (const d of docs) await w.write(d);
        const files = await w.close();
        assert.equal(w.total, docs.length);
        assert.deepEqual(files.map((f) => [f.name, f.records]), [['shard-00000.jsonl.zst', 1000], ['shard-00001.jsonl.zst', 1000], ['shard-00002.jsonl.zst', 500]]);
        const read = (await Promise.all(files.map((f) => collect(readShard(mem.store, f))))).flat();
        assert.deepEqual(read, docs);
        // A whole-buffer zstd decoder (not the frame walker of readShard) sees one JSON document a line.
        const lines = (await Promise.all(files.map(async (f) => (await zstdDecompress(mem.blobs.get(f.key)!)).toString('utf8').trimEnd().split('\n')))).flat();
        assert.deepEqual(lines.map((l) => JSON.parse(l) as unknown), docs);
        runs.push(files.map((f) => mem.blobs.get(f.key)!));
      }
      assert.deepEqual(runs[0], runs[1], 'deterministic output');
      assert.equal(SHARD_CODEC, 'zstd');
      assert.ok(fs.readdirSync(dir).length === 0, 'local shard files are removed after upload');
      // An empty writer writes no shard.
      assert.deepEqual(await new ShardWriter(memoryStore().store, dir, 10).close(), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('shard codecs', () => {
  test('zstd frames are found in a stream cut anywhere; gzip and plain streams pass through decompressed', async () => {
    const r = rng(5);
    const text = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ i, w: Math.floor(r() * 1e6).toString(36).repeat(1 + (i % 9)) })).join('\n') + '\n';
    const plain = Buffer.from(text);
    // Frames of several sizes, a skippable frame between two of them.
    const pieces = [plain.subarray(0, 1), plain.subarray(1, 70_000), plain.subarray(70_000)];
    const frames = await Promise.all(pieces.map((p) => zstdCompress(p, 1)));
    const skippable = Buffer.alloc(8 + 5, 7);
    skippable.writeUInt32LE(0x184d2a53, 0);
    skippable.writeUInt32LE(5, 4);
    const zst = Buffer.concat([frames[0], skippable, frames[1], frames[2]]);
    assert.equal(sniffCodec(zst), 'zstd');
    assert.equal(zstdFrameEnd(zst, 0), frames[0].length);
    assert.equal(zstdFrameEnd(zst.subarray(0, frames[0].length - 1), 0), -1, 'an incomplete frame');
    for (const size of [1, 3, 1000, 1 << 20]) {
      for (const [name, bytes] of [['zst', zst], ['gz', zlib.gzipSync(plain)], ['plain', plain]] as const) {
        const out = Buffer.concat(await collect(decompressed(Readable.from(chunked(bytes, size)), name)));
        assert.ok(out.equals(plain), `${name} in chunks of ${size}`);
      }
    }
  });

  test('frames are compressed at the shard level (1), not at the level the package wrapper falls back to', async () => {
    const r = rng(9);
    const block = Buffer.from(Array.from({ length: 4000 }, (_, i) => JSON.stringify({ i, w: Math.floor(r() * 1e9).toString(36).repeat(1 + (i % 5)) })).join('\n'));
    const frame = await compressFrame(block);
    assert.equal(SHARD_ZSTD_LEVEL, 1);
    assert.ok(frame.equals(await compressAtLevel(block, 1)), 'a level 1 frame');
    assert.ok(!frame.equals(await compressAtLevel(block, 3)), 'levels 1 and 3 differ on this block');
    // @mongodb-js/zstd's own compress ignores the level it is given: what the first zstd shards were written with.
    assert.ok((await zstdCompress(block, 1)).equals(await compressAtLevel(block, 3)));
    assert.ok((await zstdDecompress(frame)).equals(block));
  });

  test('frames the zstd command line writes (content size, checksum) are walked too', async (t) => {
    const plain = Buffer.from('{"id":"a","text":"t","source":"s","metadata":{}}\n'.repeat(20_000));
    const cli = spawnSync('zstd', ['-1', '-c', '--content-size', '--check'], { input: plain, maxBuffer: 1 << 26 });
    if (cli.error || cli.status !== 0) return t.skip('no zstd command line here');
    const out = Buffer.concat(await collect(decompressed(Readable.from(chunked(cli.stdout, 4096)), 'cli.zst')));
    assert.ok(out.equals(plain));
    assert.equal(zstdFrameEnd(cli.stdout, 0), cli.stdout.length);
  });

  test('a record read and written unchanged keeps its line; a changed one is serialized again', async () => {
    const dir = tempDir('shards');
    try {
      const mem = memoryStore();
      const lines = [
        '{"id":"a","text":"t\\u00e9","source":"s","metadata":{"k":[1,2]}}', // an escape JSON.stringify would not write
        '{"id":"b","text":"x","source":"s","metadata":{"n":1}}',
        '{"id":"c","text":"y","source":"s","metadata":{"n":1}}',
        '{"id":"d","text":"z","source":"s","metadata":{"n":1}}',
        '{"text":"w","id":"e","source":"s","metadata":{}}', // other key order: zod's record, serialized again
      ];
      const input = shardOf(mem, 'in.jsonl.gz', lines.join('\n') + '\n');
      const w = new ShardWriter(mem.store, dir, 100);
      for await (const d of readShard(mem.store, input)) {
        if (d.id === 'b') d.metadata.n = 2;
        if (d.id === 'c') d.text = 'changed';
        if (d.id === 'd') await w.write({ ...d });
        else await w.write(d);
      }
      const [file] = await w.close();
      const out = (await zstdDecompress(mem.blobs.get(file.key)!)).toString('utf8').split('\n');
      assert.deepEqual(out, [
        lines[0],
        '{"id":"b","text":"x","source":"s","metadata":{"n":2}}',
        '{"id":"c","text":"changed","source":"s","metadata":{"n":1}}',
        lines[3],
        '{"id":"e","text":"w","source":"s","metadata":{}}',
        '',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
