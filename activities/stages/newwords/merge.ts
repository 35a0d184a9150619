/**
 * Phase `merge`, one task per partition: the partition's counts summed over every domain shard give
 *   its candidates  candidate length, frequency ≥ minFreq (with their general count, from the general shards);
 *   its parts       its frequent n-grams shorter than a candidate: the counts PMI divides by, which the lookup
 *                   phase answers other partitions' requests from (a part is at least as frequent as any
 *                   candidate containing it, so a part below minFreq is never asked for);
 *   requests        the parts its candidates need, grouped by the partition that owns each part;
 *   extensions      for each of its n-grams `w y` (`x w`) counted at least twice whose `w` has a candidate's
 *                   length: the count, sent to w's partition as a right (left) neighbour count of `w` — an
 *                   extension counted once adds 1·ln 1 = 0 to the entropy and is not sent.
 * The requests and extensions for partition q are one byte range each of this partition's `outbox` object.
 *
 * Memory: the partition's distinct n-grams (one table), then only its candidates.
 */
import zlib from 'node:zlib';
import type { StageContext } from '../types';
import { RecordWriter, keyLang, keyLength, keyUnits, partitionOf, readSection, records, scratch, subKey } from './records';
import { shapeOf, type Params } from './shape';

export interface MergeTask {
  prefix: string;
  partition: number;
  partitions: number;
  /** Per domain shard: [shard, from, to] of this partition's records. */
  domain: [number, number, number][];
  /** Per general shard: [shard, from, to]. */
  general: [number, number, number][];
}

export interface MergeResult {
  partition: number;
  candidates: number;
  /** Per partition q this one sends anything to: [q, requests from, extensions from, extensions to] in its outbox. */
  outbox: [number, number, number, number][];
}

/** A candidate after the merge: [key, frequency, general count]. */
export type FoundRow = [string, number, number];

export async function mergePartition(ctx: StageContext<Params>, task: MergeTask): Promise<MergeResult> {
  const p = ctx.params;
  const shape = shapeOf(p);
  const { prefix, partition, partitions } = task;
  const counts = new Map<string, number>();
  for (const [shard, from, to] of task.domain) {
    for (const [key, c] of records(await readSection(ctx.store, scratch.counts(prefix, shard), from, to))) counts.set(key, (counts.get(key) ?? 0) + c);
    ctx.signal.throwIfAborted();
  }

  const candidates = new Map<string, { freq: number; general: number }>();
  const parts = new RecordWriter();
  const extensions = Array.from({ length: partitions }, () => new RecordWriter());
  for (const [key, c] of counts) {
    const lang = keyLang(key);
    const n = keyLength(key);
    if (c >= p.minFreq) {
      if (n >= shape.minN[lang] && n <= shape.maxN[lang]) candidates.set(key, { freq: c, general: 0 });
      if (n < shape.maxN[lang]) parts.add(c, key);
    }
    if (c >= 2 && n > shape.minN[lang]) {
      const units = keyUnits(key);
      const right = subKey(key, units, 0, n - 1);
      const left = subKey(key, units, 1, n);
      extensions[partitionOf(right, partitions)].add(c, `R${right}`);
      extensions[partitionOf(left, partitions)].add(c, `L${left}`);
    }
  }
  counts.clear();

  for (const [shard, from, to] of task.general) {
    for (const [key, c] of records(await readSection(ctx.store, scratch.counts(prefix, shard), from, to))) {
      const cand = candidates.get(key);
      if (cand) cand.general += c;
    }
    ctx.signal.throwIfAborted();
  }

  const keys = [...candidates.keys()].sort();
  const rows: string[] = [];
  const wanted = new Set<string>();
  for (const key of keys) {
    const c = candidates.get(key)!;
    rows.push(JSON.stringify([key, c.freq, c.general] satisfies FoundRow));
    const n = keyLength(key);
    if (n < 2) continue;
    const units = keyUnits(key);
    for (let k = 1; k < n; k++) {
      wanted.add(subKey(key, units, 0, k));
      wanted.add(subKey(key, units, k, n));
    }
  }
  const requests = Array.from({ length: partitions }, () => new RecordWriter());
  for (const key of [...wanted].sort()) requests[partitionOf(key, partitions)].add(0, key);

  const bodies: Buffer[] = [];
  const outbox: MergeResult['outbox'] = [];
  let at = 0;
  for (let q = 0; q < partitions; q++) {
    const req = requests[q].gzip();
    const ext = extensions[q].gzip();
    if (req.length || ext.length) outbox.push([q, at, at + req.length, at + req.length + ext.length]);
    bodies.push(req, ext);
    at += req.length + ext.length;
  }
  await ctx.store.putBuffer(scratch.outbox(prefix, partition), Buffer.concat(bodies));
  await ctx.store.putBuffer(scratch.parts(prefix, partition), parts.gzip());
  await ctx.store.putBuffer(scratch.found(prefix, partition), zlib.gzipSync(rows.map((r) => `${r}\n`).join(''), { level: 1 }));
  return { partition, candidates: keys.length, outbox };
}
