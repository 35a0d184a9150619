/**
 * What the newwords phases exchange through the store, and how. An n-gram is a key string: the language code
 * (`z`, `e`), its length in units (one digit: candidates are at most 8 characters or 5 words, their extensions
 * one more) and its text (characters joined, words joined by a space). Every count lives in the partition of a
 * hash of its key.
 *
 * Scratch objects hold records — [u32 key bytes][f64 count][key, UTF-8] — gzip-compressed per section, so a
 * byte range of a partition's section is readable on its own (sections written in several pieces are gzip
 * members one after another, which gunzip reads as one).
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import type { ArtifactStore } from '../../store';
import type { Lang } from './text';

export const LANG_CODE: Record<Lang, string> = { zh: 'z', en: 'e' };

/** Joins units the way a candidate is written: characters as they are, words with a space. */
export const separator = (lang: Lang): string => (lang === 'en' ? ' ' : '');

export function gramKey(lang: Lang, n: number, text: string): string {
  return `${LANG_CODE[lang]}${n}${text}`;
}

export function keyLang(key: string): Lang {
  return key[0] === 'z' ? 'zh' : 'en';
}

export function keyLength(key: string): number {
  return key.charCodeAt(1) - 48;
}

export function keyText(key: string): string {
  return key.slice(2);
}

export function keyUnits(key: string): string[] {
  const text = keyText(key);
  return keyLang(key) === 'en' ? text.split(' ') : Array.from(text);
}

/** The key of `units[from, to)` of the n-gram `key`. */
export function subKey(key: string, units: string[], from: number, to: number): string {
  return `${key[0]}${to - from}${units.slice(from, to).join(separator(keyLang(key)))}`;
}

/** The partition of a key: FNV-1a over its UTF-16 code units, mixed (murmur3's finalizer), modulo `partitions`. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % partitions;
}

/** Whether a document is in the sample: a hash of (seed, id) below `fraction`, so uniform and order-free. */
export function sampled(id: string, fraction: number, seed: number): boolean {
  if (fraction >= 1) return true;
  const h = createHash('sha256').update(`${seed}\u0000${id}`).digest();
  return h.readUIntBE(0, 6) / 2 ** 48 < fraction;
}

const HEAD = 12;

/** Appends records to a growing buffer. */
export class RecordWriter {
  private buf = Buffer.allocUnsafe(256);
  length = 0;
  records = 0;

  add(count: number, key: string): void {
    const bytes = Buffer.byteLength(key);
    this.reserve(HEAD + bytes);
    this.buf.writeUInt32LE(bytes, this.length);
    this.buf.writeDoubleLE(count, this.length + 4);
    this.buf.write(key, this.length + HEAD, bytes, 'utf8');
    this.length += HEAD + bytes;
    this.records++;
  }

  /** The records, gzip-compressed (empty when there are none). */
  gzip(): Buffer {
    return this.length ? zlib.gzipSync(this.buf.subarray(0, this.length), { level: 1 }) : Buffer.alloc(0);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

/** The records of an uncompressed buffer: [key, count]. */
export function* records(buf: Buffer): Generator<[string, number]> {
  for (let o = 0; o < buf.length; ) {
    const bytes = buf.readUInt32LE(o);
    const count = buf.readDoubleLE(o + 4);
    yield [buf.toString('utf8', o + HEAD, o + HEAD + bytes), count];
    o += HEAD + bytes;
  }
}

/** A gzip section (or several members) at a byte range, decompressed. */
export async function readSection(store: ArtifactStore, key: string, from: number, to: number): Promise<Buffer> {
  const raw = await store.getRange(key, from, to);
  return raw.length ? zlib.gunzipSync(raw) : raw;
}

const pad = (n: number) => String(n).padStart(6, '0');

/** The scratch objects of one stage run, under its prefix (removed by the reduce). */
export const scratch = {
  /** Per input shard: its n-gram counts, by partition. */
  counts: (prefix: string, shard: number) => `${prefix}counts-${pad(shard)}.bin`,
  /** Per partition (merge): its frequent n-grams shorter than a candidate (the parts PMI divides by), counted. */
  parts: (prefix: string, partition: number) => `${prefix}parts-${pad(partition)}.bin`,
  /** Per partition (merge): its candidates, with frequency and general count (gzip JSON lines). */
  found: (prefix: string, partition: number) => `${prefix}found-${pad(partition)}.jsonl.gz`,
  /** Per partition (merge): for each other partition, the parts it asks it for and the extension counts it sends it. */
  outbox: (prefix: string, partition: number) => `${prefix}outbox-${pad(partition)}.bin`,
  /** Per owning partition (lookup): the counts of the parts asked for (f64, in request order), by requester. */
  answers: (prefix: string, partition: number) => `${prefix}answers-${pad(partition)}.bin`,
  /** Per partition (lookup): its candidates with neighbour entropies (gzip JSON lines). */
  candidates: (prefix: string, partition: number) => `${prefix}candidates-${pad(partition)}.jsonl.gz`,
  /** Per partition (score): its best `topK` lexicon entries, unrounded, best first (JSON lines). */
  top: (prefix: string, partition: number) => `${prefix}top-${pad(partition)}.jsonl`,
};
