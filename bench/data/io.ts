/**
 * `npm run bench:io`: where the time of the documents shard I/O path goes (activities/documents.ts,
 * activities/shard-codec.ts), against a private MinIO. A generated corpus (~1.6 KB of JSONL a document) is written
 * as zstd JSONL shards (and, untimed, as the gzip level 1 shards of the previous writer), then:
 *
 *   - each step of the path alone, on the same bytes held in memory: MinIO download, decompression (the named
 *     baseline: Node's gunzip of the same JSONL as gzip, like `zcat | wc -c`; zstd beside it), line splitting,
 *     JSON.parse, record validation, JSON.stringify, compression (zstd level 1 now, gzip levels before, and two
 *     codecs not used, for comparison), sha256, MinIO upload;
 *   - the path end to end, now and in its three earlier states, frozen (bench/data/io-before.ts: gzip level 6, a
 *     write per record, readline and zod; bench/data/io-gzip.ts: gzip level 1 in batches; bench/data/io-zstd.ts:
 *     the first zstd path, the previous change and the named baseline of the pass-through): ShardWriter alone,
 *     readShard alone (and of gzip shards: still readable), readShard → ShardWriter (a pass-through stage), and the
 *     filter stage itself with every rule off.
 *
 * Each step runs `--reps` times; the table shows the fastest wall time and the least CPU time of the runs (the
 * machine is shared). MB are megabytes (10⁶) of uncompressed JSONL; "MB/s per core" is MB per CPU-second of this
 * process, the thread pool's compression work included (MinIO's own CPU, a separate process, is shown beside it).
 *
 *   npm run bench:io -- [--docs 100000] [--shard-size 10000] [--reps 3] [--json FILE] [--smoke]
 *
 * --smoke (test/bench.smoke.test.ts): 2,000 documents in shards of 500, one rep; checks what it reads back.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { DocumentRecord, type ArtifactFileT, type DocumentRecordT } from '../../schemas/manifest';
import { ShardWriter, asDocumentRecord, readShard } from '../../activities/documents';
import { SHARD_CODEC, SHARD_ZSTD_LEVEL, compressFrame } from '../../activities/shard-codec';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { LineSplitter } from '../../activities/jsonl';
import { ShardWriterBefore, readShardBefore } from './io-before';
import { ShardWriterGzip, readShardGzip } from './io-gzip';
import { ShardWriterZstd, readShardZstd } from './io-zstd';
import { filterStage } from '../../activities/stages/filter/run';
import { ArtifactStore } from '../../activities/store';
import { startMinio, type MinioServer } from '../../infra/servers';
import { DOCUMENT_SCHEMA } from '../../schemas/manifest';
import { stageKinds } from '../../schemas/stages';
import { rng } from '../../activities/rng';

const { values } = parseArgs({
  options: {
    docs: { type: 'string' },
    'shard-size': { type: 'string' },
    reps: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const SMOKE = values.smoke;
const DOCS = Number(values.docs ?? (SMOKE ? 2000 : 100_000));
const SHARD_SIZE = Number(values['shard-size'] ?? (SMOKE ? 500 : 10_000));
const REPS = Number(values.reps ?? (SMOKE ? 1 : 3));
for (const [name, v] of Object.entries({ docs: DOCS, 'shard-size': SHARD_SIZE - 1, reps: REPS })) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} expects an integer above ${name === 'shard-size' ? 1 : 0}`);
}

// ---- corpus ---------------------------------------------------------------------------------------------

const LETTERS = 'etaoinshrdlucmfwypvbgkqjxz';
/** English's most frequent words first (so the text compresses about as well as English prose), then pseudo-words. */
const COMMON = (
  'the of and to a in is that for it as was with be by on not he this are or his from at which but have an they you ' +
  'were her she there one all we their has been if more when will would who so no can said what its about into than ' +
  'them only other new some could these time two may first then do any like my now over such our man me even most ' +
  'made after also did many before must through back years where much your way well down should because each just'
).split(' ');
const VOCAB = [
  ...COMMON,
  ...Array.from({ length: 20_000 }, (_, i) => {
    let w = '';
    for (let x = i + 27; x > 0; x = Math.floor(x / 26)) w += LETTERS[x % 26];
    return w;
  }),
];
const EXTRA = ['café', 'naïve', '“quoted”', 'don\'t', 'e.g.', '"x"', 'a/b', '数据', '模型训练'];

/**
 * Web-like documents of ~1.6 KB of JSONL each (the size of the CLI measurement: 100k documents, 165 MB):
 * sentences of Zipf-distributed words, paragraphs, some non-ASCII and characters JSON escapes, and metadata.
 */
function* corpus(n: number): Generator<DocumentRecordT> {
  const r = rng(7);
  const word = () => (r() < 0.01 ? EXTRA[Math.floor(r() * EXTRA.length)] : VOCAB[Math.min(VOCAB.length - 1, Math.floor(Math.pow(VOCAB.length, r())) - 1)]);
  for (let i = 0; i < n; i++) {
    const paras: string[] = [];
    for (let p = 2 + Math.floor(r() * 7); p > 0; p--) {
      const sentences: string[] = [];
      for (let s = 2 + Math.floor(r() * 6); s > 0; s--) {
        const words = Array.from({ length: 7 + Math.floor(r() * 20) }, word);
        words[0] = words[0][0].toUpperCase() + words[0].slice(1);
        sentences.push(words.join(' ') + (r() < 0.1 ? '?' : '.'));
      }
      paras.push(sentences.join(' '));
    }
    yield {
      id: `doc-${i.toString(16).padStart(8, '0')}`,
      text: paras.join('\n\n'),
      source: 'https://example.org/',
      metadata: { url: `https://example.org/articles/${i}`, lang: 'en', format: 'html', fetchedAt: '2026-11-27T00:00:00Z', title: VOCAB[i % VOCAB.length] },
    };
  }
}

const CODEC = `${SHARD_CODEC} level ${SHARD_ZSTD_LEVEL}`;

// ---- measuring ------------------------------------------------------------------------------------------

interface Row {
  step: string;
  /** Fastest wall time and least CPU time (this process) of the reps. */
  wallS: number;
  cpuS: number;
  /** MinIO's CPU seconds in the rep with the least CPU, when it took part. */
  minioCpuS?: number;
  /** Uncompressed JSONL bytes the step moved (for MB/s). */
  bytes: number;
  docs: number;
  note?: string;
}

const rows: Row[] = [];

function minioCpu(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

interface StepOptions {
  /** MinIO's pid when the step talks to it. */
  minio?: number;
  note?: string;
  /** Untimed, after each rep (e.g. removing the blobs a writer uploaded, so the next rep uploads them again). */
  after?: () => Promise<void>;
}

async function measure(step: string, bytes: number, docs: number, f: () => unknown, opts: StepOptions = {}): Promise<Row> {
  let row: Row | undefined;
  for (let rep = 0; rep < REPS; rep++) {
    (globalThis as { gc?: () => void }).gc?.();
    const m0 = opts.minio ? minioCpu(opts.minio) : 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await f();
    const wallS = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    const cpuS = (c.user + c.system) / 1e6;
    const minioCpuS = opts.minio ? minioCpu(opts.minio) - m0 : undefined;
    if (!row) row = { step, wallS, cpuS, bytes, docs, ...(minioCpuS === undefined ? {} : { minioCpuS }), ...(opts.note ? { note: opts.note } : {}) };
    row.wallS = Math.min(row.wallS, wallS);
    if (cpuS < row.cpuS) Object.assign(row, { cpuS }, minioCpuS === undefined ? {} : { minioCpuS });
    await opts.after?.();
  }
  rows.push(row!);
  process.stderr.write(`  ${step}: ${(bytes / 1e6 / row!.wallS).toFixed(1)} MB/s, ${(bytes / 1e6 / row!.cpuS).toFixed(1)} MB/CPU-s\n`);
  return row!;
}

/** Splits a buffer into lines with one Buffer.toString per line. */
function splitLines(buf: Buffer): string[] {
  const out: string[] = [];
  for (let start = 0; start < buf.length; ) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    if (end > start) out.push(buf.toString('utf8', start, end));
    start = end + 1;
  }
  return out;
}

function chunks(b: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-io-'));
  let minio: MinioServer | undefined;
  try {
    minio = await startMinio({ dataDir: path.join(dir, 'minio'), logFile: path.join(dir, 'minio.log') });
    const store = new ArtifactStore({ endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: 'bench-io' });
    await store.ensureBucket();
    const pid = minio.pid;
    const loadBefore = os.loadavg();
    process.stderr.write(`bench:io — ${DOCS.toLocaleString('en')} documents, shards of ${SHARD_SIZE.toLocaleString('en')}, ${CODEC}, ${REPS} rep(s)\n`);

    // The corpus, in memory first so generating it is not timed.
    const records = [...corpus(DOCS)];
    const jsonlBytes = records.reduce((n, r) => n + Buffer.byteLength(JSON.stringify(r)) + 1, 0);
    const MB = jsonlBytes / 1e6;
    const step = (name: string, f: () => unknown, opts?: StepOptions) => measure(name, jsonlBytes, DOCS, f, opts);
    // Blobs are content-addressed, and a writer skips the upload of a blob that exists: the outputs are removed
    // after each rep, and cut one record shorter than the input shards, so that no output (not even the filter's,
    // which cuts its output per input shard) is byte for byte an input shard.
    const removeBlobs = (files: () => ArtifactFileT[]) => async () => {
      for (const f of files()) await store.remove(f.key);
    };
    const OUT = SHARD_SIZE - 1;

    // The input shards, written by the current writer (its time is measured below, on the same records).
    const writeDir = fs.mkdtempSync(path.join(dir, 'w-'));
    const input = new ShardWriter(store, writeDir, SHARD_SIZE, 'input');
    for (const r of records) await input.write(r);
    const files = await input.close();
    const storedBytes = files.reduce((n, f) => n + f.bytes, 0);
    // The same records as gzip level 1 shards, as the writer of the gzip era wrote them: the input of the readers
    // of before (which read gzip only), and read by the reader of now too (shards written before stay readable).
    const gzWriter = new ShardWriterGzip(store, writeDir, SHARD_SIZE, 'gzip');
    for (const r of records) await gzWriter.write(r);
    const gzFiles = await gzWriter.close();

    // 1. Each step alone, on the same bytes.
    let stored: Buffer[] = [];
    await step(`MinIO download of the ${SHARD_CODEC} shards (getObject, to memory)`, async () => {
      stored = [];
      for (const f of files) {
        const parts: Buffer[] = [];
        for await (const c of await store.getStream(f.key)) parts.push(c as Buffer);
        stored.push(Buffer.concat(parts));
      }
    }, { minio: pid, note: `${(storedBytes / 1e6).toFixed(1)} MB compressed` });
    // Untimed: the plain JSONL bytes and lines for the steps after decompression, and the same bytes as gzip level
    // 1 shards (a step keeps nothing it makes, so that no step pays for holding its output).
    let plain = await Promise.all(stored.map((b) => zstdDecompress(b)));
    let gz = plain.map((b) => zlib.gzipSync(b, { level: 1 }));
    let lines = plain.flatMap(splitLines);
    let parsed = lines.map((l) => JSON.parse(l) as unknown);
    await step('**baseline**: Node gunzip of the same bytes, output dropped (like `zcat | wc -c`; one gunzipSync per shard)', () => {
      for (const b of gz) zlib.gunzipSync(b);
    });
    await step('gunzip stream, 16 KiB chunks (zlib default; before)', async () => {
      for (const b of gz) for await (const c of Readable.from([b]).pipe(zlib.createGunzip())) void c;
    });
    await step('gunzip stream, 64 KiB chunks (gzip shards written before)', async () => {
      for (const b of gz) for await (const c of Readable.from([b]).pipe(zlib.createGunzip({ chunkSize: 64 << 10 }))) void c;
    });
    await step(`zstd decompression of the shards, whole (now: ${CODEC}, frames of 1 MiB)`, async () => {
      for (const b of stored) await zstdDecompress(b);
    });
    await step('line splitting: readline, 16 KiB chunks (before)', async () => {
      for (const b of plain) for await (const l of readline.createInterface({ input: Readable.from(chunks(b, 16 << 10)), crlfDelay: Infinity })) void l;
    });
    await step('line splitting: Buffer.indexOf + toString per line', () => {
      for (const b of plain) splitLines(b);
    });
    await step('line splitting: LineSplitter.push, 64 KiB chunks (a toString per line where a chunk has no CR; last change)', () => {
      let n = 0;
      for (const b of plain) {
        const s = new LineSplitter();
        for (const c of chunks(b, 64 << 10)) n += s.push(c).length;
        n += s.end().length;
      }
      if (n !== DOCS) throw new Error(`${n} lines, ${DOCS} documents`);
    });
    await step('line splitting: LineSplitter.cut, 64 KiB chunks (now: byte views where a chunk has no CR, decoded when parsed)', () => {
      let n = 0;
      for (const b of plain) {
        const s = new LineSplitter();
        for (const c of chunks(b, 64 << 10)) n += s.cut(c).length;
        n += s.end().length;
      }
      if (n !== DOCS) throw new Error(`${n} lines, ${DOCS} documents`);
    });
    await step('JSON.parse per line', () => {
      for (const l of lines) JSON.parse(l);
    });
    await step('record validation: zod DocumentRecord.safeParse (before)', () => {
      for (const v of parsed) if (!DocumentRecord.safeParse(v).success) throw new Error('invalid record');
    });
    await step('record validation: asDocumentRecord, zod only for other shapes (now)', () => {
      for (const v of parsed) if (!asDocumentRecord(v)) throw new Error('not the common shape');
    });
    await step('JSON.stringify per record', () => {
      for (const r of records) JSON.stringify(r);
    });
    // The compressors, each on the same shards' bytes (one call per shard). Only gzip is written: the others show
    // what a codec change would buy (every reader of shards would have to handle it).
    const { BROTLI_PARAM_QUALITY, BROTLI_PARAM_SIZE_HINT, Z_HUFFMAN_ONLY } = zlib.constants;
    const frames = (b: Buffer) => chunks(b, 1 << 20);
    const compressors: [string, (b: Buffer) => Buffer | Promise<Buffer>][] = [
      [`zstd level ${SHARD_ZSTD_LEVEL}, a frame per MiB (now)`, async (b) => Buffer.concat(await Promise.all(frames(b).map(compressFrame)))],
      // @mongodb-js/zstd's compress drops its level argument: level 3, zstd's default, whatever it is given.
      ['zstd level 3, a frame per MiB (the package\'s compress; before)', async (b) => Buffer.concat(await Promise.all(frames(b).map((f) => zstdCompress(f, 1))))],
      ['gzip level 6 (zlib default; two changes ago)', (b) => zlib.gzipSync(b, { level: 6 })],
      ['gzip level 3', (b) => zlib.gzipSync(b, { level: 3 })],
      ['gzip level 1 (before)', (b) => zlib.gzipSync(b, { level: 1 })],
      ['gzip, Huffman coding only (no string matching; not used)', (b) => zlib.gzipSync(b, { strategy: Z_HUFFMAN_ONLY })],
      ['brotli quality 1 (not used: a codec no reader has)', (b) => zlib.brotliCompressSync(b, { params: { [BROTLI_PARAM_QUALITY]: 1, [BROTLI_PARAM_SIZE_HINT]: b.length } })],
    ];
    for (const [name, compress] of compressors) {
      let out = 0;
      const row = await step(name, async () => {
        out = 0;
        for (const b of plain) out += (await compress(b)).length;
      });
      row.note = `ratio ${(jsonlBytes / out).toFixed(2)}×, ${(out / 1e6).toFixed(1)} MB`;
    }
    await step(`sha256 of the ${SHARD_CODEC} shards`, () => {
      for (const b of stored) createHash('sha256').update(b).digest('hex');
    });
    await step(`MinIO upload of the ${SHARD_CODEC} shards (putObject from memory)`, async () => {
      for (const [i, b] of stored.entries()) await store.client.putObject(store.bucket, `upload-test/${i}`, b, b.length);
    }, { minio: pid });
    plain = [];
    lines = [];
    parsed = [];
    gz = [];
    stored = [];

    // 2. End to end, before and now.
    let written: ArtifactFileT[] = [];
    await step('write: ShardWriter, before (a gzip write per record, level 6)', async () => {
      const w = new ShardWriterBefore(store, writeDir, OUT, 'before');
      for (const r of records) await w.write(r);
      written = await w.close();
    }, { minio: pid, after: removeBlobs(() => written) });
    await step('write: ShardWriter, gzip level 1 (records to gzip in 128 KiB batches; last change)', async () => {
      const w = new ShardWriterGzip(store, writeDir, OUT, 'gzip1');
      for (const r of records) await w.write(r);
      written = await w.close();
    }, { minio: pid, after: removeBlobs(() => written) });
    await step('write: ShardWriter, first zstd path (level 3, lines as strings; last change)', async () => {
      const w = new ShardWriterZstd(store, writeDir, OUT, 'zstd3');
      for (const r of records) await w.write(r);
      written = await w.close();
    }, { minio: pid, after: removeBlobs(() => written) });
    await step(`write: ShardWriter, now (stringify, ${CODEC} in 1 MiB frames, file, sha256, upload)`, async () => {
      const w = new ShardWriter(store, writeDir, OUT, 'now');
      for (const r of records) await w.write(r);
      written = await w.close();
    }, { minio: pid, after: removeBlobs(() => written) });
    const readAll = (read: typeof readShardBefore, from: ArtifactFileT[]) => async () => {
      let n = 0;
      for (const f of from) for await (const d of read(store, f)) n += d.id ? 1 : 0;
      if (n !== DOCS) throw new Error(`read ${n} documents, wrote ${DOCS}`);
    };
    await step('read: readShard, before (readline, zod; gzip shards)', readAll(readShardBefore, gzFiles), { minio: pid });
    await step('read: readShard, gzip level 1 (LineSplitter, hand check; last change)', readAll(readShardGzip, gzFiles), { minio: pid });
    await step('read: readShard, first zstd path (lines decoded a chunk at a time, WeakMap; last change)', readAll(readShardZstd, files), { minio: pid });
    await step(`read: readShard, now (download, ${SHARD_CODEC} frames, lines as bytes, parse, check)`, readAll(readShard, files), { minio: pid });
    await step('read: readShard, now, of the gzip shards (written before: still readable)', readAll(readShard, gzFiles), { minio: pid });
    const passDir = fs.mkdtempSync(path.join(dir, 'p-'));
    const passBefore = await step('**pass-through, before**: readShard → ShardWriter', async () => {
      const w = new ShardWriterBefore(store, passDir, OUT, 'pass-before');
      for (const f of gzFiles) for await (const d of readShardBefore(store, f)) await w.write(d);
      written = await w.close();
    }, { minio: pid, after: removeBlobs(() => written) });
    const passGzip = await step('**pass-through, gzip level 1**: readShard → ShardWriter', async () => {
      const w = new ShardWriterGzip(store, passDir, OUT, 'pass-gzip');
      for (const f of gzFiles) for await (const d of readShardGzip(store, f)) await w.write(d);
      written = await w.close();
    }, { minio: pid, after: removeBlobs(() => written) });
    const passZstd = await step('**pass-through, first zstd path** (last change; the named baseline): readShard → ShardWriter', async () => {
      const w = new ShardWriterZstd(store, passDir, OUT, 'pass-zstd3');
      for (const f of files) for await (const d of readShardZstd(store, f)) await w.write(d);
      written = await w.close();
    }, { minio: pid, after: removeBlobs(() => written) });
    const pass = await step('**pass-through, now**: readShard → ShardWriter (unchanged records keep their line\'s bytes)', async () => {
      const w = new ShardWriter(store, passDir, OUT, 'pass');
      for (const f of files) for await (const d of readShard(store, f)) await w.write(d);
      written = await w.close();
    }, {
      minio: pid,
      async after() {
        // Untimed: what was written reads back as what was read.
        let i = 0;
        for (const f of written) {
          for await (const d of readShard(store, f)) {
            if (JSON.stringify(d) !== JSON.stringify(records[i++])) throw new Error(`document ${i - 1} changed on the way through`);
          }
        }
        if (i !== DOCS) throw new Error(`the pass-through wrote ${i} of ${DOCS} documents`);
        await removeBlobs(() => written)();
      },
    });

    const manifest = await store.writeManifest({
      kind: 'documents', schema: DOCUMENT_SCHEMA, files, parents: [], metrics: {},
      producer: { pipeline: 'bench', run: 'r', stage: 'corpus', stageKind: 'source', attempt: 1, cacheKey: 'corpus', createdAt: new Date().toISOString() },
    });
    const off = { enabled: false };
    const params = stageKinds.filter.params.parse({ language: off, gopherRepetition: off, gopherQuality: off, c4: off, fineweb: off, pii: off, shardSize: OUT });
    const filter = await step('filter stage, every rule off (as it runs inline)', async () => {
      const out = await filterStage.run!({
        pipeline: 'bench', run: 'r', stage: 'filter', attempt: 1, params, inputs: [{ stage: 'corpus', manifest }], store,
        workDir: fs.mkdtempSync(path.join(dir, 'f-')), signal: new AbortController().signal, progress: () => {}, resumeFrom: () => undefined, log: () => {},
      });
      if ((out.metrics as { kept: number }).kept !== DOCS) throw new Error('the filter stage dropped documents with every rule off');
      written = out.files;
    }, { minio: pid, after: removeBlobs(() => written) });

    const env = { docs: DOCS, shardSize: SHARD_SIZE, mb: MB, storedMb: storedBytes / 1e6, loadBefore, loadAfter: os.loadavg() };
    process.stdout.write(renderIo(rows, env) + '\n');
    const rate = (r: Row) => ({ mbPerCpuS: MB / r.cpuS, mbPerS: MB / r.wallS, docsPerS: DOCS / r.wallS });
    const summary = { ...env, codec: CODEC, reps: REPS, passThroughBefore: rate(passBefore), passThroughGzip: rate(passGzip), passThroughZstd: rate(passZstd), passThrough: rate(pass), filter: rate(filter), rows };
    if (values.json) fs.writeFileSync(values.json, JSON.stringify(summary, null, 2) + '\n');
    const ratio = summary.passThrough.mbPerCpuS / summary.passThroughZstd.mbPerCpuS;
    process.stdout.write(`pass-through, MB/s per core: now ${summary.passThrough.mbPerCpuS.toFixed(1)}, first zstd path (baseline) ${summary.passThroughZstd.mbPerCpuS.toFixed(1)}: ${ratio.toFixed(2)}×\n`);
    process.stdout.write(`RESULT ${JSON.stringify({ before: summary.passThroughBefore, gzip: summary.passThroughGzip, zstd: summary.passThroughZstd, now: summary.passThrough, nowOverZstd: ratio })}\n`);
  } finally {
    await minio?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function renderIo(rs: Row[], o: { docs: number; shardSize: number; mb: number; storedMb: number; loadBefore: number[]; loadAfter: number[] }): string {
  const f1 = (x: number) => x.toFixed(1);
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  return [
    `- ${o.docs.toLocaleString('en')} documents, ${f1(o.mb)} MB of JSONL (${f1(o.storedMb)} MB as ${CODEC} shards of ${o.shardSize.toLocaleString('en')}); ` +
      `fastest wall / least CPU of ${REPS} rep(s) per step`,
    `- ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}; load average before ${load(o.loadBefore)}, after ${load(o.loadAfter)}`,
    '',
    '| step | MB/s (wall) | MB/s per core (this process) | docs/s (wall) | MinIO CPU s | note |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rs.map((r) => `| ${r.step} | ${f1(r.bytes / 1e6 / r.wallS)} | ${f1(r.bytes / 1e6 / r.cpuS)} | ${Math.round(r.docs / r.wallS).toLocaleString('en')} | ${r.minioCpuS === undefined ? '' : r.minioCpuS.toFixed(1)} | ${r.note ?? ''} |`),
  ].join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
