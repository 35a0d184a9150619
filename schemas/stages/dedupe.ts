import { z } from 'zod';

export const DedupeParams = z
  .object({
    method: z.literal('exact').default('exact'),
    normalize: z
      .object({
        lowercase: z.boolean().default(true),
        whitespace: z.boolean().default(true).describe('collapse runs of whitespace and trim'),
        punctuation: z.boolean().default(false).describe('drop punctuation before hashing'),
      })
      .strict()
      .default({ lowercase: true, whitespace: true, punctuation: false }),
    shardSize: z.number().int().positive().default(10_000),
  })
  .strict();
