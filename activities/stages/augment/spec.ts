import { z } from 'zod';
import { ModelRef } from '../pretrain/spec';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

const Rate = z.number().min(0).max(1);

/**
 * UDA-style augmentation of unlabeled domain text (Xie et al. 2019; Wei & Zou 2019): each document becomes
 * `variants` (original, augmented) pairs for consistency training. Word-level operations — TF-IDF word
 * replacement and the four EDA operations — run in TypeScript; back-translation runs the trainer
 * (`python -m trainer translate`) with two local seq2seq models.
 */
export const AugmentParams = z
  .object({
    language: z.enum(['auto', 'en', 'zh']).default('auto').describe('auto: the document\'s metadata lang/language, else Han script share; zh is segmented with jieba'),
    variants: z.number().int().min(1).max(64).default(1).describe('augmented versions per document'),
    seed: z.number().int().default(0).describe('each (document id, variant) gets its own generator seeded by hash(seed, id, variant)'),
    combine: z
      .enum(['one', 'all'])
      .default('one')
      .describe('one: each variant applies one of the enabled operations (rotating over variants, as EDA and UDA do); all: every enabled operation, in the order backTranslation, tfidf, synonym, insert, swap, delete'),
    tfidf: z
      .object({ ratio: z.number().gt(0).max(1).default(0.3).describe('expected fraction of a document\'s words replaced') })
      .strict()
      .optional()
      .describe('UDA TF-IDF word replacement: words with low TF-IDF are replaced more often, keywords are kept; replacements are drawn from the corpus vocabulary, weighted toward low-information words'),
    eda: z
      .object({
        synonym: Rate.default(0).describe('α_sr: fraction of words replaced by a synonym from `synonyms`'),
        insert: Rate.default(0).describe('α_ri: fraction of words for which a synonym is inserted at a random position'),
        swap: Rate.default(0).describe('α_rs: fraction of words swapped with another word'),
        delete: Rate.default(0).describe('p_rd: probability that a word is deleted'),
      })
      .strict()
      .optional()
      .describe('EDA operations, each off at rate 0; synonym and insert need `synonyms`'),
    synonyms: z
      .string()
      .optional()
      .describe('synonym lexicon (local file): TSV "word<TAB>synonym<TAB>..." per line, or JSON {"word": ["synonym", ...]}'),
    protectLexicon: z.boolean().default(true).describe('with a lexicon input (newwords), its terms are never replaced or deleted'),
    backTranslation: z
      .object({
        forward: ModelRef.describe('seq2seq model translating into the pivot language'),
        backward: ModelRef.describe('seq2seq model translating back'),
        forwardPrefix: z.string().default('').describe('prepended to each source text (T5 task prefixes)'),
        backwardPrefix: z.string().default(''),
        temperature: z.number().min(0).max(2).default(0).describe('0: beam search / greedy; > 0: sampling (UDA samples at 0.9 for diverse paraphrases)'),
        numBeams: z.number().int().min(1).max(16).default(1),
        maxLength: z.number().int().min(8).max(1024).default(256).describe('tokens per sentence, in and out'),
        batchSize: z.number().int().positive().default(16),
        device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
      })
      .strict()
      .optional()
      .describe('back-translation of each sentence through a pivot language'),
    shardSize: z.number().int().positive().default(10_000).describe('pair records per output shard'),
  })
  .strict()
  .superRefine((p, ctx) => {
    const eda = p.eda;
    if (!p.tfidf && !p.backTranslation && !(eda && (eda.synonym || eda.insert || eda.swap || eda.delete))) {
      ctx.addIssue({ code: 'custom', message: 'enable at least one operation: tfidf, eda (a rate above 0) or backTranslation', path: [] });
    }
    if (eda && (eda.synonym > 0 || eda.insert > 0) && !p.synonyms) {
      ctx.addIssue({ code: 'custom', message: 'eda.synonym and eda.insert need a synonym lexicon (synonyms: path)', path: ['synonyms'] });
    }
  });

/** One output record: the original text, one augmented version, and what was done to it (operation → edits). */
export const PairRecord = z.object({
  id: z.string(),
  text: z.string(),
  augmented: z.string(),
  lang: z.enum(['en', 'zh']),
  variant: z.number().int().nonnegative(),
  ops: z.record(z.string(), z.number()),
});
export type PairRecordT = z.output<typeof PairRecord>;
export const PAIR_SCHEMA = 'pair/v1';

/** The `augment` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const augmentKind = stageKind({
  description: 'UDA-style augmentation of unlabeled text: TF-IDF word replacement, EDA operations, back-translation → (original, augmented) pairs',
  params: AugmentParams,
  accepts: ['documents', 'lexicon'],
  produces: 'pairs',
  version: '2',
  defaultQueue: QUEUES.cpu,
  localPaths: { params: ['synonyms', 'backTranslation.forward', 'backTranslation.backward'] },
  fanout: () => true, // statistics per shard → merge per partition → model; translate (one task); pairs per shard
});
