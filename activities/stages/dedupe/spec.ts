import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * Near-duplicate options (MinHash LSH). Defaults follow datatrove/FineWeb: 112 permutations as 14 bands × 8 rows,
 * word 5-gram shingles, targeting ≥ 0.75 Jaccard similarity. Give only `threshold` and bands × rows are derived
 * from it (the split minimizing false-positive + false-negative area, as datasketch does).
 */
export const NearDedupeParams = z
  .object({
    threshold: z.number().gt(0).lt(1).optional().describe('Jaccard similarity above which documents are near-duplicates (default 0.75)'),
    numPerm: z.number().int().min(2).max(1024).default(112).describe('MinHash permutations'),
    bands: z.number().int().positive().optional().describe('LSH bands (with rows; default 14, or derived from threshold)'),
    rows: z.number().int().positive().optional().describe('rows per band (with bands; default 8, or derived from threshold)'),
    ngram: z.number().int().positive().default(5).describe('tokens per shingle (words, or characters for zh with tokens: chars)'),
    language: z.enum(['auto', 'en', 'zh']).default('auto').describe('auto: per document, zh when mostly CJK'),
    zhTokens: z.enum(['words', 'chars']).default('words').describe('Chinese tokens: jieba-segmented words or characters'),
    seed: z.number().int().nonnegative().default(1).describe('permutation seed; change it only together with the index you compare against'),
    verify: z.boolean().default(true).describe('confirm LSH candidate pairs by signature similarity ≥ threshold'),
    bandsPerTask: z.number().int().positive().default(2).describe('LSH bands merged by one fan-out task'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.bands === undefined) !== (p.rows === undefined)) {
      ctx.addIssue({ code: 'custom', path: [p.bands === undefined ? 'bands' : 'rows'], message: 'give bands and rows together' });
    } else if (p.bands !== undefined && p.bands * p.rows! > p.numPerm) {
      ctx.addIssue({ code: 'custom', path: ['bands'], message: `bands × rows (${p.bands * p.rows!}) exceeds numPerm (${p.numPerm})` });
    }
  });

export const DedupeParams = z
  .object({
    method: z.enum(['exact', 'near']).default('exact').describe('exact: normalized-text hash; near: exact first, then MinHash LSH'),
    normalize: z
      .object({
        lowercase: z.boolean().default(true),
        whitespace: z.boolean().default(true).describe('collapse runs of whitespace and trim'),
        punctuation: z.boolean().default(false).describe('drop punctuation before hashing'),
      })
      .strict()
      .default({ lowercase: true, whitespace: true, punctuation: false }),
    near: NearDedupeParams.optional().describe('near-duplicate options (method: near)'),
    against: z
      .string()
      .optional()
      .describe('a needs-stage whose documents are the reference (e.g. the previous snapshot): documents duplicating them are dropped; they are not output'),
    shardSize: z.number().int().positive().default(10_000),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.near && p.method !== 'near') ctx.addIssue({ code: 'custom', path: ['near'], message: 'near options need method: near' });
  });

/** The `dedupe` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const dedupeKind = stageKind({
  description: 'Drop exact duplicates (normalized text hash), then with method near MinHash LSH near-duplicates; the first occurrence is kept',
  params: DedupeParams,
  accepts: ['documents'],
  produces: 'documents',
  version: '3',
  defaultQueue: QUEUES.cpu,
  fanout: () => true, // exact: keys per shard → decide per hash partition → filter per shard
});
