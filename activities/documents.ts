/**
 * Reading and writing `documents` artifacts: JSONL shards of DocumentRecords, compressed (activities/shard-codec.ts:
 * zstd now, gzip before; both read). Writers cut shards locally, upload each finished shard as a blob, and return
 * the manifest file entries.
 *
 * This is every data stage's I/O path, so it is kept cheap (bench/data/io.ts measures each step): lines are encoded
 * straight into 1 MiB blocks and each block is compressed as one zstd frame while the next fills; a line is decoded
 * only to be parsed; a record in the shape the writers produce is checked by hand (zod sees only the others, and
 * gives the error message); and a record read from a shard and written unchanged is written as the bytes of the line
 * it was read from, instead of serializing it again and encoding it to UTF-8.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DocumentRecord, type ArtifactFileT, type DocumentRecordT, type ManifestT } from '../schemas/manifest';
import { InputError } from './errors';
import { parsedLines } from './jsonl';
import { SHARD_CODEC, SHARD_EXTENSIONS, compressFrame, decompressed, isShardName } from './shard-codec';
import type { ArtifactStore } from './store';

/** Lines are compressed in blocks (zstd frames) of about this many bytes. */
const BLOCK = 1 << 20;

/**
 * The line a document record was read from (readShard), with the values the record had then, under a symbol key
 * that is not enumerable: JSON.stringify, for…in, spreads and deep equality do not see it. (A WeakMap from record to
 * line, the first form, cost a GC ephemeron per record: a third of the pass-through's time went to the collector.)
 * The line is a copy of its bytes (its text where the chunk had a "\r"), not a view of the decompressed chunk: a
 * record kept after its shard is read holds its own line, not the chunk's megabytes.
 */
const READ = Symbol('line read');
interface ReadLine {
  line: Buffer | string;
  id: string;
  text: string;
  source: string;
}

/**
 * The JSONL line of a record: the line it was read from when it is unchanged (same id, text and source, the keys
 * in the schema's order, metadata that serializes to the same JSON), else JSON.stringify.
 */
function lineOf(rec: unknown): Buffer | string {
  const read = typeof rec === 'object' && rec !== null ? (rec as { [READ]?: ReadLine })[READ] : undefined;
  if (read) {
    const d = rec as DocumentRecordT;
    if (d.text === read.text && d.id === read.id && d.source === read.source && asDocumentRecord(d)) {
      const tail = `,"metadata":${JSON.stringify(d.metadata)}}`;
      if (endsWith(read.line, tail)) return read.line;
    }
  }
  return JSON.stringify(rec);
}

function endsWith(line: Buffer | string, tail: string): boolean {
  if (typeof line === 'string') return line.endsWith(tail);
  const n = Buffer.byteLength(tail);
  // A cut inside a multi-byte character decodes to U+FFFD first, where the tail has its ",".
  return n <= line.length && line.toString('utf8', line.length - n) === tail;
}

/** Writes compressed JSONL shards of records (documents by default; other record kinds such as pairs too). */
export class ShardWriter<R = DocumentRecordT> {
  private file: fs.promises.FileHandle | undefined;
  private local: string | undefined;
  /** The block being filled, and how many of its bytes are lines. */
  private block = Buffer.allocUnsafe(BLOCK);
  private used = 0;
  /** The previous block: compressed (in libuv's thread pool) and written while this one fills. */
  private writing: Promise<void> = Promise.resolve();
  private count = 0;
  private index = 0;
  readonly files: ArtifactFileT[] = [];
  total = 0;

  constructor(
    private readonly store: ArtifactStore,
    private readonly dir: string,
    private readonly shardSize: number,
    private readonly name = 'shard',
  ) {}

  async write(rec: R): Promise<void> {
    const line = lineOf(rec);
    // At most this many bytes: a UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair: 4 bytes for 2 units).
    const most = typeof line === 'string' ? 3 * line.length : line.length;
    if (this.used + most + 1 > this.block.length) {
      await this.flush();
      if (most + 1 > this.block.length) this.block = Buffer.allocUnsafe(most + 1);
    }
    this.used += typeof line === 'string' ? this.block.write(line, this.used) : line.copy(this.block, this.used);
    this.block[this.used++] = 10;
    this.count++;
    this.total++;
    if (this.count >= this.shardSize) await this.cut();
  }

  /** Finish the last shard; returns every shard's file entry (uploaded). */
  async close(): Promise<ArtifactFileT[]> {
    await this.cut();
    return this.files;
  }

  /**
   * Starts compressing the filled block as one frame, to be appended to the shard's file (opened first if
   * needed) after the previous block; waits for the previous block, so that at most two are in memory.
   */
  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.writing;
    if (!this.file) {
      this.local = path.join(this.dir, `${this.name}-${String(this.index).padStart(5, '0')}${SHARD_EXTENSIONS[SHARD_CODEC]}`);
      this.file = await fs.promises.open(this.local, 'w');
    }
    const file = this.file;
    const frame = compressFrame(this.block.subarray(0, this.used));
    this.block = Buffer.allocUnsafe(BLOCK);
    this.used = 0;
    this.writing = frame.then((f) => writeAll(file, f));
    this.writing.catch(() => {}); // awaited by the next flush or cut
  }

  private async cut(): Promise<void> {
    if (this.count === 0) return;
    await this.flush();
    await this.writing;
    await this.file!.close();
    const local = this.local!;
    this.files.push(await this.store.putFile(local, path.basename(local), this.count));
    fs.rmSync(local, { force: true });
    this.file = undefined;
    this.local = undefined;
    this.count = 0;
    this.index++;
  }
}

async function writeAll(file: fs.promises.FileHandle, b: Buffer): Promise<void> {
  for (let off = 0; off < b.length; ) off += (await file.write(b, off, b.length - off)).bytesWritten;
}

/**
 * The document shards of a `documents` manifest. A manifest may carry side files too (a crawl's removed-URL
 * list, a filter's dropped documents); only `.jsonl.zst` (and, written before, `.jsonl.gz`) shards hold the
 * artifact's documents.
 */
export function documentShards(manifest: ManifestT): ArtifactFileT[] {
  return manifest.files.filter((f) => isShardName(f.name) && !f.name.startsWith('dropped-'));
}

/** Stream every document of a `documents` manifest, shard by shard, validating each record. */
export async function* readDocuments(store: ArtifactStore, manifest: ManifestT): AsyncGenerator<DocumentRecordT> {
  for (const f of documentShards(manifest)) {
    yield* readShard(store, f);
  }
}

/** The documents of one shard, in either codec (told by its first bytes), each validated. */
export async function* readShard(store: ArtifactStore, f: Pick<ArtifactFileT, 'key' | 'name'>): AsyncGenerator<DocumentRecordT> {
  yield* parsedLines(decompressed(await store.getStream(f.key), f.name), f.name, (value, n, line) => {
    const rec = asDocumentRecord(value);
    if (!rec) return parseDocumentRecord(value, f.name, n);
    const read: ReadLine = { line: typeof line === 'string' ? line : Buffer.from(line), id: rec.id, text: rec.text, source: rec.source };
    Object.defineProperty(rec, READ, { value: read });
    return rec;
  });
}

const RECORD_KEYS = ['id', 'text', 'source', 'metadata'];

/**
 * The record itself when it is what `DocumentRecord.parse` would return anyway: an object with exactly the
 * keys id, text, source, metadata in that order (the schema's, as every writer produces them), strings and a
 * metadata object. Anything else (undefined) goes through zod, which strips, orders, defaults or rejects.
 */
export function asDocumentRecord(value: unknown): DocumentRecordT | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const o = value as Record<string, unknown>;
  const m = o.metadata;
  if (typeof o.id !== 'string' || typeof o.text !== 'string' || typeof o.source !== 'string') return undefined;
  if (typeof m !== 'object' || m === null || Array.isArray(m) || Object.getPrototypeOf(m) !== Object.prototype) return undefined;
  let i = 0;
  for (const k in o) if (k !== RECORD_KEYS[i++]) return undefined;
  return o as DocumentRecordT;
}

/** A record through zod: stripped, ordered, defaulted, or an InputError naming the file and line. */
export function parseDocumentRecord(value: unknown, file: string, line: number): DocumentRecordT {
  const rec = DocumentRecord.safeParse(value);
  if (!rec.success) throw new InputError(`${file}:${line}: not a document record (${rec.error.issues[0]?.message})`);
  return rec.data;
}
