/**
 * Reading and writing `documents` artifacts: gzip-compressed JSONL shards of DocumentRecords. Writers cut shards
 * locally, upload each finished shard as a blob, and return the manifest file entries.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { DocumentRecord, type ArtifactFileT, type DocumentRecordT, type ManifestT } from '../schemas/manifest';
import { InputError } from './errors';
import { jsonLines } from './jsonl';
import type { ArtifactStore } from './store';

/** Writes gzip JSONL shards of records (documents by default; other record kinds such as pairs too). */
export class ShardWriter<R = DocumentRecordT> {
  private out: zlib.Gzip | undefined;
  private file: fs.WriteStream | undefined;
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
    if (!this.out) this.open();
    const ok = this.out!.write(JSON.stringify(rec) + '\n');
    this.count++;
    this.total++;
    if (!ok) await once(this.out!, 'drain');
    if (this.count >= this.shardSize) await this.cut();
  }

  /** Finish the last shard; returns every shard's file entry (uploaded). */
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
  const stream = (await store.getStream(f.key)).pipe(zlib.createGunzip());
  for await (const { value, line } of jsonLines(stream, f.name)) {
    const rec = DocumentRecord.safeParse(value);
    if (!rec.success) throw new InputError(`${f.name}:${line}: not a document record (${rec.error.issues[0]?.message})`);
    yield rec.data;
  }
}
