import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * Quality filters with the published defaults of datatrove / the papers, each rule group switchable. Chinese
 * (and Japanese) text is counted per character: every Han/Kana character is one "word" (see
 * activities/words.ts), and rules meaningless per character (mean word length) are skipped.
 */
const ngramLimits = z.array(z.tuple([z.number().int().min(1), z.number().min(0).max(1)]));

function rule<S extends z.ZodRawShape>(enabled: boolean, shape: S) {
  const o = z.object({ enabled: z.boolean().default(enabled), ...shape }).strict();
  // Every field has a default, so an absent rule parses as `{}`: the published defaults.
  return o.prefault({} as z.input<typeof o>);
}

export const FilterParams = z
  .object({
    language: rule(true, {
      languages: z.array(z.string().min(2)).min(1).default(['en', 'zh']).describe('ISO 639-1 codes as CLD3 reports them'),
      minScore: z.number().min(0).max(1).default(0.65).describe('CLD3 probability (datatrove: 0.65 with fastText)'),
    }),
    gopherRepetition: rule(true, {
      dupLineFrac: z.number().default(0.3),
      dupParaFrac: z.number().default(0.3),
      dupLineCharFrac: z.number().default(0.2),
      dupParaCharFrac: z.number().default(0.2),
      topNGrams: ngramLimits.default([[2, 0.2], [3, 0.18], [4, 0.16]]).describe('[n, max char fraction of the top n-gram]'),
      dupNGrams: ngramLimits
        .default([[5, 0.15], [6, 0.14], [7, 0.13], [8, 0.12], [9, 0.11], [10, 0.1]])
        .describe('[n, max char fraction of duplicated n-grams]'),
    }),
    gopherQuality: rule(true, {
      minWords: z.number().int().default(50),
      maxWords: z.number().int().default(100_000),
      minMeanWordLength: z.number().default(3),
      maxMeanWordLength: z.number().default(10),
      maxSymbolWordRatio: z.number().default(0.1).describe('"#" and ellipses per word'),
      maxBulletLinesRatio: z.number().default(0.9),
      maxEllipsisLinesRatio: z.number().default(0.3),
      minAlphaWordsRatio: z.number().default(0.8).describe('share of words with an alphabetic character'),
      minStopWords: z.number().int().default(2),
      stopWords: z.array(z.string()).default(['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with']),
      stopWordsZh: z.array(z.string()).default(['的', '了', '是', '在', '和', '有', '不', '这', '我', '也', '就', '都']),
    }),
    c4: rule(true, {
      removeCitations: z.boolean().default(true).describe('remove [1], [edit], [citation needed]'),
      terminalPunct: z.boolean().default(true).describe('drop lines not ending in terminal punctuation'),
      minWordsPerLine: z.number().int().default(3),
      minSentences: z.number().int().default(5).describe('documents with fewer kept sentences are dropped'),
      maxWordLength: z.number().int().default(1000),
      loremIpsum: z.boolean().default(true).describe('drop documents containing "lorem ipsum"'),
      javascript: z.boolean().default(true).describe('drop lines mentioning javascript'),
      curlyBracket: z.boolean().default(true).describe('drop documents with a "{"'),
      policy: z.boolean().default(true).describe('drop terms-of-use / privacy / cookie policy lines'),
    }),
    fineweb: rule(true, {
      linePunctRatio: z.number().default(0.12).describe('min share of lines ending in terminal punctuation'),
      linePunctExcludeZero: z.boolean().default(false),
      shortLineLength: z.number().int().default(30),
      shortLineRatio: z.number().default(0.67).describe('max share of lines of at most shortLineLength chars'),
      dupLineCharRatio: z.number().default(0.1).describe('max share of chars in duplicated lines (FineWeb paper; datatrove code: 0.01)'),
      newLineRatio: z.number().default(0.3).describe('max newlines per word (list-like documents)'),
    }),
    pii: rule(false, {
      emails: z.boolean().default(true),
      phones: z.boolean().default(true).describe('international/NANP numbers and Chinese mobile numbers'),
      idCards: z.boolean().default(true).describe('Chinese resident ID numbers with a valid checksum'),
      replacements: z
        .object({ email: z.string().default('<EMAIL>'), phone: z.string().default('<PHONE>'), idCard: z.string().default('<ID>') })
        .strict()
        .prefault({}),
    }),
    writeDropped: z.boolean().default(false).describe('also write dropped documents (with rule and reason) as `dropped-*` shards'),
    batchSize: z.number().int().positive().default(1000),
    shardSize: z.number().int().positive().default(10_000),
  })
  .strict();

/** The `filter` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const filterKind = stageKind({
  description: 'Language ID, Gopher quality/repetition, C4 and FineWeb rules, optional PII masking; drops counted per rule',
  params: FilterParams,
  accepts: ['documents'],
  produces: 'documents',
  version: '2',
  defaultQueue: QUEUES.cpu,
  fanout: () => true, // one task per input shard
});
