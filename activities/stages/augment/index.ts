/**
 * The `augment` stage: UDA-style augmentation of unlabeled domain text. Two passes over the documents: the
 * first gathers the TF-IDF statistics (per language) and queues the texts to back-translate; the second writes
 * `variants` pairs per document, {id, text, augmented, lang, variant, ops}, as gzip JSONL shards. Every random
 * choice of a pair comes from a generator seeded by hash(seed, document id, variant), so the output depends on
 * the documents and the seed only — not on how they were sharded or on what else ran.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Jieba } from '@node-rs/jieba';
import { rng } from '../../../examples/demo/rng';
import type { ArtifactFileT, ManifestT } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import { PAIR_SCHEMA, type PairRecordT } from '../../../schemas/stages/augment';
import { ShardWriter, readDocuments } from '../../documents';
import { ConfigError, InputError } from '../../errors';
import { defaultJieba } from '../near-dedupe/shingles';
import { jiebaWithLexicon } from '../newwords/segment';
import { modelDirFingerprint } from '../pretrain/staging';
import type { StageContext, StageImpl } from '../types';
import { BackTranslation } from './backtranslate';
import { randomDelete, randomInsert, randomSwap, synonymReplace, type Editable, type Random, type Synonyms } from './eda';
import { readLexiconWords, TermMatcher } from './lexicon';
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

export const augmentStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const p = ctx.params;
    const docsInputs = ctx.inputs.filter((i) => i.manifest.kind === 'documents');
    const lexicons = ctx.inputs.filter((i) => i.manifest.kind === 'lexicon');
    if (!docsInputs.length) throw new ConfigError('augment needs a documents input (a needs-stage producing documents)');
    if (lexicons.length > 1) throw new ConfigError(`augment takes at most one lexicon input, got ${lexicons.map((l) => l.stage).join(', ')}`);
    const ops = enabledOperations(p);
    const synonyms = p.synonyms ? loadSynonyms(p.synonyms) : undefined;

    const lexicon = lexicons.length && p.protectLexicon ? await readLexiconWords(ctx.store, lexicons[0], ctx.workDir) : [];
    // Lexicon terms are jieba user words, so a Chinese term is one word and is replaced whole or not at all.
    const segmenter = lexicon.length ? jiebaWithLexicon(lexicon.filter((t) => /\p{Script=Han}/u.test(t))) : defaultJieba();
    const terms = lexicon.length ? new TermMatcher(lexicon, (t) => splitWords(t, /\p{Script=Han}/u.test(t) ? 'zh' : 'en', segmenter).words) : undefined;

    // Pass 1: corpus statistics and the texts to back-translate.
    const stats: Record<Lang, CorpusStats> = { en: new CorpusStats(), zh: new CorpusStats() };
    const bt = p.backTranslation ? new BackTranslation(path.join(ctx.workDir, 'back-translation')) : undefined;
    let documents = 0;
    let empty = 0;
    await eachDocument(ctx, docsInputs.map((i) => i.manifest), 'reading', (doc) => {
      const lang = documentLang(doc.text, doc.metadata, p.language);
      const words = splitWords(doc.text, lang, segmenter);
      if (!words.words.length) return void empty++;
      documents++;
      if (p.tfidf) stats[lang].add(words.words.map(wordKey));
      if (!bt) return;
      for (let v = 0; v < p.variants; v++) if (operationsFor(p, ops, doc.id, v).includes('backTranslation')) bt.add(`${doc.id}\u0000${v}`, doc.text);
    });
    if (!documents) {
      throw new InputError(`augment: no text to augment: the documents of ${docsInputs.map((i) => i.stage).join(', ')} are empty${empty ? ` (${empty} without a single word)` : ''}`);
    }
    if (bt) {
      if (p.backTranslation!.temperature === 0 && bt.count > documents) ctx.log('augment: several back-translated variants per document with temperature 0 are identical (beam search is deterministic); set backTranslation.temperature for diverse paraphrases');
      const input = await bt.close();
      const saved = ctx.resumeFrom<AugmentCheckpoint>()?.backTranslation;
      if (saved?.input === input && (await bt.restore(ctx.store, saved.output))) {
        bt.metrics = saved.metrics;
        ctx.log(`augment: ${bt.count} back-translations restored from attempt ${saved.attempt}`);
      } else {
        await bt.run(ctx, p.backTranslation!, p.seed);
        const checkpoint: AugmentCheckpoint = { backTranslation: { input, output: await bt.save(ctx.store), metrics: bt.metrics, attempt: ctx.attempt } };
        ctx.progress({ message: `back-translated ${bt.count} texts`, checkpoint });
      }
    }

    // Pass 2: the pairs.
    const augmenter: WordAugmenter = { segmenter, synonyms, terms, models: p.tfidf ? { en: stats.en.docs ? stats.en.finish() : undefined, zh: stats.zh.docs ? stats.zh.finish() : undefined } : {} };
    const writer = new ShardWriter<PairRecordT>(ctx.store, ctx.workDir, p.shardSize, 'pairs');
    const translations = bt?.results();
    const edits: Record<string, number> = {};
    const langs: Record<Lang, number> = { en: 0, zh: 0 };
    let words = 0;
    let unchanged = 0;
    try {
      await eachDocument(ctx, docsInputs.map((i) => i.manifest), 'augmenting', async (doc) => {
        const lang = documentLang(doc.text, doc.metadata, p.language);
        const n = splitWords(doc.text, lang, segmenter).words.length;
        if (!n) return;
        langs[lang]++;
        for (let v = 0; v < p.variants; v++) {
          const chosen = operationsFor(p, ops, doc.id, v);
          let text = doc.text;
          const done: Record<string, number> = {};
          if (chosen.includes('backTranslation')) {
            text = await translations!.next(`${doc.id}\u0000${v}`);
            done.backTranslation = 1;
          }
          const out = augmentWords(text, lang, chosen, p, augmenter, rng(seedOf(p.seed, doc.id, v)));
          Object.assign(done, out.ops);
          for (const [op, k] of Object.entries(done)) edits[op] = (edits[op] ?? 0) + k;
          words += n;
          if (out.text === doc.text) unchanged++;
          await writer.write({ id: doc.id, text: doc.text, augmented: out.text, lang, variant: v, ops: done });
        }
      });
    } finally {
      translations?.close();
    }
    const files = await writer.close();
    ctx.log(`augment: ${writer.total} pairs from ${documents} documents (${ops.join(', ')})`);
    return {
      files,
      schema: PAIR_SCHEMA,
      metrics: {
        documents,
        pairs: writer.total,
        skippedEmpty: empty,
        languages: langs,
        operations: ops,
        edits,
        // Edited words per original word, per operation (tfidf's should be close to its ratio where it ran alone).
        editsPerWord: Object.fromEntries(Object.entries(edits).filter(([op]) => op !== 'backTranslation').map(([op, k]) => [op, Math.round((k / Math.max(1, words)) * 1e4) / 1e4])),
        unchanged,
        synonymEntries: synonyms?.size ?? 0,
        protectedTerms: terms?.size ?? 0,
        ...(bt ? { backTranslated: bt.count, translate: bt.metrics } : {}),
      },
    };
  },

  async fingerprint(p: Params, env) {
    const synonyms = p.synonyms && fs.existsSync(p.synonyms) ? { size: fs.statSync(p.synonyms).size, mtimeMs: fs.statSync(p.synonyms).mtimeMs } : p.synonyms;
    return {
      synonyms,
      forward: await modelDirFingerprint(p.backTranslation?.forward, env?.store),
      backward: await modelDirFingerprint(p.backTranslation?.backward, env?.store),
    };
  },
};

async function eachDocument(
  ctx: StageContext<Params>,
  manifests: ManifestT[],
  what: string,
  visit: (doc: { id: string; text: string; metadata: Record<string, unknown> }) => void | Promise<void>,
): Promise<void> {
  const total = manifests.reduce((n, m) => n + m.files.reduce((k, f) => k + (f.records ?? 0), 0), 0);
  let seen = 0;
  for (const m of manifests) {
    for await (const doc of readDocuments(ctx.store, m)) {
      await visit(doc);
      if (++seen % 1000 === 0) {
        ctx.signal.throwIfAborted();
        ctx.progress({ fraction: total ? seen / total : undefined, message: `${what}: ${seen} documents` });
      }
    }
  }
}
