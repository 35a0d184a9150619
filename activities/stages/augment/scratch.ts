/**
 * What the augment phases exchange through the store: scratch objects under one prefix per stage run (removed by
 * the reduce), holding word records — [u32 word bytes][u32 document frequency][f64 value][word, UTF-8] — in
 * gzip sections, so that a byte range of one partition or one language is readable on its own. The value is a
 * word's summed fixed-point TF (statistics), its corpus TF-IDF (merged partitions) or its cumulative sampling
 * weight (the model). Task results in the ledger hold only offsets and counters.
 */
import zlib from 'node:zlib';
import type { ArtifactStore } from '../../store';

const HEAD = 16;

/** Appends word records to a growing buffer. */
export class WordRecords {
  private buf = Buffer.allocUnsafe(1024);
  length = 0;
  records = 0;

  add(word: string, df: number, value: number): void {
    const bytes = Buffer.byteLength(word);
    this.reserve(HEAD + bytes);
    this.buf.writeUInt32LE(bytes, this.length);
    this.buf.writeUInt32LE(df, this.length + 4);
    this.buf.writeDoubleLE(value, this.length + 8);
    this.buf.write(word, this.length + HEAD, bytes, 'utf8');
    this.length += HEAD + bytes;
    this.records++;
  }

  /** The records, gzip-compressed (empty when there are none); the writer starts over. */
  take(): Buffer {
    const out = this.length ? zlib.gzipSync(this.buf.subarray(0, this.length), { level: 1 }) : Buffer.alloc(0);
    this.length = 0;
    this.records = 0;
    return out;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

/** One record of an uncompressed section, read in place. */
export interface WordRecord {
  word: string;
  df: number;
  value: number;
}

/** A cursor over the records of an uncompressed section (one object reused per record: copy what you keep). */
export class RecordCursor {
  private at = 0;
  readonly rec: WordRecord = { word: '', df: 0, value: 0 };

  constructor(private readonly buf: Buffer) {}

  /** Moves to the next record; false at the end. */
  next(): boolean {
    if (this.at >= this.buf.length) return false;
    const bytes = this.buf.readUInt32LE(this.at);
    this.rec.df = this.buf.readUInt32LE(this.at + 4);
    this.rec.value = this.buf.readDoubleLE(this.at + 8);
    this.rec.word = this.buf.toString('utf8', this.at + HEAD, this.at + HEAD + bytes);
    this.at += HEAD + bytes;
    return true;
  }
}

/** The hash partition of a word: FNV-1a over its UTF-16 code units, mixed (murmur3's finalizer). */
export function wordHash(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A gzip section at a byte range, decompressed. */
export async function readSection(store: ArtifactStore, key: string, from: number, to: number): Promise<Buffer> {
  const raw = await store.getRange(key, from, to);
  return raw.length ? zlib.gunzipSync(raw) : raw;
}

const pad = (n: number) => String(n).padStart(6, '0');

/** The scratch objects of one stage run, under its prefix. */
export const scratch = {
  /** Per input shard: per partition, the English then the Chinese words' df and summed fixed-point TF. */
  stats: (prefix: string, shard: number) => `${prefix}stats-${pad(shard)}.bin`,
  /** Per input shard: the texts to back-translate (the trainer's input lines), gzip. */
  requests: (prefix: string, shard: number) => `${prefix}bt-${pad(shard)}.jsonl.gz`,
  /** Per partition: its words' df and corpus TF-IDF, best first, English then Chinese. */
  ranked: (prefix: string, partition: number) => `${prefix}ranked-${pad(partition)}.bin`,
  /** The model: every word in sampling order with df and cumulative weight, English then Chinese. */
  model: (prefix: string) => `${prefix}model.bin`,
};
