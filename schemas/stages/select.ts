import { z } from 'zod';

/**
 * DSIR-style domain data selection: documents of the general corpus are scored by the log importance ratio
 * of their hashed unigram+bigram features under the seed (domain) and general bucket distributions; the best
 * are kept. Which needs-stage is which is named here.
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
    topK: z.number().int().positive().optional().describe('keep the k best documents'),
    threshold: z.number().optional().describe('keep documents scoring at least this (with topK: both must hold)'),
    histogramBins: z.number().int().min(2).max(200).default(20),
    shardSize: z.number().int().positive().default(10_000),
  })
  .strict()
  .refine((p) => p.topK !== undefined || p.threshold !== undefined, { message: 'set topK, threshold or both', path: ['topK'] });
