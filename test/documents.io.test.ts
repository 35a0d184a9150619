/**
 * The shard I/O path's fast paths (activities/jsonl.ts, activities/documents.ts) give what the straightforward
 * code gave: lines exactly as readline cuts them, records exactly as zod parses them, the same errors with file
 * and line, and shards any gzip reader reads. No servers: the store is a stand-in that keeps blobs in memory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import zlib from 'node:zlib';
import { ShardWriter, SHARD_GZIP_LEVEL, asDocumentRecord, readShard } from '../activities/documents';
import { InputError } from '../activities/errors';
import { LineSplitter, jsonLines } from '../activities/jsonl';
import type { ArtifactStore } from '../activities/store';
import { rng } from '../activities/rng';
import { DocumentRecord, type ArtifactFileT, type DocumentRecordT } from '../schemas/manifest';

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
        assert.deepEqual(splitterLines(b, size), await readlineLines(b, size), `${JSON.stringify(text)} in chunks of ${size}`);
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
    await assert.rejects(collect(readShard(mem.store, shardOf(mem, 'plain.jsonl.gz', 'not gzip at all', false))), {
      message: 'plain.jsonl.gz: corrupt or truncated gzip data',
    });
  });
});

describe('ShardWriter', () => {
  test('round trip: shards cut at shardSize, gzip any reader reads, the same bytes every time', async () => {
    const r = rng(11);
    const docs: DocumentRecordT[] = Array.from({ length: 2500 }, (_, i) => ({
      id: `d${i}`,
      text: Array.from({ length: 1 + Math.floor(r() * 300) }, () => ['word', 'é', '"q"', '\n', '中', '\\'][Math.floor(r() * 6)]).join(' '),
      source: 'src',
      metadata: { i, tags: ['x'] },
    }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-shards-'));
    try {
      const runs = [];
      for (let run = 0; run < 2; run++) {
        const mem = memoryStore();
        const w = new ShardWriter(mem.store, dir, 1000);
        for (const d of docs) await w.write(d);
        const files = await w.close();
        assert.equal(w.total, docs.length);
        assert.deepEqual(files.map((f) => [f.name, f.records]), [['shard-00000.jsonl.gz', 1000], ['shard-00001.jsonl.gz', 1000], ['shard-00002.jsonl.gz', 500]]);
        const read = (await Promise.all(files.map((f) => collect(readShard(mem.store, f))))).flat();
        assert.deepEqual(read, docs);
        // Plain gunzip sees one JSON document a line.
        const lines = files.flatMap((f) => zlib.gunzipSync(mem.blobs.get(f.key)!).toString('utf8').trimEnd().split('\n'));
        assert.deepEqual(lines.map((l) => JSON.parse(l) as unknown), docs);
        runs.push(files.map((f) => mem.blobs.get(f.key)!));
      }
      assert.deepEqual(runs[0], runs[1], 'deterministic output');
      assert.equal(SHARD_GZIP_LEVEL, 1);
      assert.ok(fs.readdirSync(dir).length === 0, 'local shard files are removed after upload');
      // An empty writer writes no shard.
      assert.deepEqual(await new ShardWriter(memoryStore().store, dir, 10).close(), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
