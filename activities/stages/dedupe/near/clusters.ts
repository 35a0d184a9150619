/**
 * Step 3 of near-dedupe, one task: join exact pairs, confirm LSH candidate pairs by signature similarity,
 * and union the confirmed ones. Only the signatures of documents in candidate pairs are loaded, a shard at a
 * time. Writes, per shard, the sorted local indexes of the documents to drop (all but the first of a cluster).
 */
import type { StageContext } from '../../types';
import { mapLimit } from './buckets';
import { estimateJaccard } from './minhash';
import { getUint32, objectKeys, putUint32 } from './objects';
import type { NearOptions } from './params';
import { UnionFind } from './union-find';
import { clusterReport, type ClusterReport } from './report';

export interface ClusterTask {
  prefix: string;
  groups: number;
  offsets: number[];
  /** Reference documents come first: indexes below this are never written out. */
  referenceDocs: number;
}

export interface ClusterResult extends ClusterReport {
  /** Documents to drop, per shard. */
  drops: number[];
  candidatePairs: number;
  rejectedPairs: number;
}

export async function buildClusters(ctx: StageContext<unknown>, opts: NearOptions, task: ClusterTask): Promise<ClusterResult> {
  const total = task.offsets[task.offsets.length - 1];
  const uf = new UnionFind(total);
  const exactDup = new Uint8Array(total);
  const exact = await getUint32(ctx.store, objectKeys.pairs(task.prefix, 0));
  for (let i = 0; i < exact.length; i += 2) {
    uf.union(exact[i], exact[i + 1]);
    exactDup[exact[i + 1]] = 1;
  }
  const near = await mapLimit(task.groups - 1, 8, (g) => getUint32(ctx.store, objectKeys.pairs(task.prefix, g + 1)));
  const candidatePairs = near.reduce((n, p) => n + p.length / 2, 0);
  const sigs = opts.verify ? await loadSignatures(ctx, opts, task, near, uf) : undefined;
  let rejectedPairs = 0;
  const rejected = new Set<number>();
  for (const pairs of near) {
    ctx.signal.throwIfAborted();
    for (let i = 0; i < pairs.length; i += 2) {
      const [a, b] = [pairs[i], pairs[i + 1]];
      if (uf.find(a) === uf.find(b)) continue;
      if (sigs) {
        const key = a * total + b; // < 2^53 below 94 million documents; beyond that only the cache degrades
        if (rejected.has(key)) continue;
        if (estimateJaccard(sigs.data, sigs.slot[a], sigs.slot[b], opts.numPerm) < opts.threshold) {
          rejected.add(key);
          rejectedPairs++;
          continue;
        }
      }
      uf.union(a, b);
    }
  }
  const shards = task.offsets.length - 1;
  const drops: number[] = [];
  for (let s = 0; s < shards; s++) {
    const local: number[] = [];
    if (task.offsets[s] >= task.referenceDocs) {
      for (let d = task.offsets[s]; d < task.offsets[s + 1]; d++) if (uf.find(d) !== d) local.push(d - task.offsets[s]);
    }
    if (local.length) await putUint32(ctx.store, objectKeys.drops(task.prefix, s), Uint32Array.from(local));
    drops.push(local.length);
  }
  return { ...clusterReport(uf, exactDup, task.referenceDocs), drops, candidatePairs, rejectedPairs };
}

/** Signatures of the documents that appear in a not-yet-joined candidate pair, packed; slot[d] is d's row. */
async function loadSignatures(ctx: StageContext<unknown>, opts: NearOptions, task: ClusterTask, near: Uint32Array[], uf: UnionFind) {
  const total = task.offsets[task.offsets.length - 1];
  const slot = new Int32Array(total).fill(-1);
  let needed = 0;
  for (const pairs of near) {
    for (let i = 0; i < pairs.length; i += 2) {
      if (uf.find(pairs[i]) === uf.find(pairs[i + 1])) continue;
      for (const d of [pairs[i], pairs[i + 1]]) if (slot[d] < 0) slot[d] = needed++;
    }
  }
  const data = new Uint32Array(needed * opts.numPerm);
  const shards = task.offsets.length - 1;
  await mapLimit(shards, 4, async (s) => {
    const [from, to] = [task.offsets[s], task.offsets[s + 1]];
    let any = false;
    for (let d = from; d < to && !any; d++) any = slot[d] >= 0;
    if (!any) return;
    const shardSigs = await getUint32(ctx.store, objectKeys.signatures(task.prefix, s));
    for (let d = from; d < to; d++) {
      if (slot[d] >= 0) data.set(shardSigs.subarray((d - from) * opts.numPerm, (d - from + 1) * opts.numPerm), slot[d] * opts.numPerm);
    }
  });
  return { slot, data };
}
