/**
 * bench:io's second reference: the shard writer and reader of the gzip era (commit 4cb954c's activities/documents.ts:
 * gzip level 1, records handed to gzip in ~128 KiB batches, 64 KiB zlib chunks), frozen here so that every bench:io
 * run measures the zstd path against it on the same machine under the same load. Not used by any stage.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { type ArtifactFileT, type DocumentRecordT } from '../../schemas/manifest';
import { parsedLines } from '../../activities/jsonl';
import { asDocumentRecord, parseDocumentRecord } from '../../activities/documents';
import type { ArtifactStore } from '../../activities/store';

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
export class ShardWriterGzip<R = DocumentRecordT> {
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

export async function* readShardGzip(store: ArtifactStore, f: ArtifactFileT): AsyncGenerator<DocumentRecordT> {
  const gunzip = zlib.createGunzip({ chunkSize: ZLIB_CHUNK });
  // pipeline, not pipe: a failed download must fail the read, not leave it waiting.
  pipeline(await store.getStream(f.key), gunzip).catch(() => {});
  yield* parsedLines(gunzip, f.name, (value, line) => asDocumentRecord(value) ?? parseDocumentRecord(value, f.name, line));
}

