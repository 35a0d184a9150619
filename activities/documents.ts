/**
 * Reading and writing `documents` artifacts: gzip-compressed JSONL shards of DocumentRecords. Writers cut shards
 * locally, upload each finished shard as a blob, and return the manifest file entries.
 *
 * This is every data stage's I/O path, so it is kept cheap (bench/data/io.ts measures each step): records are
 * written to gzip in batches of ~128 KiB rather than one stream write each, shards are compressed at gzip level
 * SHARD_GZIP_LEVEL, zlib works in 64 KiB chunks, lines are decoded once per chunk, and a record in the shape the
 * writers produce is checked by hand; zod sees only the others (and gives the error message).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { DocumentRecord, type ArtifactFileT, type DocumentRecordT, type ManifestT } from '../schemas/manifest';
import { InputError } from './errors';
import { parsedLines } from './jsonl';
import type { ArtifactStore } from './store';

/**
 * The gzip level of written shards. Level 1 compresses ~3× faster than zlib's default 6 and reads as fast, for
 * shards ~10 % larger (measured by bench:io, docs/benchmarks.md): shards are intermediate data, rewritten by
 * every stage, so time matters more than bytes.
 */
export const SHARD_GZIP_LEVEL = 1;
/** Records are handed to gzip in batches of about this many characters. */
const WRITE_BATCH = 128 << 10;
/** zlib's output chunk, both ways (its default, 16 KiB, costs a stream callback per 16 KiB). */
const ZLIB_CHUNK = 64 << 10;

/** Writes gzip JSONL shards of records (documents by default; other record kinds such as pairs too). */
export class ShardWriter<R = DocumentRecordT> {
  private out: zlib.Gzip | undefined;
  private local: string | undefined;
  private written: Promise<void> | undefined;
  private pending: string[] = [];
  private pendingChars = 0;
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
    const line = JSON.stringify(rec) + '\n';
    this.pending.push(line);
    this.pendingChars += line.length;
    this.count++;
    this.total++;
    if (this.count >= this.shardSize) await this.cut();
    else if (this.pendingChars >= WRITE_BATCH) await this.flush();
  }

  /** Finish the last shard; returns every shard's file entry (uploaded). */
  async close(): Promise<ArtifactFileT[]> {
    await this.cut();
    return this.files;
  }

  /** Hands the batched lines to gzip, opening the shard's file first if needed; waits while gzip is behind. */
  private async flush(): Promise<void> {
    if (!this.out) {
      this.local = path.join(this.dir, `${this.name}-${String(this.index).padStart(5, '0')}.jsonl.gz`);
      this.out = zlib.createGzip({ level: SHARD_GZIP_LEVEL, chunkSize: ZLIB_CHUNK });
      this.written = pipeline(this.out, fs.createWriteStream(this.local));
      this.written.catch(() => {}); // awaited in cut(); a write error also rejects the 'drain' wait below
    }
    const ok = this.out.write(this.pending.join(''));
    this.pending = [];
    this.pendingChars = 0;
    if (!ok) await once(this.out, 'drain');
  }

  private async cut(): Promise<void> {
    if (this.count === 0) return;
    await this.flush();
    this.out!.end();
    await this.written;
    const local = this.local!;
    this.files.push(await this.store.putFile(local, path.basename(local), this.count));
    fs.rmSync(local, { force: true });
    this.out = undefined;
    this.local = undefined;
    this.written = undefined;
    this.count = 0;
    this.index++;
  }
}

/**
 * The document shards of a `documents` manifest. A manifest may carry side files too (a crawl's removed-URL
 * list, a filter's dropped documents); only `.jsonl.gz` shards hold the artifact's documents.
 */
export function documentShards(manifest: ManifestT): ArtifactFileT[] {
  return manifest.files.filter((f) => f.name.endsWith('.jsonl.gz') && !f.name.startsWith('dropped-'));
}

/** Stream every document of a `documents` manifest, shard by shard, validating each record. */
export async function* readDocuments(store: ArtifactStore, manifest: ManifestT): AsyncGenerator<DocumentRecordT> {
  for (const f of documentShards(manifest)) {
    yield* readShard(store, f);
  }
}

export async function* readShard(store: ArtifactStore, f: ArtifactFileT): AsyncGenerator<DocumentRecordT> {
  const gunzip = zlib.createGunzip({ chunkSize: ZLIB_CHUNK });
  // pipeline, not pipe: a failed download must fail the read, not leave it waiting.
  pipeline(await store.getStream(f.key), gunzip).catch(() => {});
  yield* parsedLines(gunzip, f.name, (value, line) => asDocumentRecord(value) ?? parseRecord(value, f.name, line));
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

function parseRecord(value: unknown, file: string, line: number): DocumentRecordT {
  const rec = DocumentRecord.safeParse(value);
  if (!rec.success) throw new InputError(`${file}:${line}: not a document record (${rec.error.issues[0]?.message})`);
  return rec.data;
}
