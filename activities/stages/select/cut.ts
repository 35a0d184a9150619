/**
 * The exact global cut of a top-k selection, found by radix select over per-shard histograms instead of a sort
 * of every key. A key (a finite float64) maps to 64 order-preserving bits (sign flipped for positives, every bit
 * flipped for negatives: unsigned order = numeric order), read as four 16-bit digits from the top. Level L
 * counts, per shard, the keys whose first L digits equal the current prefix, by their digit L: a histogram of
 * 65,536 bins, each with its count and its smallest and largest key. Merging the shards' histograms, the bins
 * from the top are summed until they hold `need` keys; in that boundary bin either
 *   - all of its keys are needed: keep every key ≥ the bin's smallest key;
 *   - all of its keys are equal (smallest = largest): keep every key above it and, of the keys equal to it,
 *     the first `need − above` in input order (shard by shard: each shard's count in that bin);
 *   - otherwise the next level refines that bin (prefix · digit). Level 3's bins are single keys, so at most
 *     three refine passes follow the first histogram, and usually one or none does.
 * Every step is integer counting over exact keys, so the cut is the one a full sort by key (desc, then input
 * order) gives, whatever the number of shards or the order in which they were counted.
 */
import type { ArtifactStore } from '../../store';

export const DIGIT_BITS = 16;
export const BINS = 1 << DIGIT_BITS;
export const LEVELS = 4;
/** Bytes of one non-empty bin in a histogram object: bin (u32), count (u32), smallest and largest key (f64). */
const ENTRY_BYTES = 24;

/**
 * Which documents a selection keeps by key: every key greater than `above` (null: every document), and of the
 * keys equal to it all (`'all'`) or, per shard ([shard, count], absent: none), the first `count` in shard order.
 */
export interface Cut {
  above: number | null;
  ties: 'all' | [number, number][];
}

export const KEEP_ALL: Cut = { above: null, ties: 'all' };

/** The next level to count: keys whose first `level` digits are `prefix`, of which `need` are kept. */
export interface Pending {
  level: number;
  prefix: number;
  need: number;
}

export type CutStep = { cut: Cut } | { next: Pending };

const view = new DataView(new ArrayBuffer(8));
const digitsOut = [0, 0, 0, 0];

/** The four 16-bit digits of a key's order-preserving bits (-0 as 0), most significant first (a shared array: copy to keep). */
export function digits(key: number): readonly number[] {
  view.setFloat64(0, key + 0);
  let hi = view.getUint32(0);
  let lo = view.getUint32(4);
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  digitsOut[0] = hi >>> 16;
  digitsOut[1] = hi & 0xffff;
  digitsOut[2] = lo >>> 16;
  digitsOut[3] = lo & 0xffff;
  return digitsOut;
}

/** The first `level` digits as one number (at most 48 bits: exact in a double). */
export function prefixOf(d: readonly number[], level: number): number {
  let p = 0;
  for (let j = 0; j < level; j++) p = p * BINS + d[j];
  return p;
}

/** A key as the selection compares it: -0 is 0 (the sort it replaces saw them as equal); NaN and ±∞ are bugs. */
export function normalKey(x: number): number {
  if (!Number.isFinite(x)) throw new Error(`select: a document's key is ${x}`);
  return x + 0;
}

/** One shard's histogram at one level. */
export class LevelHistogram {
  private readonly count = new Uint32Array(BINS);
  private readonly min = new Float64Array(BINS).fill(Infinity);
  private readonly max = new Float64Array(BINS).fill(-Infinity);
  matched = 0;

  constructor(
    readonly level: number,
    readonly prefix: number,
  ) {}

  /** Counts `key` when its first `level` digits are the prefix. */
  add(key: number): void {
    const d = digits(key);
    if (this.level && prefixOf(d, this.level) !== this.prefix) return;
    const b = d[this.level];
    this.count[b]++;
    if (key < this.min[b]) this.min[b] = key;
    if (key > this.max[b]) this.max[b] = key;
    this.matched++;
  }

  /** The non-empty bins in ascending order, ENTRY_BYTES each. */
  encode(): Buffer {
    let used = 0;
    for (let b = 0; b < BINS; b++) if (this.count[b]) used++;
    const buf = Buffer.alloc(used * ENTRY_BYTES);
    let o = 0;
    for (let b = 0; b < BINS; b++) {
      if (!this.count[b]) continue;
      buf.writeUInt32LE(b, o);
      buf.writeUInt32LE(this.count[b], o + 4);
      buf.writeDoubleLE(this.min[b], o + 8);
      buf.writeDoubleLE(this.max[b], o + 16);
      o += ENTRY_BYTES;
    }
    return buf;
  }
}

function* entries(buf: Buffer): Generator<{ bin: number; count: number; min: number; max: number }> {
  for (let o = 0; o + ENTRY_BYTES <= buf.length; o += ENTRY_BYTES) {
    yield { bin: buf.readUInt32LE(o), count: buf.readUInt32LE(o + 4), min: buf.readDoubleLE(o + 8), max: buf.readDoubleLE(o + 16) };
  }
}

/**
 * One level of the select: merges the histograms of `shards` (only those with keys under the prefix; each read
 * once, or twice when the answer is a tie) and either resolves the cut or names the bin to refine.
 */
export async function resolveLevel(
  readHistogram: (shard: number) => Promise<Buffer>,
  shards: readonly number[],
  pending: Pending,
  signal?: AbortSignal,
): Promise<CutStep> {
  const count = new Float64Array(BINS);
  const min = new Float64Array(BINS).fill(Infinity);
  const max = new Float64Array(BINS).fill(-Infinity);
  for (const s of shards) {
    for (const e of entries(await readHistogram(s))) {
      count[e.bin] += e.count;
      if (e.min < min[e.bin]) min[e.bin] = e.min;
      if (e.max > max[e.bin]) max[e.bin] = e.max;
    }
    signal?.throwIfAborted();
  }
  let above = 0;
  for (let b = BINS - 1; b >= 0; b--) {
    const c = count[b];
    if (!c) continue;
    if (above + c < pending.need) {
      above += c;
      continue;
    }
    const rest = pending.need - above;
    if (rest === c) return { cut: { above: min[b], ties: 'all' } };
    if (min[b] === max[b]) {
      // Every key of the bin is the cut key: the first `rest` of them in input order, shard by shard.
      const ties: [number, number][] = [];
      let left = rest;
      for (const s of shards) {
        if (!left) break;
        for (const e of entries(await readHistogram(s))) {
          if (e.bin !== b) continue;
          const m = Math.min(e.count, left);
          ties.push([s, m]);
          left -= m;
        }
      }
      return { cut: { above: min[b], ties } };
    }
    if (pending.level + 1 >= LEVELS) throw new Error(`select: level ${pending.level} bin ${b} holds different keys ${min[b]}, ${max[b]}`);
    return { next: { level: pending.level + 1, prefix: pending.prefix * BINS + b, need: rest } };
  }
  throw new Error(`select: the histograms hold ${above} keys under prefix ${pending.prefix}, fewer than the ${pending.need} needed`);
}

/** Whether each document of one shard, in order, is kept by the cut (its shard's allowance of keys equal to the cut key). */
export class ShardCut {
  private seen = 0;
  constructor(
    private readonly above: number | null,
    /** Of this shard's keys equal to `above`: how many are kept (Infinity: all). */
    private readonly ties: number,
  ) {}

  keeps(key: number): boolean {
    if (this.above === null || key > this.above) return true;
    if (key < this.above) return false;
    return this.seen++ < this.ties;
  }
}

/** This shard's allowance of keys equal to the cut key (JSON-safe: 'all' rather than Infinity). */
export function tiesOf(cut: Cut, shard: number): number | 'all' {
  if (cut.ties === 'all') return 'all';
  return cut.ties.find(([s]) => s === shard)?.[1] ?? 0;
}

export async function readObject(store: ArtifactStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function putObject(store: ArtifactStore, key: string, body: Buffer): Promise<void> {
  await store.client.putObject(store.bucket, store.key(key), body, body.length);
}

/** A float64 array as little-endian bytes, and back. */
export function float64Bytes(a: Float64Array): Buffer {
  const buf = Buffer.allocUnsafe(a.length * 8);
  for (let i = 0; i < a.length; i++) buf.writeDoubleLE(a[i], i * 8);
  return buf;
}

export function bytesFloat64(buf: Buffer): Float64Array {
  const out = new Float64Array(buf.byteLength >>> 3);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}
