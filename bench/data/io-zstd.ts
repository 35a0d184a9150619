/**
 * bench:io's third reference: the shard writer and reader of commit 7f486a1 (the first zstd path), frozen here so
 * that every bench:io run measures the current path against it on the same machine under the same load. Not used
 * by any stage. What it does that the current path does not:
 *
 *   - frames compressed through @mongodb-js/zstd's `compress(block, 1)`, whose JS wrapper drops the level: zstd's
 *     default level 3;
 *   - lines decoded to strings a chunk at a time, and a record's line kept as a string (the writer encodes it to
 *     UTF-8 again);
 *   - the line of each record read kept in a WeakMap (a GC ephemeron per record).
 *
 * The frame walking and decompression (activities/shard-codec.ts `decompressed`) are shared with the current path:
 * they did not change.
 */
import fs from 'node:fs';
import path from 'node:path';
import { compress } from '@mongodb-js/zstd';
import type { ArtifactFileT, DocumentRecordT } from '../../schemas/manifest';
import { InputError } from '../../activities/errors';
import { LineSplitter } from '../../activities/jsonl';
import { asDocumentRecord, parseDocumentRecord } from '../../activities/documents';
import { decompressed } from '../../activities/shard-codec';
import type { ArtifactStore } from '../../activities/store';

const BLOCK = 1 << 20;

const readLines = new WeakMap<object, { line: string; id: string; text: string; source: string }>();

function lineOf(rec: unknown): string {
  const read = typeof rec === 'object' && rec !== null ? readLines.get(rec) : undefined;
  if (read) {
    const d = rec as DocumentRecordT;
    if (d.text === read.text && d.id === read.id && d.source === read.source && asDocumentRecord(d)) {
      const tail = `,"metadata":${JSON.stringify(d.metadata)}}`;
      if (read.line.endsWith(tail)) return read.line;
    }
  }
  return JSON.stringify(rec);
}

export class ShardWriterZstd<R = DocumentRecordT> {
  private file: fs.promises.FileHandle | undefined;
  private local: string | undefined;
  private block = Buffer.allocUnsafe(BLOCK);
  private used = 0;
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
    if (this.used + 3 * line.length + 1 > this.block.length) {
      await this.flush();
      if (3 * line.length + 1 > this.block.length) this.block = Buffer.allocUnsafe(3 * line.length + 1);
    }
    this.used += this.block.write(line, this.used);
    this.block[this.used++] = 10;
    this.count++;
    this.total++;
    if (this.count >= this.shardSize) await this.cut();
  }

  async close(): Promise<ArtifactFileT[]> {
    await this.cut();
    return this.files;
  }

  private async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.writing;
    if (!this.file) {
      this.local = path.join(this.dir, `${this.name}-${String(this.index).padStart(5, '0')}.jsonl.zst`);
      this.file = await fs.promises.open(this.local, 'w');
    }
    const file = this.file;
    const frame = compress(this.block.subarray(0, this.used), 1);
    this.block = Buffer.allocUnsafe(BLOCK);
    this.used = 0;
    this.writing = frame.then(async (f) => {
      for (let off = 0; off < f.length; ) off += (await file.write(f, off, f.length - off)).bytesWritten;
    });
    this.writing.catch(() => {});
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

export async function* readShardZstd(store: ArtifactStore, f: Pick<ArtifactFileT, 'key' | 'name'>): AsyncGenerator<DocumentRecordT> {
  const splitter = new LineSplitter();
  let n = 0;
  const parse = function* (lines: string[]): Generator<DocumentRecordT> {
    for (const text of lines) {
      n++;
      if (text.charCodeAt(0) !== 123 && !text.trim()) continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new InputError(`${f.name}:${n}: not valid JSON`);
      }
      const rec = asDocumentRecord(value);
      if (!rec) {
        yield parseDocumentRecord(value, f.name, n);
        continue;
      }
      readLines.set(rec, { line: text, id: rec.id, text: rec.text, source: rec.source });
      yield rec;
    }
  };
  for await (const chunk of decompressed(await store.getStream(f.key), f.name)) yield* parse(splitter.push(chunk));
  yield* parse(splitter.end());
}
