import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * DSIR-style domain data selection: documents of the general corpus are scored by the log importance ratio
 * of their hashed unigram+bigram features under the seed (domain) and general bucket distributions; the best
 * are kept (`method: topk`), or `topK` are drawn with probability ∝ exp(score) (`method: resample`, DSIR's
 * importance resampling). Which needs-stage is which is named here.
 */
export const SelectParams = z
  .object({
    seed: z.string().min(1).describe('the needs-stage holding the small seed domain corpus'),
    general: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('the needs-stages holding the general corpus to select from; default: every need but `seed`'),
    buckets: z.number().int().min(16).default(10_000).describe('hash buckets of the unigram+bigram features'),
    smoothing: z.number().positive().default(1).describe('additive (Laplace) smoothing of each bucket count'),
    score: z
      .enum(['mean', 'sum'])
      .default('mean')
      .describe('mean: log-ratio per feature (length-neutral); sum: DSIR\'s whole-document log importance weight'),
    keywords: z.array(z.string().min(1)).default([]).describe('lexicon terms (case-insensitive substrings)'),
    keywordBoost: z.number().nonnegative().default(0.5).describe('added to the score per log(1 + keyword hits)'),
    method: z
      .enum(['topk', 'resample'])
      .default('topk')
      .describe(
        'topk: keep the topK best-scoring documents (ties: the earlier in input order) and/or those scoring at least threshold; ' +
          'resample: DSIR importance resampling (Xie et al. 2023) — draw topK documents without replacement, each with probability ' +
          '∝ its importance weight exp(score) (with score: sum, exp of the sum of its features\' log-ratios: DSIR\'s weight), by the ' +
          'Gumbel-top-k trick: keep the topK largest score + Gumbel noise, the noise drawn from a generator seeded by (sampleSeed, ' +
          'document id), so a draw is reproducible and does not depend on shards or workers; needs topK and no threshold',
      ),
    sampleSeed: z.number().int().default(0).describe('method: resample: the random seed of the draw (another seed, another sample)'),
    topK: z.number().int().positive().optional().describe('keep the k best documents (method: resample: draw k documents)'),
    threshold: z.number().optional().describe('keep documents scoring at least this (with topK: both must hold; not with method: resample)'),
    histogramBins: z.number().int().min(2).max(200).default(20),
    shardSize: z.number().int().positive().default(10_000),
  })
  .strict()
  .refine((p) => p.topK !== undefined || p.threshold !== undefined, { message: 'set topK, threshold or both', path: ['topK'] })
  .refine((p) => p.method !== 'resample' || (p.topK !== undefined && p.threshold === undefined), {
    message: 'method: resample draws topK documents: set topK, and no threshold',
    path: ['method'],
  });

/** The `select` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const selectKind = stageKind({
  description: 'DSIR-style selection: score a general corpus against a seed domain corpus (hashed n-gram log-ratios), keep the best or importance-resample',
  params: SelectParams,
  accepts: ['documents'],
  produces: 'documents',
  version: '2',
  defaultQueue: QUEUES.cpu,
  fanout: () => true, // counts and scores per shard → weights, radix-select cut → apply per shard
});
