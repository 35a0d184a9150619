/**
 * The TF-IDF statistics of the augment fan-out, in bounded memory per task:
 *   stats   per input shard: each language's document frequencies and fixed-point TF sums (CorpusStats) over
 *           the shard, grouped by hash partition of the word into one scratch object (shardStatsObject);
 *   merge   per partition: the shards' records of that partition summed (exactly: integers, in BigInt past
 *           2^53), each word's corpus TF-IDF, the partition's words ranked (highest first, ties by word);
 *   rank    one task: the ranked partitions merged (a streaming k-way merge) into the model object — every word
 *           in rank order with its df and cumulative sampling weight — which each apply task loads once
 *           (loadModel) into typed arrays.
 * Sums of integers do not depend on order, ranks are a total order and the cumulative weights are added in rank
 * order, so the model is the one `CorpusStats.finish` builds from the whole corpus in memory, whatever the
 * sharding, partitions, workers or task order.
 *
 * Memory: a stats task holds its shard's vocabulary; a merge task its partition's; the rank task and each
 * apply task the model as packed bytes and typed arrays (about 35 bytes per word plus the word itself, no
 * object per word) — the apply tasks need the whole vocabulary, since replacements are drawn from all of it.
 */
import zlib from 'node:zlib';
import type { StageParams } from '../../../schemas/stages';
import type { ArtifactStore } from '../../store';
import type { StageContext } from '../types';
import { readSection, RecordCursor, scratch, wordHash, WordRecords } from './scratch';
import { corpusTfidf, cumulativeWeights, rankOrder, TfidfModel, type CorpusStats, type RankedVocabulary } from './tfidf';
import type { Lang } from './tokens';

type Params = StageParams<'augment'>;

export const LANGS: readonly Lang[] = ['en', 'zh'];

/**
 * The scratch object of one shard's statistics: per partition p, the English records at [offsets[2p],
 * offsets[2p+1]) and the Chinese ones at [offsets[2p+1], offsets[2p+2]), each a gzip section.
 */
export function shardStatsObject(stats: Record<Lang, CorpusStats>, partitions: number): { body: Buffer; offsets: number[] } {
  const writers = Array.from({ length: partitions }, () => ({ en: new WordRecords(), zh: new WordRecords() }));
  for (const lang of LANGS) {
    for (const [word, df] of stats[lang].df) {
      const tf = stats[lang].tf.get(word)!;
      if (!Number.isSafeInteger(tf)) throw new Error(`augment: the TF sum of "${word}" in one shard exceeds 2^53; cut the input into smaller shards`);
      writers[wordHash(word) % partitions][lang].add(word, df, tf);
    }
  }
  const parts: Buffer[] = [];
  const offsets = [0];
  for (const w of writers) {
    for (const lang of LANGS) {
      const b = w[lang].take();
      parts.push(b);
      offsets.push(offsets[offsets.length - 1] + b.length);
    }
  }
  return { body: Buffer.concat(parts), offsets };
}

export interface MergeTask {
  prefix: string;
  partition: number;
  /** Documents (with at least one word) per language in the whole corpus: the N of the IDF. */
  docs: Record<Lang, number>;
  /** Per shard with records in this partition: [shard, from, English to / Chinese from, to]. */
  shards: [number, number, number, number][];
}

export interface MergeResult {
  partition: number;
  /** The ranked object: English at [offsets[0], offsets[1]), Chinese at [offsets[1], offsets[2]). */
  offsets: [number, number, number];
  words: Record<Lang, number>;
}

/** A TF sum, exact: a number while it is a safe integer, a BigInt past that. */
function addExact(a: number | bigint, b: number): number | bigint {
  if (typeof a === 'bigint') return a + BigInt(b);
  const s = a + b;
  return Number.isSafeInteger(s) ? s : BigInt(a) + BigInt(b);
}

export async function mergePartition(ctx: StageContext<Params>, task: MergeTask): Promise<MergeResult> {
  const sums: Record<Lang, Map<string, { df: number; tf: number | bigint }>> = { en: new Map(), zh: new Map() };
  for (const [shard, from, mid, to] of task.shards) {
    const raw = await ctx.store.getRange(scratch.stats(task.prefix, shard), from, to);
    const sections: [Lang, Buffer][] = [
      ['en', raw.subarray(0, mid - from)],
      ['zh', raw.subarray(mid - from)],
    ];
    for (const [lang, section] of sections) {
      if (!section.length) continue;
      const m = sums[lang];
      const c = new RecordCursor(zlib.gunzipSync(section));
      while (c.next()) {
        const e = m.get(c.rec.word);
        if (e) {
          e.df += c.rec.df;
          e.tf = addExact(e.tf, c.rec.value);
        } else m.set(c.rec.word, { df: c.rec.df, tf: c.rec.value });
      }
    }
    ctx.signal.throwIfAborted();
  }
  const parts: Buffer[] = [];
  const offsets: [number, number, number] = [0, 0, 0];
  const words = { en: 0, zh: 0 };
  LANGS.forEach((lang, i) => {
    const ranked = [...sums[lang]].map(([w, e]) => ({ w, df: e.df, s: corpusTfidf(Number(e.tf), e.df, task.docs[lang]) }));
    sums[lang].clear();
    ranked.sort((a, b) => rankOrder(a.s, a.w, b.s, b.w));
    const out = new WordRecords();
    for (const r of ranked) out.add(r.w, r.df, r.s);
    words[lang] = ranked.length;
    const b = out.take();
    parts.push(b);
    offsets[i + 1] = offsets[i] + b.length;
  });
  await ctx.store.putBuffer(scratch.ranked(task.prefix, task.partition), Buffer.concat(parts));
  return { partition: task.partition, offsets, words };
}

export interface RankTask {
  prefix: string;
  /** Per partition: [partition, English from, Chinese from, to] in its ranked object. */
  runs: [number, number, number, number][];
  /** Documents per language (for the model's IDF). */
  docs: Record<Lang, number>;
}

/** Where the model is: English at [offsets[0], offsets[1]) of `key`, Chinese at [offsets[1], offsets[2]). */
export interface ModelRef {
  key: string;
  offsets: [number, number, number];
  words: Record<Lang, number>;
  docs: Record<Lang, number>;
}

/** A binary heap of cursors, ordered by the vocabulary's rank (the value is the score). */
class RankHeap {
  private readonly heap: RecordCursor[] = [];

  push(c: RecordCursor): void {
    const h = this.heap;
    h.push(c);
    for (let i = h.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (this.before(h[up], h[i])) break;
      [h[up], h[i]] = [h[i], h[up]];
      i = up;
    }
  }

  /** The first cursor; advance it, then call `fix()`. */
  top(): RecordCursor | undefined {
    return this.heap[0];
  }

  /** After the top cursor moved (`more`: it has a record, which ranks after its previous one) or ran out. */
  fix(more: boolean): void {
    const h = this.heap;
    if (!more) {
      const last = h.pop()!;
      if (!h.length) return;
      h[0] = last;
    }
    this.down(0);
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.before(h[l], h[m])) m = l;
      if (r < h.length && this.before(h[r], h[m])) m = r;
      if (m === i) return;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }

  private before(a: RecordCursor, b: RecordCursor): boolean {
    return rankOrder(a.rec.value, a.rec.word, b.rec.value, b.rec.word) < 0;
  }
}

export async function rankModel(ctx: StageContext<Params>, task: RankTask): Promise<ModelRef> {
  const raws = await Promise.all(task.runs.map(([partition, from, , to]) => ctx.store.getRange(scratch.ranked(task.prefix, partition), from, to)));
  const parts: Buffer[] = [];
  const offsets: [number, number, number] = [0, 0, 0];
  const words = { en: 0, zh: 0 };
  LANGS.forEach((lang, i) => {
    const heap = new RankHeap();
    task.runs.forEach(([, from, mid, to], k) => {
      const section = lang === 'en' ? raws[k].subarray(0, mid - from) : raws[k].subarray(mid - from, to - from);
      if (!section.length) return;
      const c = new RecordCursor(zlib.gunzipSync(section));
      if (c.next()) heap.push(c);
    });
    const out = new WordRecords();
    let weight: ((score: number) => number) | undefined;
    for (let c = heap.top(); c; c = heap.top()) {
      weight ??= cumulativeWeights(c.rec.value); // the first word has the highest score
      out.add(c.rec.word, c.rec.df, weight(c.rec.value));
      heap.fix(c.next());
    }
    words[lang] = out.records;
    const b = out.take();
    parts.push(b);
    offsets[i + 1] = offsets[i] + b.length;
  });
  const key = scratch.model(task.prefix);
  await ctx.store.putBuffer(key, Buffer.concat(parts));
  return { key, offsets, words, docs: task.docs };
}

/**
 * A ranked vocabulary in typed arrays: the words back to back in one string (UTF-16 offsets), their document
 * frequencies and cumulative weights, and an open-addressing hash table of word → index.
 */
class PackedVocabulary implements RankedVocabulary {
  readonly size: number;
  readonly cdf: Float64Array;
  private readonly text: string;
  private readonly offsets: Uint32Array;
  private readonly dfs: Uint32Array;
  private readonly table: Uint32Array;
  private readonly mask: number;

  constructor(records: Buffer, size: number) {
    this.size = size;
    this.cdf = new Float64Array(size);
    this.offsets = new Uint32Array(size + 1);
    this.dfs = new Uint32Array(size);
    let slots = 2;
    while (slots < 2 * size) slots *= 2;
    this.table = new Uint32Array(slots);
    this.mask = slots - 1;
    const chunks: string[] = [];
    let chunk: string[] = [];
    const c = new RecordCursor(records);
    let i = 0;
    for (; c.next(); i++) {
      const { word, df, value } = c.rec;
      this.offsets[i + 1] = this.offsets[i] + word.length;
      this.dfs[i] = df;
      this.cdf[i] = value;
      chunk.push(word);
      if (chunk.length === 4096) {
        chunks.push(chunk.join(''));
        chunk = [];
      }
      let s = wordHash(word) & this.mask;
      while (this.table[s]) s = (s + 1) & this.mask;
      this.table[s] = i + 1;
    }
    if (i !== size) throw new Error(`augment: the model holds ${i} words, its ledger entry says ${size}`);
    chunks.push(chunk.join(''));
    this.text = chunks.join('');
  }

  word(i: number): string {
    return this.text.slice(this.offsets[i], this.offsets[i + 1]);
  }

  df(key: string): number | undefined {
    for (let s = wordHash(key) & this.mask; ; s = (s + 1) & this.mask) {
      const j = this.table[s];
      if (!j) return undefined;
      const at = this.offsets[j - 1];
      if (this.offsets[j] - at === key.length && this.text.startsWith(key, at)) return this.dfs[j - 1];
    }
  }
}

/** Models loaded in this process (a worker runs many apply tasks of one stage): the last few, by object and language. */
const loaded = new Map<string, Promise<TfidfModel | undefined>>();

/** One language's model, or undefined when the corpus has no document in that language. */
export function loadModel(store: ArtifactStore, ref: ModelRef, lang: Lang): Promise<TfidfModel | undefined> {
  const memo = `${store.bucket}/${ref.key}#${lang}`;
  let model = loaded.get(memo);
  if (!model) {
    const i = LANGS.indexOf(lang);
    model = ref.docs[lang]
      ? readSection(store, ref.key, ref.offsets[i], ref.offsets[i + 1]).then((buf) => new TfidfModel(ref.docs[lang], new PackedVocabulary(buf, ref.words[lang])))
      : Promise.resolve(undefined);
    model.catch(() => loaded.delete(memo));
    loaded.set(memo, model);
    while (loaded.size > 2) loaded.delete(loaded.keys().next().value!);
  }
  return model;
}
