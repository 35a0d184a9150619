/**
 * Step 2 of near-dedupe, per bucket group: k-way merge of every shard's sorted run of each band, so documents
 * sharing a bucket meet as one run of equal keys, in document order. A bucket of m documents yields the pairs
 * (first, each other) and (previous, next): enough to connect it, about 2m pairs instead of m²/2.
 */
import type { StageContext } from '../../types';
import { objectKeys, getUint32, putUint32 } from './objects';
import { compareKey64 } from './radix';
import { unpackSections } from './signatures';
import { mapLimit } from '../../../concurrency';
export { mapLimit };

export interface BucketTask {
  prefix: string;
  group: number;
  /** Global index of each shard's first document; length shards + 1. */
  offsets: number[];
}

export interface BucketResult {
  group: number;
  pairs: number;
  /** Largest bucket seen, a hint of boilerplate that LSH cannot tell apart. */
  largestBucket: number;
}

export async function mergeBuckets(ctx: StageContext<unknown>, task: BucketTask): Promise<BucketResult> {
  const shards = task.offsets.length - 1;
  const files = await mapLimit(shards, 8, (s) => getUint32(ctx.store, objectKeys.buckets(task.prefix, s, task.group)));
  const runs = files.map(unpackSections);
  const pairs = new PairBuffer();
  let largestBucket = 0;
  const sectionCount = runs[0]?.length ?? 0;
  for (let k = 0; k < sectionCount; k++) {
    ctx.signal.throwIfAborted();
    const merged = mergeRuns(runs.map((r, s) => ({ ...r[k], offset: task.offsets[s] })));
    let start = 0;
    for (let i = 1; i <= merged.ids.length; i++) {
      if (i < merged.ids.length && merged.hi[i] === merged.hi[start] && merged.lo[i] === merged.lo[start]) continue;
      largestBucket = Math.max(largestBucket, i - start);
      for (let j = start + 1; j < i; j++) {
        pairs.push(merged.ids[start], merged.ids[j]);
        // Exact keys are transitive already; band buckets also link neighbours, for pairs verification rejects.
        if (task.group > 0 && j - 1 > start) pairs.push(merged.ids[j - 1], merged.ids[j]);
      }
      start = i;
    }
  }
  await putUint32(ctx.store, objectKeys.pairs(task.prefix, task.group), pairs.view());
  return { group: task.group, pairs: pairs.length, largestBucket };
}

interface Run {
  hi: Uint32Array;
  lo: Uint32Array;
  id: Uint32Array;
  offset: number;
}

/** Merge sorted runs into one sequence of (key, global id); ties keep shard order, hence document order. */
function mergeRuns(runs: Run[]): { hi: Uint32Array; lo: Uint32Array; ids: Uint32Array } {
  const total = runs.reduce((n, r) => n + r.id.length, 0);
  const hi = new Uint32Array(total);
  const lo = new Uint32Array(total);
  const ids = new Uint32Array(total);
  const pos = new Uint32Array(runs.length);
  const less = (a: number, b: number) => {
    const c = compareKey64(runs[a].hi[pos[a]], runs[a].lo[pos[a]], runs[b].hi[pos[b]], runs[b].lo[pos[b]]);
    return c < 0 || (c === 0 && a < b);
  };
  const heap: number[] = [];
  const siftDown = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  runs.forEach((r, s) => r.id.length > 0 && heap.push(s));
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(i);
  for (let out = 0; out < total; out++) {
    const s = heap[0];
    const r = runs[s];
    [hi[out], lo[out], ids[out]] = [r.hi[pos[s]], r.lo[pos[s]], r.offset + r.id[pos[s]]];
    if (++pos[s] >= r.id.length) {
      heap[0] = heap[heap.length - 1];
      heap.pop();
    }
    siftDown(0);
  }
  return { hi, lo, ids };
}

/** A growable Uint32Array of (a, b) pairs. */
export class PairBuffer {
  private data = new Uint32Array(1024);
  length = 0;

  push(a: number, b: number): void {
    if (2 * this.length + 2 > this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[2 * this.length] = a;
    this.data[2 * this.length + 1] = b;
    this.length++;
  }

  view(): Uint32Array {
    return this.data.subarray(0, 2 * this.length);
  }
}

