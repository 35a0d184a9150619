import { z } from 'zod';

export const CrawlParams = z
  .object({
    seeds: z.array(z.url()).min(1),
    allow: z.array(z.string()).default([]).describe('glob patterns (host/path) a URL must match; empty = seeds\' hosts'),
    deny: z.array(z.string()).default([]),
    maxPages: z.number().int().positive().default(1000),
    maxDepth: z.number().int().nonnegative().default(3),
    perHostConcurrency: z.number().int().positive().default(2),
    delayMs: z.number().int().nonnegative().default(0).describe('pause between two requests to the same host'),
    maxRetries: z.number().int().nonnegative().default(3).describe('per page, on 5xx and timeouts'),
    requestTimeoutSecs: z.number().positive().default(30),
    respectRobotsTxt: z.boolean().default(true),
    allowPrivateNetworks: z.boolean().default(false),
    minChars: z.number().int().nonnegative().default(50).describe('pages whose main text is shorter are dropped'),
    shardSize: z.number().int().positive().default(1000),
  })
  .strict();
