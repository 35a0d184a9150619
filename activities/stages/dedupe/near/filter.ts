/**
 * Step 4 of near-dedupe, per input shard: copy the shard's documents except those in its drop list to output
 * shards. Blobs are content-addressed, so a retried task uploads nothing new. Also resolves the sample
 * clusters' document indexes in this shard to document ids for the report.
 */
import type { ArtifactFileT } from '../../../../schemas/manifest';
import { ShardWriter, readShard } from '../../../documents';
import type { StageContext } from '../../types';
import type { StageParams } from '../../../../schemas/stages';
import { getUint32, objectKeys } from './objects';

export interface FilterTask {
  prefix: string;
  shard: number;
  file: Pick<ArtifactFileT, 'key' | 'name'>;
  /** Global index of the shard's first document. */
  offset: number;
  drops: number;
  /** Global indexes in this shard whose document ids the report wants. */
  sampleIds: number[];
}

export interface FilterResult {
  files: ArtifactFileT[];
  kept: number;
  dropped: number;
  ids: Record<number, string>;
}

export async function filterShard(ctx: StageContext<StageParams<'dedupe'>>, task: FilterTask): Promise<FilterResult> {
  const drop = task.drops ? await getUint32(ctx.store, objectKeys.drops(task.prefix, task.shard)) : new Uint32Array(0);
  const wanted = new Set(task.sampleIds);
  const ids: Record<number, string> = {};
  const name = `shard-${String(task.shard).padStart(5, '0')}`;
  const writer = new ShardWriter(ctx.store, ctx.workDir, ctx.params.shardSize, name);
  let local = 0;
  let next = 0; // drop list is sorted: walk it alongside the documents
  for await (const doc of readShard(ctx.store, task.file as ArtifactFileT)) {
    if (wanted.has(task.offset + local)) ids[task.offset + local] = doc.id;
    if (next < drop.length && drop[next] === local) next++;
    else await writer.write(doc);
    if (++local % 5000 === 0) ctx.signal.throwIfAborted();
  }
  const files = await writer.close();
  return { files, kept: writer.total, dropped: next, ids };
}
