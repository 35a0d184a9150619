/**
 * The last three phases:
 *   lookup  per partition q: the counts of the parts other partitions asked q for, from q's table of frequent
 *           short n-grams, written in request order; and q's candidates' neighbour entropies, from the
 *           extension counts every partition sent q;
 *   score   per partition p: each candidate's statistics, the filters, and p's best `topK` entries:
 *           - cohesion: the least PMI over the ways to split the candidate in two, log(p(w) / (p(a)·p(b))),
 *             p(x) = count(x) / units; a real word's halves rarely occur apart;
 *           - freedom: the lesser of its left and right neighbour entropies, H = ln f − Σ k ln k / f over its
 *             extensions' counts k, where occurrences at a run boundary count as distinct neighbours; a
 *             fragment of a longer word has one neighbour (entropy near 0);
 *           - not new when the base tokenizer keeps it whole or the dictionary has it;
 *           - with a general corpus, over-representation: domain rate / general rate, the general count
 *             smoothed by one occurrence;
 *   rank    one task: the best `topK` over the partitions' lists, written as the lexicon.
 * The statistics and their order of operations are those of the single-activity stage this replaced, so the
 * lexicon is the same; the order (score, then word) is total, so the best of the partitions' best is the best.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ArtifactFileT } from '../../../schemas/manifest';
import type { StageContext } from '../types';
import type { FoundRow } from './merge';
import { keyLang, keyLength, keyText, keyUnits, readSection, records, scratch, subKey } from './records';
import { newToJieba } from './segment';
import { baseVocabOf, dictionaryOf, type Params } from './shape';
import type { Lang } from './text';

export interface LexiconEntry {
  word: string;
  lang: Lang;
  freq: number;
  pmi: number | null;
  entropy: number;
  leftEntropy: number;
  rightEntropy: number;
  ratio?: number;
  /** With a general corpus: the candidate's occurrences there (the long-tail analysis reads it as a rate). */
  generalFreq?: number;
  pieces?: number;
  score: number;
}

export interface LookupTask {
  prefix: string;
  partition: number;
  /** Per partition p that sends this one anything: [p, requests from, extensions from, extensions to] in p's outbox. */
  inbox: [number, number, number, number][];
}

export interface LookupResult {
  partition: number;
  /** Per requesting partition p: [p, from, to] in this partition's answers object. */
  answers: [number, number, number][];
}

export interface ScoreTask {
  prefix: string;
  partition: number;
  /** Units counted per language: domain, and general when there is a general input. */
  units: Record<Lang, number>;
  generalUnits: Record<Lang, number> | null;
  /** Per owning partition q asked: [q, requests from, requests to] in this partition's outbox, [answers from, to] in q's answers. */
  parts: [number, number, number, number, number][];
}

/** A candidate as the score phase reads it: [key, frequency, left entropy, right entropy, general count]. */
export type CandidateRow = [string, number, number, number, number];

export type Dropped = { cohesion: number; freedom: number; baseVocab: number; dictionary: number; ratio: number };

export interface ScoreResult {
  partition: number;
  /** Candidates left after the base vocabulary and dictionary (before the ratio). */
  candidates: number;
  dropped: Dropped;
  entries: number;
}

export interface RankTask {
  prefix: string;
  /** Partitions with entries, in order. */
  partitions: number[];
}

export interface RankResult {
  file: ArtifactFileT;
  words: number;
  newToJieba: number;
  top: string[];
}

async function readAll(ctx: StageContext<Params>, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await ctx.store.getStream(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function lookup(ctx: StageContext<Params>, task: LookupTask): Promise<LookupResult> {
  const { prefix, partition } = task;
  const raw = await readAll(ctx, scratch.parts(prefix, partition));
  const counts = new Map(raw.length ? records(zlib.gunzipSync(raw)) : []);
  const found = gzipLines<FoundRow>(await readAll(ctx, scratch.found(prefix, partition)));
  const neighbours = new Map(found.map(([key]) => [key, { left: [] as number[], right: [] as number[] }]));
  const bodies: Buffer[] = [];
  const answers: [number, number, number][] = [];
  let at = 0;
  for (const [p, reqFrom, extFrom, extTo] of task.inbox) {
    const raw = await ctx.store.getRange(scratch.outbox(prefix, p), reqFrom, extTo);
    const section = (from: number, to: number) => (to > from ? zlib.gunzipSync(raw.subarray(from - reqFrom, to - reqFrom)) : Buffer.alloc(0));
    const keys = [...records(section(reqFrom, extFrom))].map(([k]) => k);
    if (keys.length) {
      const body = Buffer.allocUnsafe(keys.length * 8);
      keys.forEach((key, i) => {
        const c = counts.get(key);
        if (c === undefined) throw new Error(`newwords: partition ${p} asked partition ${partition} for "${key}", which it does not hold`);
        body.writeDoubleLE(c, i * 8);
      });
      bodies.push(body);
      answers.push([p, at, at + body.length]);
      at += body.length;
    }
    for (const [key, k] of records(section(extFrom, extTo))) {
      const n = neighbours.get(key.slice(1));
      if (n) (key[0] === 'R' ? n.right : n.left).push(k);
    }
    ctx.signal.throwIfAborted();
  }
  await ctx.store.putBuffer(scratch.answers(prefix, partition), Buffer.concat(bodies));
  const rows = found.map(([key, freq, general]) => {
    const n = neighbours.get(key)!;
    return JSON.stringify([key, freq, entropy(freq, n.left), entropy(freq, n.right), general] satisfies CandidateRow);
  });
  await ctx.store.putBuffer(scratch.candidates(prefix, partition), zlib.gzipSync(rows.map((r) => `${r}\n`).join(''), { level: 1 }));
  return { partition, answers };
}

/**
 * Neighbour entropy H = ln f − Σ k ln k / f over the counts k of a candidate's extensions on one side (those
 * counted once add 0 and were not sent). The counts are added in ascending order, so the sum does not depend
 * on which partitions or shards they came from, or in what order.
 */
function entropy(freq: number, ks: number[]): number {
  ks.sort((a, b) => a - b);
  let sum = 0;
  for (const k of ks) sum += k * Math.log(k);
  return Math.max(0, Math.log(freq) - sum / freq);
}

function gzipLines<T>(buf: Buffer): T[] {
  return zlib
    .gunzipSync(buf)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);
}

export async function score(ctx: StageContext<Params>, task: ScoreTask): Promise<ScoreResult> {
  const p = ctx.params;
  const { prefix, partition } = task;
  const partCounts = new Map<string, number>();
  for (const [q, rFrom, rTo, aFrom, aTo] of task.parts) {
    const keys = [...records(await readSection(ctx.store, scratch.outbox(prefix, partition), rFrom, rTo))].map(([k]) => k);
    const answers = await ctx.store.getRange(scratch.answers(prefix, q), aFrom, aTo);
    if (answers.length !== keys.length * 8) throw new Error(`newwords: partition ${q} answered ${answers.length / 8} of ${keys.length} requests`);
    keys.forEach((key, i) => partCounts.set(key, answers.readDoubleLE(i * 8)));
    ctx.signal.throwIfAborted();
  }
  const partCount = (part: string) => {
    const c = partCounts.get(part);
    if (c === undefined) throw new Error(`newwords: partition ${partition} has no count for "${part}"`);
    return c;
  };
  const base = baseVocabOf(p);
  const dictionary = dictionaryOf(p);
  const rows = gzipLines<CandidateRow>(await readAll(ctx, scratch.candidates(prefix, partition)));
  const dropped: Dropped = { cohesion: 0, freedom: 0, baseVocab: 0, dictionary: 0, ratio: 0 };
  const entries: LexiconEntry[] = [];
  let candidates = 0;
  for (const [key, freq, leftEntropy, rightEntropy, general] of rows) {
    const lang = keyLang(key);
    const n = keyLength(key);
    const word = keyText(key);
    const total = task.units[lang];
    let pmi: number | null = null;
    if (n > 1) {
      const units = keyUnits(key);
      for (let k = 1; k < n; k++) {
        const v = Math.log((freq * total) / (partCount(subKey(key, units, 0, k)) * partCount(subKey(key, units, k, n))));
        pmi = pmi === null ? v : Math.min(pmi, v);
      }
    }
    if (pmi !== null && pmi < p.minPmi) {
      dropped.cohesion++;
      continue;
    }
    if (Math.min(leftEntropy, rightEntropy) < p.minEntropy) {
      dropped.freedom++;
      continue;
    }
    const pieces = base?.pieces(word);
    const known = pieces !== undefined && pieces <= 1 ? 'baseVocab' : dictionary?.has(word) ? 'dictionary' : undefined;
    if (known) {
      dropped[known]++;
      continue;
    }
    candidates++;
    const ratio = task.generalUnits ? freq / total / ((general + 1) / Math.max(1, task.generalUnits[lang])) : undefined;
    if (ratio !== undefined && ratio < p.minRatio) {
      dropped.ratio++;
      continue;
    }
    const entropy = Math.min(leftEntropy, rightEntropy);
    // Frequent, free on both sides, cohesive and (when measured) specific to the domain.
    const s = Math.log1p(freq) * entropy * (pmi ?? 1) * (ratio === undefined ? 1 : Math.log(ratio));
    entries.push({ word, lang, freq, pmi, entropy, leftEntropy, rightEntropy, ratio, generalFreq: task.generalUnits ? general : undefined, pieces, score: s });
  }
  entries.sort(byScore);
  const best = entries.slice(0, p.topK);
  await ctx.store.putBuffer(scratch.top(prefix, partition), Buffer.from(best.map((e) => `${JSON.stringify(e)}\n`).join('')));
  return { partition, candidates, dropped, entries: best.length };
}

/** Best first: score, then word (unique: a word is Chinese or English, not both). */
function byScore(a: LexiconEntry, b: LexiconEntry): number {
  return b.score - a.score || (a.word < b.word ? -1 : 1);
}

export async function rank(ctx: StageContext<Params>, task: RankTask): Promise<RankResult> {
  const topK = ctx.params.topK;
  let best: LexiconEntry[] = [];
  for (const partition of task.partitions) {
    const list = (await readAll(ctx, scratch.top(task.prefix, partition)))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as LexiconEntry);
    best = mergeBest(best, list, topK);
    ctx.signal.throwIfAborted();
  }
  const file = path.join(ctx.workDir, 'lexicon.jsonl');
  fs.writeFileSync(file, best.map((e) => JSON.stringify(round(e))).join('\n') + (best.length ? '\n' : ''));
  const zhWords = best.filter((e) => e.lang === 'zh').map((e) => e.word);
  return {
    file: await ctx.store.putFile(file, 'lexicon.jsonl', best.length),
    words: best.length,
    newToJieba: zhWords.length ? newToJieba(zhWords) : 0,
    top: best.slice(0, 10).map((e) => e.word),
  };
}

/** The first `k` of two lists sorted best first. */
function mergeBest(a: LexiconEntry[], b: LexiconEntry[], k: number): LexiconEntry[] {
  const out: LexiconEntry[] = [];
  let i = 0;
  let j = 0;
  while (out.length < k && (i < a.length || j < b.length)) {
    if (j >= b.length || (i < a.length && byScore(a[i], b[j]) <= 0)) out.push(a[i++]);
    else out.push(b[j++]);
  }
  return out;
}

function round(e: LexiconEntry): LexiconEntry {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { ...e, pmi: e.pmi === null ? null : r(e.pmi), entropy: r(e.entropy), leftEntropy: r(e.leftEntropy), rightEntropy: r(e.rightEntropy), score: r(e.score), ...(e.ratio === undefined ? {} : { ratio: r(e.ratio) }) };
}
