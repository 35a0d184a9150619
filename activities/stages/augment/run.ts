/**
 * The `augment` stage: UDA-style augmentation of unlabeled domain text, as a fan-out over the input shards.
 * Each document becomes `variants` pairs {id, text, augmented, lang, variant, ops} (gzip JSONL shards). Phases,
 * by params:
 *   stats      per input shard (tfidf or backTranslation): TF-IDF statistics by hash partition and the texts
 *              to back-translate, as scratch objects (./stats, ./scratch);
 *   merge      per partition (tfidf): the statistics summed, each word's corpus TF-IDF, ranked;
 *   rank       one task (tfidf): the model — the vocabulary in rank order with its sampling weights;
 *   translate  one task (backTranslation): every requested text through the trainer in one process (see
 *              translatePhase for why one task), restored from a blob on retry;
 *   apply      per input shard: the operations, writing the shard's pairs.
 * Every random choice of a pair comes from a generator seeded by hash(seed, document id, variant), the model is
 * the same whatever the sharding, and pairs are written in input order, so the output depends on the documents
 * and the seed only — its digest not on the number of workers, the order tasks run in, or a task run twice.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Jieba } from '@node-rs/jieba';
import type { ArtifactFileT, DocumentRecordT } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import { PAIR_SCHEMA, type PairRecordT } from './spec';
import { documentShards, readShard } from '../../documents';
import { ConfigError, InputError } from '../../errors';
import { rng } from '../../rng';
import type { ArtifactStore } from '../../store';
import { gatherShards, shardPhase, sumStats, type ShardResult, type ShardSink, type ShardTask } from '../../shard-map';
import { runPhasesInline } from '../../inline-phases';
import { defaultJieba, jiebaWithLexicon } from '../../chinese';
import { scratchPrefix } from '../../scratch';
import { modelDirFingerprint } from '../../model-stage/staging';
import type { FanoutPhase, StageContext, StageFanout, StageImpl, StageInputArtifact, StageOutput, TypedFanout } from '../types';
import { BackTranslation, translationsOf } from './backtranslate';
import { randomDelete, randomInsert, randomSwap, synonymReplace, type Editable, type Random, type Synonyms } from './eda';
import { readLexiconWords, TermMatcher } from './lexicon';
import { scratch } from './scratch';
import { loadModel, mergePartition, rankModel, shardStatsObject, type MergeResult, type MergeTask, type ModelRef, type RankTask } from './stats';
import { loadSynonyms } from './synonyms';
import { CorpusStats, type TfidfModel } from './tfidf';
import { documentLang, joinWords, matchCase, splitWords, wordKey, type Lang } from './tokens';

type Params = StageParams<'augment'>;

/** The operations, in the order `combine: all` applies them. */
export const OPERATIONS = ['backTranslation', 'tfidf', 'synonym', 'insert', 'swap', 'delete'] as const;
export type Operation = (typeof OPERATIONS)[number];

export function enabledOperations(p: Params): Operation[] {
  const on: Record<Operation, boolean> = {
    backTranslation: !!p.backTranslation,
    tfidf: !!p.tfidf,
    synonym: (p.eda?.synonym ?? 0) > 0,
    insert: (p.eda?.insert ?? 0) > 0,
    swap: (p.eda?.swap ?? 0) > 0,
    delete: (p.eda?.delete ?? 0) > 0,
  };
  return OPERATIONS.filter((op) => on[op]);
}

/** 32 bits of sha256 over the parts: the seed of one document's (or one pair's) generator. */
export function seedOf(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0);
}

/** The operations variant `v` of a document applies: all of them, or one, rotating from a per-document offset. */
function operationsFor(p: Params, ops: Operation[], id: string, v: number): Operation[] {
  if (p.combine === 'all') return ops;
  return [ops[(seedOf(p.seed, id, 'offset') + v) % ops.length]];
}

export interface WordAugmenter {
  segmenter: Jieba;
  models: Partial<Record<Lang, TfidfModel>>;
  synonyms?: Synonyms;
  terms?: TermMatcher;
}

/** The word-level operations of one pair on one text; returns the augmented text and the edits per operation. */
export function augmentWords(text: string, lang: Lang, ops: Operation[], p: Params, a: WordAugmenter, random: Random): { text: string; ops: Record<string, number> } {
  const words = splitWords(text, lang, a.segmenter);
  const w: Editable = { ...words, protect: p.protectLexicon && a.terms ? a.terms.protectedWords(words) : words.words.map(() => false) };
  const done: Record<string, number> = {};
  for (const op of ops) {
    if (op === 'backTranslation') continue;
    if (op === 'tfidf') done.tfidf = tfidfReplace(w, a.models[lang], p.tfidf!.ratio, random);
    else if (op === 'synonym') done.synonym = synonymReplace(w, p.eda!.synonym, a.synonyms!, random);
    else if (op === 'insert') done.insert = randomInsert(w, p.eda!.insert, a.synonyms!, random);
    else if (op === 'swap') done.swap = randomSwap(w, p.eda!.swap, random);
    else done.delete = randomDelete(w, p.eda!.delete, random);
  }
  return { text: joinWords(w), ops: done };
}

function tfidfReplace(w: Editable, model: TfidfModel | undefined, ratio: number, random: Random): number {
  if (!model || !w.words.length) return 0;
  const keys = w.words.map(wordKey);
  const probs = model.replaceProbabilities(keys, ratio, w.protect);
  let done = 0;
  for (let i = 0; i < keys.length; i++) {
    if (!(random() < probs[i])) continue;
    // The corpus may offer the same word back; a few redraws make the expected change match the ratio.
    let next = model.sample(random);
    for (let tries = 0; next === keys[i] && tries < 8; tries++) next = model.sample(random);
    if (next === keys[i]) continue;
    w.words[i] = matchCase(w.words[i], next);
    done++;
  }
  return done;
}

/**
 * What a retry resumes from: the back-translations (the expensive part) of the same input, identified by the
 * sha256 of the texts sent to the trainer. The word-level operations are cheap and simply run again.
 */
export interface AugmentCheckpoint {
  backTranslation?: { input: string; output: ArtifactFileT; metrics: Record<string, number>; attempt: number };
}

/** For tests: the partition count of the statistics merge (else one per `bytesPerPartition` of compressed input). */
export const tuning: { bytesPerPartition: number; maxPartitions: number; partitions: number | undefined } = { bytesPerPartition: 256 << 20, maxPartitions: 64, partitions: undefined };

function documentsOf(ctx: StageContext<Params>): StageInputArtifact[] {
  const docs = ctx.inputs.filter((i) => i.manifest.kind === 'documents');
  if (!docs.length) throw new ConfigError('augment needs a documents input (a needs-stage producing documents)');
  return docs;
}

/** The checks every plan of a first phase makes, so a bad config fails before any task runs. */
function checkConfig(ctx: StageContext<Params>): void {
  documentsOf(ctx);
  const lexicons = ctx.inputs.filter((i) => i.manifest.kind === 'lexicon');
  if (lexicons.length > 1) throw new ConfigError(`augment takes at most one lexicon input, got ${lexicons.map((l) => l.stage).join(', ')}`);
  if (ctx.params.synonyms) loadSynonyms(ctx.params.synonyms);
}

/** What the tasks that cut words need: the segmenter (lexicon terms are jieba user words), the terms, the synonyms. */
interface Setup {
  segmenter: Jieba;
  terms?: TermMatcher;
  synonyms?: Synonyms;
}

/** The lexicon's terms, read in a directory of its own: other tasks sharing the setup may outlive this one's work dir. */
async function lexiconWords(store: ArtifactStore, lexicon: StageInputArtifact): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-augment-lexicon-'));
  try {
    return await readLexiconWords(store, lexicon, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Setups built in this process (a worker runs many tasks of one stage), by lexicon and synonym file. */
const setups = new Map<string, Promise<Setup>>();

function setupOf(ctx: StageContext<Params>): Promise<Setup> {
  const p = ctx.params;
  const lexicon = p.protectLexicon ? ctx.inputs.find((i) => i.manifest.kind === 'lexicon') : undefined;
  const stat = p.synonyms && fs.existsSync(p.synonyms) ? fs.statSync(p.synonyms) : undefined;
  const memo = JSON.stringify([ctx.store.bucket, lexicon?.manifest.digest, p.synonyms, stat?.size, stat?.mtimeMs]);
  let setup = setups.get(memo);
  if (!setup) {
    setup = (async () => {
      const synonyms = p.synonyms ? loadSynonyms(p.synonyms) : undefined;
      const words = lexicon ? await lexiconWords(ctx.store, lexicon) : [];
      // Lexicon terms are jieba user words, so a Chinese term is one word and is replaced whole or not at all.
      const segmenter = words.length ? jiebaWithLexicon(words.filter((t) => /\p{Script=Han}/u.test(t))) : defaultJieba();
      const terms = words.length ? new TermMatcher(words, (t) => splitWords(t, /\p{Script=Han}/u.test(t) ? 'zh' : 'en', segmenter).words) : undefined;
      return { segmenter, terms, synonyms };
    })();
    setup.catch(() => setups.delete(memo));
    setups.set(memo, setup);
    while (setups.size > 4) setups.delete(setups.keys().next().value!);
  }
  return setup;
}

interface StatsTask {
  prefix: string;
  shard: number;
  file: Pick<ArtifactFileT, 'key' | 'name' | 'records'>;
  /** Hash partitions of the statistics; 0 without tfidf. */
  partitions: number;
}

interface StatsResult {
  prefix: string;
  shard: number;
  partitions: number;
  /** Documents with at least one word, per language; documents without. */
  docs: Record<Lang, number>;
  empty: number;
  /** Texts to back-translate (in its requests object). */
  requests: number;
  /** The statistics object's sections (see shardStatsObject); [] without tfidf. */
  offsets: number[];
}

interface TranslateTask {
  prefix: string;
  /** Per shard, in order: how many texts its requests object holds. */
  requests: number[];
  documents: number;
}

interface TranslateResult {
  output: ArtifactFileT;
  /** Per shard, in order: the byte range of the output holding its translations. */
  ranges: [number, number][];
  count: number;
  metrics: Record<string, number>;
}

/** What one apply task gets from the phases before it. */
interface ApplyExtra {
  model?: ModelRef;
  translations?: { key: string; name: string; from: number; to: number };
}

interface ApplyStats {
  documents: number;
  skippedEmpty: number;
  pairs: number;
  languages: Record<Lang, number>;
  edits: Record<string, number>;
  /** Original words, once per pair (editsPerWord divides by it). */
  words: number;
  unchanged: number;
  synonymEntries: number;
  protectedTerms: number;
}

/** What apply and the reduce read of the phases before apply, those that these params have. */
interface Earlier {
  stats?: StatsResult[];
  model?: ModelRef;
  translated?: TranslateResult;
}

/**
 * Totals of the statistics phase. No document with a word is an error, before anything expensive runs (the
 * statistics phase's scratch objects go first: no reduce will remove them).
 */
async function counted(ctx: StageContext<Params>, stats: StatsResult[]): Promise<{ docs: Record<Lang, number>; documents: number }> {
  const docs = { en: 0, zh: 0 };
  let empty = 0;
  for (const s of stats) {
    docs.en += s.docs.en;
    docs.zh += s.docs.zh;
    empty += s.empty;
  }
  const documents = docs.en + docs.zh;
  if (!documents) {
    if (stats[0]) await ctx.store.removePrefix(stats[0].prefix);
    throw noText(ctx, empty);
  }
  return { docs, documents };
}

function noText(ctx: StageContext<Params>, empty: number): InputError {
  const stages = ctx.inputs.filter((i) => i.manifest.kind === 'documents').map((i) => i.stage);
  return new InputError(`augment: no text to augment: the documents of ${stages.join(', ')} are empty${empty ? ` (${empty} without a single word)` : ''}`);
}

const statsPhase: FanoutPhase<Params, StatsTask, StatsResult, []> = {
  name: 'stats',
  async plan(ctx) {
    checkConfig(ctx);
    const inputs = documentsOf(ctx);
    const shards = inputs.flatMap((i) => documentShards(i.manifest));
    const bytes = shards.reduce((n, f) => n + f.bytes, 0);
    const partitions = !ctx.params.tfidf ? 0 : (tuning.partitions ?? Math.min(tuning.maxPartitions, Math.max(1, Math.ceil(bytes / tuning.bytesPerPartition))));
    const prefix = scratchPrefix(ctx, 'augment');
    return shards.map((f, shard) => ({ prefix, shard, file: { key: f.key, name: f.name, records: f.records }, partitions }));
  },
  map: (ctx, task) => shardStats(ctx, task),
};

async function shardStats(ctx: StageContext<Params>, task: StatsTask): Promise<StatsResult> {
  const p = ctx.params;
  const { segmenter } = await setupOf(ctx);
  const ops = enabledOperations(p);
  const stats: Record<Lang, CorpusStats> = { en: new CorpusStats(), zh: new CorpusStats() };
  const bt = p.backTranslation ? new BackTranslation(path.join(ctx.workDir, `requests-${task.shard}`)) : undefined;
  const docs = { en: 0, zh: 0 };
  let empty = 0;
  let n = 0;
  for await (const doc of readShard(ctx.store, task.file)) {
    if (++n % 1000 === 0) {
      ctx.signal.throwIfAborted();
      ctx.progress({ fraction: task.file.records ? Math.min(1, n / task.file.records) : undefined, message: `stats ${task.file.name}: ${n} documents` });
    }
    const lang = documentLang(doc.text, doc.metadata, p.language);
    const words = splitWords(doc.text, lang, segmenter);
    if (!words.words.length) {
      empty++;
      continue;
    }
    docs[lang]++;
    if (p.tfidf) stats[lang].add(words.words.map(wordKey));
    if (!bt) continue;
    for (let v = 0; v < p.variants; v++) if (operationsFor(p, ops, doc.id, v).includes('backTranslation')) bt.add(`${doc.id}\u0000${v}`, doc.text);
  }
  let offsets: number[] = [];
  if (p.tfidf) {
    const o = shardStatsObject(stats, task.partitions);
    await ctx.store.putBuffer(scratch.stats(task.prefix, task.shard), o.body);
    offsets = o.offsets;
  }
  let requests = 0;
  if (bt) {
    await bt.close();
    if (bt.count) {
      const gz = `${bt.inputPath}.gz`;
      await pipeline(fs.createReadStream(bt.inputPath), zlib.createGzip({ level: 1 }), fs.createWriteStream(gz));
      await ctx.store.client.fPutObject(ctx.store.bucket, ctx.store.key(scratch.requests(task.prefix, task.shard)), gz);
      requests = bt.count;
    }
  }
  return { prefix: task.prefix, shard: task.shard, partitions: task.partitions, docs, empty, requests, offsets };
}

const mergePhase: FanoutPhase<Params, MergeTask, MergeResult, [StatsResult[]]> = {
  name: 'merge',
  async plan(ctx, [stats]) {
    const { docs } = await counted(ctx, stats);
    const { prefix, partitions } = stats[0];
    return Array.from({ length: partitions }, (_, q) => ({
      prefix,
      partition: q,
      docs,
      shards: stats.filter((s) => s.offsets[2 * q + 2] > s.offsets[2 * q]).map((s) => [s.shard, s.offsets[2 * q], s.offsets[2 * q + 1], s.offsets[2 * q + 2]]),
    }));
  },
  map: (ctx, task) => mergePartition(ctx, task),
};

const rankPhase: FanoutPhase<Params, RankTask, ModelRef, [StatsResult[], MergeResult[]]> = {
  name: 'rank',
  async plan(ctx, [stats, merge]) {
    const { docs } = await counted(ctx, stats);
    return [{ prefix: stats[0].prefix, runs: merge.map((m) => [m.partition, ...m.offsets]), docs }];
  },
  map: (ctx, task) => rankModel(ctx, task),
};

/**
 * Back-translation is one task, on the stage's queue (a GPU queue where the stage has `resources.gpu`): the
 * trainer batches sentences by length over everything it is given and seeds each batch, so one run over the
 * whole request list gives exactly the translations the single-activity stage gave — translating shard by
 * shard would change them under sampling (other batches, other seeds) and make them depend on the sharding —
 * and the models are staged and loaded once, on one GPU. Its checkpoint (the translations as a blob, named
 * with the sha256 of the requests) lets a retry restore them. The cost: translation is not spread over several
 * GPU workers, and a worker lost mid-translation starts it over.
 */
const translatePhase: FanoutPhase<Params, TranslateTask, TranslateResult, [StatsResult[], ...unknown[][]]> = {
  name: 'translate',
  async plan(ctx, [stats]) {
    const { documents } = await counted(ctx, stats);
    return [{ prefix: stats[0].prefix, requests: stats.map((s) => s.requests), documents }];
  },
  map: (ctx, task) => translate(ctx, task),
};

async function translate(ctx: StageContext<Params>, task: TranslateTask): Promise<TranslateResult> {
  const p = ctx.params;
  const bt = new BackTranslation(path.join(ctx.workDir, 'back-translation'));
  for (const [shard, count] of task.requests.entries()) {
    if (!count) continue;
    const gunzip = zlib.createGunzip();
    pipeline(await ctx.store.getStream(scratch.requests(task.prefix, shard)), gunzip).catch(() => {}); // a failed download fails the read
    await bt.addLines(gunzip, count);
  }
  if (p.backTranslation!.temperature === 0 && bt.count > task.documents) ctx.log('augment: several back-translated variants per document with temperature 0 are identical (beam search is deterministic); set backTranslation.temperature for diverse paraphrases');
  const input = await bt.close();
  const saved = ctx.resumeFrom<AugmentCheckpoint>()?.backTranslation;
  let output: ArtifactFileT;
  if (saved?.input === input && (await bt.restore(ctx.store, saved.output))) {
    bt.metrics = saved.metrics;
    output = saved.output;
    ctx.log(`augment: ${bt.count} back-translations restored from attempt ${saved.attempt}`);
  } else {
    await bt.run(ctx, p.backTranslation!, p.seed);
    output = await bt.save(ctx.store);
    const checkpoint: AugmentCheckpoint = { backTranslation: { input, output, metrics: bt.metrics, attempt: ctx.attempt } };
    ctx.progress({ message: `back-translated ${bt.count} texts`, checkpoint });
  }
  return { output, ranges: await bt.ranges(task.requests), count: bt.count, metrics: bt.metrics };
}

/** The apply phase after the phases in `Prev`; `earlier` reads what it needs of their results. */
function applyPhase<Prev extends unknown[][]>(earlier: (previous: Prev) => Earlier): FanoutPhase<Params, ShardTask<ApplyExtra>, ShardResult<ApplyStats>, Prev> {
  const shards = shardPhase<Params, ApplyStats, ApplyExtra, PairRecordT, Prev>({
    name: 'apply',
    reads: 'augment',
    inputs: documentsOf,
    shardSize: (p) => p.shardSize,
    extra(ctx, previous, shard) {
      const { model, translated: t } = earlier(previous);
      const range = t?.ranges[shard.index];
      return {
        ...(model ? { model } : {}),
        ...(t && range && range[1] > range[0] ? { translations: { key: t.output.key, name: t.output.name, from: range[0], to: range[1] } } : {}),
      };
    },
    map: (ctx, docs, out, task) => applyShard(ctx, docs, out, task),
  });
  return {
    ...shards,
    async plan(ctx, previous) {
      const { stats } = earlier(previous);
      if (stats) await counted(ctx, stats);
      else checkConfig(ctx); // the first phase
      return shards.plan(ctx, previous);
    },
  };
}

async function applyShard(
  ctx: StageContext<Params>,
  docs: AsyncIterable<DocumentRecordT>,
  out: ShardSink<PairRecordT>,
  task: ShardTask<ApplyExtra>,
): Promise<ApplyStats> {
  const p = ctx.params;
  const ops = enabledOperations(p);
  const { segmenter, terms, synonyms } = await setupOf(ctx);
  const { model, translations: where } = task.extra;
  const augmenters: Partial<Record<Lang, WordAugmenter>> = {};
  const augmenterOf = async (lang: Lang): Promise<WordAugmenter> =>
    (augmenters[lang] ??= { segmenter, synonyms, terms, models: model ? { [lang]: await loadModel(ctx.store, model, lang) } : {} });
  const translations = where ? translationsOf((await ctx.store.getRange(where.key, where.from, where.to)).toString('utf8'), `${where.name} [${where.from}, ${where.to})`) : undefined;
  const s: ApplyStats = { documents: 0, skippedEmpty: 0, pairs: 0, languages: { en: 0, zh: 0 }, edits: {}, words: 0, unchanged: 0, synonymEntries: synonyms?.size ?? 0, protectedTerms: terms?.size ?? 0 };
  for await (const doc of docs) {
    const lang = documentLang(doc.text, doc.metadata, p.language);
    const n = splitWords(doc.text, lang, segmenter).words.length;
    if (!n) {
      s.skippedEmpty++;
      continue;
    }
    s.documents++;
    s.languages[lang]++;
    const augmenter = await augmenterOf(lang);
    for (let v = 0; v < p.variants; v++) {
      const chosen = operationsFor(p, ops, doc.id, v);
      let text = doc.text;
      const done: Record<string, number> = {};
      if (chosen.includes('backTranslation')) {
        text = translations!.next(`${doc.id}\u0000${v}`);
        done.backTranslation = 1;
      }
      const aug = augmentWords(text, lang, chosen, p, augmenter, rng(seedOf(p.seed, doc.id, v)));
      Object.assign(done, aug.ops);
      for (const [op, k] of Object.entries(done)) s.edits[op] = (s.edits[op] ?? 0) + k;
      s.words += n;
      if (aug.text === doc.text) s.unchanged++;
      s.pairs++;
      const pair: PairRecordT = { id: doc.id, text: doc.text, augmented: aug.text, lang, variant: v, ops: done };
      await out.write(pair);
    }
  }
  return s;
}

/** The metrics of the pairs the apply tasks wrote; the statistics phase's scratch objects are removed. */
async function reduce(ctx: StageContext<Params>, earlier: Earlier, applied: ShardResult<ApplyStats>[]): Promise<StageOutput> {
  const noEdits: Record<string, number> = {};
  const p = ctx.params;
  const { files, stats } = gatherShards<ApplyStats>(applied);
  const sum = sumStats(
    { documents: 0, skippedEmpty: 0, pairs: 0, languages: { en: 0, zh: 0 }, edits: noEdits, words: 0, unchanged: 0 },
    stats.map(({ synonymEntries: _s, protectedTerms: _t, ...rest }) => rest),
  );
  if (!sum.documents) throw noText(ctx, sum.skippedEmpty);
  const prefix = earlier.stats?.[0]?.prefix;
  if (prefix) await ctx.store.removePrefix(prefix);
  const ops = enabledOperations(p);
  const edits = Object.fromEntries(OPERATIONS.filter((op) => op in sum.edits).map((op) => [op, sum.edits[op]]));
  ctx.log(`augment: ${sum.pairs} pairs from ${sum.documents} documents (${ops.join(', ')})`);
  return {
    files,
    schema: PAIR_SCHEMA,
    metrics: {
      documents: sum.documents,
      pairs: sum.pairs,
      skippedEmpty: sum.skippedEmpty,
      languages: sum.languages,
      operations: ops,
      edits,
      // Edited words per original word, per operation (tfidf's should be close to its ratio where it ran alone).
      editsPerWord: Object.fromEntries(Object.entries(edits).filter(([op]) => op !== 'backTranslation').map(([op, k]) => [op, Math.round((k / Math.max(1, sum.words)) * 1e4) / 1e4])),
      unchanged: sum.unchanged,
      synonymEntries: stats[0]?.synonymEntries ?? 0,
      protectedTerms: stats[0]?.protectedTerms ?? 0,
      ...(earlier.translated ? { backTranslated: earlier.translated.count, translate: earlier.translated.metrics } : {}),
    },
  };
}

type Stats = [StatsTask, StatsResult];
type Tfidf = [[MergeTask, MergeResult], [RankTask, ModelRef]];
type Translate = [TranslateTask, TranslateResult];
type Apply = [ShardTask<ApplyExtra>, ShardResult<ApplyStats>];

/** Word-level operations only: no statistics, no model. */
const wordsFanout: TypedFanout<Params, [Apply]> = {
  phases: [applyPhase<[]>(() => ({}))],
  reduce: (ctx, [applied]) => reduce(ctx, {}, applied),
};

const tfidfFanout: TypedFanout<Params, [Stats, ...Tfidf, Apply]> = {
  phases: [statsPhase, mergePhase, rankPhase, applyPhase<[StatsResult[], MergeResult[], ModelRef[]]>(([stats, , [model]]) => ({ stats, model }))],
  reduce: (ctx, [stats, , , applied]) => reduce(ctx, { stats }, applied),
};

const translateFanout: TypedFanout<Params, [Stats, Translate, Apply]> = {
  phases: [statsPhase, translatePhase, applyPhase<[StatsResult[], TranslateResult[]]>(([stats, [translated]]) => ({ stats, translated }))],
  reduce: (ctx, [stats, [translated], applied]) => reduce(ctx, { stats, translated }, applied),
};

const tfidfTranslateFanout: TypedFanout<Params, [Stats, ...Tfidf, Translate, Apply]> = {
  phases: [
    statsPhase,
    mergePhase,
    rankPhase,
    translatePhase,
    applyPhase<[StatsResult[], MergeResult[], ModelRef[], TranslateResult[]]>(([stats, , [model], [translated]]) => ({ stats, model, translated })),
  ],
  reduce: (ctx, [stats, , , [translated], applied]) => reduce(ctx, { stats, translated }, applied),
};

/** The phases these params need: statistics for tfidf or back-translation, the merge and rank for tfidf, translate for back-translation, then apply. */
export function augmentFanout(p: Params): StageFanout<Params> {
  if (p.tfidf) return p.backTranslation ? tfidfTranslateFanout : tfidfFanout;
  return p.backTranslation ? translateFanout : wordsFanout;
}

export const augmentStage: StageImpl<Params> = {
  fanout: augmentFanout,
  run: (ctx) => runPhasesInline(ctx, augmentFanout(ctx.params)),

  async fingerprint(p: Params, env) {
    const synonyms = p.synonyms && fs.existsSync(p.synonyms) ? { size: fs.statSync(p.synonyms).size, mtimeMs: fs.statSync(p.synonyms).mtimeMs } : p.synonyms;
    return {
      synonyms,
      forward: await modelDirFingerprint(p.backTranslation?.forward, env?.store),
      backward: await modelDirFingerprint(p.backTranslation?.backward, env?.store),
    };
  },
};
