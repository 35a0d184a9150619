/**
 * Phase `count`, one task per input shard (the domain inputs' shards, then the general input's): the n-grams of
 * the shard's sampled documents, counted and written as one object with each partition's records at a byte
 * range (the offsets are the task's small result). A domain shard counts every n-gram of 1..maxN + 1 units: a
 * candidate, the parts its PMI divides by, and its extensions by one unit, whose counts are its neighbour
 * distributions. A general shard counts the n-grams of a candidate's length (for the over-representation ratio).
 *
 * Memory is bounded by the shard: the table is spilled (encoded, compressed, appended to a local file) whenever
 * it reaches `tuning.spillEntries` keys; a key spilled twice is two records that the merge adds up.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ArtifactFileT } from '../../../schemas/manifest';
import { readShard } from '../../documents';
import type { StageContext } from '../types';
import { LANG_CODE, RecordWriter, partitionOf, sampled, scratch, separator } from './records';
import { sequences, type Lang } from './text';
import { shapeOf, tuning, type Params } from './shape';

export type Role = 'domain' | 'general';

export interface CountTask {
  prefix: string;
  shard: number;
  role: Role;
  file: { key: string; name: string; records?: number };
  partitions: number;
}

export interface CountResult {
  prefix: string;
  partitions: number;
  shard: number;
  role: Role;
  /** Documents read, and those in the sample (counted). */
  read: number;
  docs: number;
  /** Units (characters, words) of the counted sequences, per language. */
  units: Record<Lang, number>;
  /** Partition p's records are at [offsets[p], offsets[p + 1]). */
  offsets: number[];
}

const PROGRESS_EVERY = 1000;

/** The spilled pieces of one shard's object, in a local file: per partition, (offset, length) per spill. */
class Spills {
  private readonly fd: number;
  private size = 0;
  readonly pieces: [number, number][][];

  constructor(
    readonly file: string,
    partitions: number,
  ) {
    this.fd = fs.openSync(file, 'w+');
    this.pieces = Array.from({ length: partitions }, () => []);
  }

  add(partition: number, body: Buffer): void {
    if (!body.length) return;
    fs.writeSync(this.fd, body, 0, body.length, this.size);
    this.pieces[partition].push([this.size, body.length]);
    this.size += body.length;
  }

  /** The object's byte offsets: per partition, the concatenation of its pieces. */
  offsets(): number[] {
    const out = [0];
    for (const s of this.pieces) out.push(out[out.length - 1] + s.reduce((n, [, len]) => n + len, 0));
    return out;
  }

  /** The object's bytes in partition order, read back piece by piece. */
  stream(): Readable {
    const { fd, pieces } = this;
    return Readable.from(
      (function* () {
        for (const s of pieces) {
          for (const [at, len] of s) {
            const buf = Buffer.allocUnsafe(len);
            fs.readSync(fd, buf, 0, len, at);
            yield buf;
          }
        }
      })(),
    );
  }

  close(): void {
    fs.closeSync(this.fd);
    fs.rmSync(this.file, { force: true });
  }
}

export async function countShard(ctx: StageContext<Params>, task: CountTask): Promise<CountResult> {
  const p = ctx.params;
  const shape = shapeOf(p);
  const domain = task.role === 'domain';
  const counts = new Map<string, number>();
  const spills = new Spills(path.join(ctx.workDir, `newwords-counts-${task.shard}.bin`), task.partitions);
  const units = { zh: 0, en: 0 };
  let read = 0;
  let docs = 0;

  const spill = () => {
    const parts = Array.from({ length: task.partitions }, () => new RecordWriter());
    for (const [key, c] of counts) parts[partitionOf(key, task.partitions)].add(c, key);
    counts.clear();
    parts.forEach((w, partition) => spills.add(partition, w.gzip()));
  };

  try {
    for await (const doc of readShard(ctx.store, task.file as ArtifactFileT)) {
      if (++read % PROGRESS_EVERY === 0) {
        ctx.signal.throwIfAborted();
        ctx.progress({ fraction: task.file.records ? Math.min(1, read / task.file.records) : undefined, message: `count ${task.file.name}: ${read} documents` });
      }
      if (!sampled(doc.id, p.sample, p.sampleSeed)) continue;
      docs++;
      for (const s of sequences(doc.text, p.language)) {
        units[s.lang] += s.units.length;
        // Domain: every n-gram up to one unit longer than a candidate (its extensions); general: candidates only.
        count(counts, s.lang, s.units, domain ? 1 : shape.minN[s.lang], domain ? shape.maxN[s.lang] + 1 : shape.maxN[s.lang]);
      }
      if (counts.size >= tuning.spillEntries) spill();
    }
    spill();
    const offsets = spills.offsets();
    const key = scratch.counts(task.prefix, task.shard);
    await ctx.store.client.putObject(ctx.store.bucket, ctx.store.key(key), spills.stream(), offsets[offsets.length - 1]);
    return { prefix: task.prefix, partitions: task.partitions, shard: task.shard, role: task.role, read, docs, units, offsets };
  } finally {
    spills.close();
  }
}

/** Adds the n-grams of `units` with lengths lo..hi to the table. */
function count(counts: Map<string, number>, lang: Lang, units: string[], lo: number, hi: number): void {
  const sep = separator(lang);
  const code = LANG_CODE[lang];
  for (let i = 0; i < units.length; i++) {
    let text = '';
    for (let n = 1; n <= hi && i + n <= units.length; n++) {
      text = n === 1 ? units[i] : text + sep + units[i + n - 1];
      if (n < lo) continue;
      const key = `${code}${n}${text}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
}
