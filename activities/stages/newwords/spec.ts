import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * Domain vocabulary mining: candidate words (Chinese character n-grams, English word n-grams) scored by
 * frequency, cohesion (PMI) and freedom (left/right neighbour entropy), minus what the base tokenizer or a
 * general dictionary already knows, and over-represented versus a general corpus when one is given. The whole
 * corpus is counted (or a uniform random sample of its documents), as a fan-out over shards and hash partitions.
 */
export const NewwordsParams = z
  .object({
    language: z.enum(['auto', 'zh', 'en']).default('auto').describe('auto: Chinese candidates from Han runs, English from Latin words'),
    maxChars: z.number().int().min(2).max(8).default(5).describe('longest Chinese candidate, in characters'),
    maxWords: z.number().int().min(1).max(5).default(3).describe('longest English candidate, in words'),
    minFreq: z.number().int().positive().default(5),
    minPmi: z.number().default(2).describe('cohesion: least pointwise mutual information over any split of the candidate'),
    minEntropy: z.number().nonnegative().default(1).describe('freedom: least of left and right neighbour entropy (nats)'),
    baseVocab: z.string().optional().describe('vocab.txt (WordPiece) or tokenizer.json: words it keeps whole are not new'),
    dictionary: z.string().optional().describe('general dictionary (a word or term per line; jieba’s "word freq tag" layout accepted), or "jieba" for its built-in dictionary'),
    general: z.string().optional().describe('name of the needs-stage whose documents are the general (background) corpus'),
    minRatio: z.number().positive().default(2).describe('with general: least over-representation (domain rate / general rate)'),
    topK: z.number().int().positive().default(2000).describe('lexicon size'),
    sample: z
      .number()
      .gt(0)
      .max(1)
      .default(1)
      .describe('fraction of the documents counted, domain and general: a document is in when a hash of (sampleSeed, its id) says so — a uniform random sample, the same whatever the order or sharding of the input; 1: every document'),
    sampleSeed: z.number().int().default(0).describe('the seed of the sample (another seed, another sample)'),
    partitions: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .optional()
      .describe('hash partitions of the n-gram counts (default: one per MiB of compressed domain input, at most 512); bounds the memory of a task, not the lexicon'),
  })
  .strict();

/** The `newwords` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const newwordsKind = stageKind({
  description: 'Mine a ranked domain lexicon (frequency, PMI, neighbour entropy) not covered by the base vocabulary',
  params: NewwordsParams,
  accepts: ['documents'],
  produces: 'lexicon',
  version: '3', // 3: generalFreq per entry, generalUnits in the metrics (the long-tail analysis reads them)
  defaultQueue: QUEUES.cpu,
  localPaths: { params: ['baseVocab', 'dictionary'], keywords: ['jieba'] },
  fanout: () => true, // count per shard → merge, look up, score per hash partition → rank
});
