/**
 * Exact dedupe as a three-phase fan-out whose memory per task is bounded by a partition, not by the corpus:
 *   keys      per input shard: each document's 16-byte normalized-text digest and its position in the shard,
 *             grouped by hash partition into one object (partition p's records at offsets[p]..offsets[p+1]);
 *   decide    per partition: the shards' records of that partition in input order; the first occurrence of a
 *             key is kept, every later one is a drop (a reference input's keys come first and are never kept);
 *   filter    per input shard (a shard phase): the documents minus the positions any partition dropped.
 * "First" is input order, then record order, as in the single-heap version: the output does not depend on the
 * number of partitions, workers or the order tasks finish in.
 */
import { DOCUMENT_SCHEMA, type ArtifactFileT, type DocumentRecordT } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import { documentShards, readShard } from '../../documents';
import { gatherShards, recordsOf, shardPhase, sumStats, type ShardResult, type ShardTask } from '../../shard-map';
import { exactDigest } from './near/exact-key';
import { scratchPrefix } from '../../scratch';
import type { FanoutPhase, StageContext, TypedFanout } from '../types';
import { referenceFirst } from './inputs';

type Params = StageParams<'dedupe'>;

const KEY_BYTES = 16;
const RECORD_BYTES = KEY_BYTES + 4; // key, then the document's position in its shard (uint32 LE)
/** Keys one decide task holds at most (≈ 60 bytes each in a Set): about 60 MB per task. */
const KEYS_PER_PARTITION = 1_000_000;

interface KeysTask {
  prefix: string;
  shard: number;
  file: { key: string; name: string };
  reference: boolean;
  partitions: number;
}
interface KeysResult {
  prefix: string;
  shard: number;
  reference: boolean;
  docs: number;
  /** Byte offsets of each partition's records in the shard's key object; partitions + 1 entries. */
  offsets: number[];
}
interface DecideTask {
  prefix: string;
  partition: number;
  /** Per shard in input order: where this partition's records are. */
  shards: { shard: number; reference: boolean; from: number; to: number }[];
}
/** Per shard (input order): how many of its positions this partition drops (at `dropOffsets[i]` in the object). */
interface DecideResult {
  partition: number;
  drops: number[];
  dropOffsets: number[];
}
/** For one output shard: the drop lists to read, one per partition that drops any of its documents. */
type DropRefs = { key: string; from: number; count: number }[];

const keysObject = (prefix: string, shard: number) => `${prefix}keys-${String(shard).padStart(6, '0')}.bin`;
const dropsObject = (prefix: string, partition: number) => `${prefix}drops-${String(partition).padStart(6, '0')}.bin`;

async function computeKeys(ctx: StageContext<Params>, task: KeysTask): Promise<KeysResult> {
  const parts: Buffer[][] = Array.from({ length: task.partitions }, () => []);
  let docs = 0;
  for await (const doc of readShard(ctx.store, task.file as ArtifactFileT)) {
    const rec = Buffer.allocUnsafe(RECORD_BYTES);
    exactDigest(doc.text, ctx.params.normalize).copy(rec, 0);
    rec.writeUInt32LE(docs++, KEY_BYTES);
    parts[rec.readUInt32BE(0) % task.partitions].push(rec);
    if (docs % 10_000 === 0) ctx.signal.throwIfAborted();
  }
  const offsets = [0];
  for (const p of parts) offsets.push(offsets[offsets.length - 1] + p.length * RECORD_BYTES);
  const body = Buffer.concat(parts.flat());
  await ctx.store.putBuffer(keysObject(task.prefix, task.shard), body);
  return { prefix: task.prefix, shard: task.shard, reference: task.reference, docs, offsets };
}

async function decide(ctx: StageContext<Params>, task: DecideTask): Promise<DecideResult> {
  const seen = new Set<string>();
  const drops: number[] = [];
  const lists: Buffer[] = [];
  for (const s of task.shards) {
    const buf = await ctx.store.getRange(keysObject(task.prefix, s.shard), s.from, s.to);
    const dropped: number[] = [];
    for (let o = 0; o < buf.length; o += RECORD_BYTES) {
      const key = buf.toString('latin1', o, o + KEY_BYTES);
      if (!seen.has(key)) seen.add(key);
      else if (!s.reference) dropped.push(buf.readUInt32LE(o + KEY_BYTES));
    }
    drops.push(dropped.length);
    lists.push(Buffer.from(Uint32Array.from(dropped).buffer));
    ctx.signal.throwIfAborted();
  }
  const dropOffsets = [0];
  for (const l of lists) dropOffsets.push(dropOffsets[dropOffsets.length - 1] + l.length);
  const body = Buffer.concat(lists);
  await ctx.store.putBuffer(dropsObject(task.prefix, task.partition), body);
  return { partition: task.partition, drops, dropOffsets };
}

const keysPhase: FanoutPhase<Params, KeysTask, KeysResult, []> = {
  name: 'keys',
  async plan(ctx) {
    const inputs = referenceFirst(ctx);
    const partitions = Math.max(1, Math.ceil(recordsOf(inputs) / KEYS_PER_PARTITION));
    const prefix = scratchPrefix(ctx, 'exact-dedupe');
    const tasks: KeysTask[] = [];
    for (const input of inputs) {
      const reference = input.stage === ctx.params.against;
      for (const f of documentShards(input.manifest)) tasks.push({ prefix, shard: tasks.length, file: { key: f.key, name: f.name }, reference, partitions });
    }
    return tasks;
  },
  map: computeKeys,
};

const decidePhase: FanoutPhase<Params, DecideTask, DecideResult, [KeysResult[]]> = {
  name: 'decide',
  async plan(_ctx, [shards]) {
    if (!shards.length) return [];
    const partitions = shards[0].offsets.length - 1;
    return Array.from({ length: partitions }, (_, p) => ({
      prefix: shards[0].prefix,
      partition: p,
      shards: shards.map((s) => ({ shard: s.shard, reference: s.reference, from: s.offsets[p], to: s.offsets[p + 1] })),
    }));
  },
  map: decide,
};

type FilterStats = { input: number; kept: number };

const filterPhase = shardPhase<Params, FilterStats, DropRefs, DocumentRecordT, [KeysResult[], DecideResult[]]>({
  name: 'filter',
  reads: 'dedupe',
  shardSize: (p) => p.shardSize,
  inputs: (ctx) => referenceFirst(ctx).filter((i) => i.stage !== ctx.params.against),
  extra(ctx, [keys, decided], shard) {
    // Shard phase indices count only the mapped inputs; the keys phase counted the reference's shards first.
    const referenceShards = keys.filter((k) => k.reference).length;
    const k = shard.index + referenceShards;
    const { prefix } = keys[k];
    return decided
      .filter((d) => d.drops[k] > 0)
      .map((d) => ({ key: dropsObject(prefix, d.partition), from: d.dropOffsets[k], count: d.drops[k] }));
  },
  async map(ctx, docs, out, task: ShardTask<DropRefs>) {
    const dropped = new Set<number>();
    for (const ref of task.extra) {
      const buf = await ctx.store.getRange(ref.key, ref.from, ref.from + ref.count * 4);
      for (let o = 0; o < buf.length; o += 4) dropped.add(buf.readUInt32LE(o));
    }
    let input = 0;
    let kept = 0;
    for await (const doc of docs) {
      if (!dropped.has(input++)) {
        kept++;
        await out.write(doc);
      }
    }
    return { input, kept };
  },
});

export const exactDedupeFanout: TypedFanout<Params, [[KeysTask, KeysResult], [DecideTask, DecideResult], [ShardTask<DropRefs>, ShardResult<FilterStats>]]> = {
  phases: [keysPhase, decidePhase, filterPhase],
  async reduce(ctx, [keys, , filtered]) {
    const { files, stats } = gatherShards<FilterStats>(filtered);
    const { input, kept } = sumStats({ input: 0, kept: 0 }, stats);
    if (keys.length) await ctx.store.removePrefix(keys[0].prefix);
    const duplicates = input - kept;
    ctx.log(`dedupe: ${input} documents, ${duplicates} exact duplicates dropped`);
    return { files, schema: DOCUMENT_SCHEMA, metrics: { input, kept, duplicates, dupRate: input ? duplicates / input : 0 } };
  },
};
