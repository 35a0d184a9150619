/**
 * bench:io's reference: the shard reader and writer as they were before the I/O path was tuned (commit af6ae05's
 * activities/documents.ts and jsonl.ts), frozen here so every bench:io run measures before and after on the same
 * machine under the same load. Not used by any stage.
 *
 * Writer: one gzip stream write per record, zlib's default level (6), 16 KiB chunks. Reader: readline over the
 * gunzip stream, JSON.parse per line, zod's DocumentRecord.safeParse per record.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { InputError } from '../../activities/errors';
import type { ArtifactStore } from '../../activities/store';
import { DocumentRecord, type ArtifactFileT, type DocumentRecordT } from '../../schemas/manifest';

export class ShardWriterBefore {
  private out: zlib.Gzip | undefined;
  private file: fs.WriteStream | undefined;
  private count = 0;
  private index = 0;
  readonly files: ArtifactFileT[] = [];

  constructor(
    private readonly store: ArtifactStore,
    private readonly dir: string,
    private readonly shardSize: number,
    private readonly name = 'shard',
  ) {}

  async write(rec: DocumentRecordT): Promise<void> {
    if (!this.out) this.open();
    const ok = this.out!.write(JSON.stringify(rec) + '\n');
    this.count++;
    if (!ok) await once(this.out!, 'drain');
    if (this.count >= this.shardSize) await this.cut();
  }

  async close(): Promise<ArtifactFileT[]> {
    await this.cut();
    return this.files;
  }

  private open(): void {
    const file = path.join(this.dir, `${this.name}-${String(this.index).padStart(5, '0')}.jsonl.gz`);
    this.file = fs.createWriteStream(file);
    this.out = zlib.createGzip();
    this.out.pipe(this.file);
  }

  private async cut(): Promise<void> {
    if (!this.out || !this.file) return;
    const file = this.file;
    this.out.end();
    await once(file, 'close');
    const local = file.path as string;
    this.files.push(await this.store.putFile(local, path.basename(local), this.count));
    fs.rmSync(local, { force: true });
    this.out = undefined;
    this.file = undefined;
    this.count = 0;
    this.index++;
  }
}

export async function* readShardBefore(store: ArtifactStore, f: ArtifactFileT): AsyncGenerator<DocumentRecordT> {
  const stream = (await store.getStream(f.key)).pipe(zlib.createGunzip());
  for await (const { value, line } of jsonLinesBefore(stream, f.name)) {
    const rec = DocumentRecord.safeParse(value);
    if (!rec.success) throw new InputError(`${f.name}:${line}: not a document record (${rec.error.issues[0]?.message})`);
    yield rec.data;
  }
}

async function* jsonLinesBefore(input: Readable, where: string): AsyncGenerator<{ value: unknown; line: number }> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new InputError(`${where}:${n}: not valid JSON`);
    }
    yield { value, line: n };
  }
}
