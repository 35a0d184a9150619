import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

export const CrawlParams = z
  .object({
    // http(s) only: the fetch loop speaks nothing else, and a file: or ftp: seed would fail the stage at its start.
    seeds: z.array(z.url({ protocol: /^https?$/, error: (iss) => `expected an http(s) URL, got ${JSON.stringify(iss.input)}` })).min(1),
    allow: z.array(z.string()).default([]).describe('glob patterns (host/path) a URL must match; empty = seeds\' hosts'),
    deny: z.array(z.string()).default([]),
    maxPages: z.number().int().positive().default(1000).describe('pages fetched (or found not modified) in all'),
    maxDepth: z.number().int().nonnegative().default(3).describe('link hops from a seed or a sitemap entry'),
    maxBytes: z.number().int().positive().optional().describe('stop taking new pages once this many body bytes were read'),
    maxPageBytes: z
      .number().int().positive().default(5 * 1024 * 1024)
      .describe('larger responses are cut off and counted as too_large (after decompression)'),
    contentTypes: z
      .array(z.string())
      .default(['text/html', 'application/xhtml+xml'])
      .describe('media types kept; other responses fail as content_type without their body being read'),
    perHostConcurrency: z.number().int().positive().default(2),
    delayMs: z.number().int().nonnegative().default(0).describe('pause between two requests to the same host'),
    maxCrawlDelaySecs: z
      .number().nonnegative().default(30)
      .describe('robots.txt Crawl-delay is honoured (as a minimum delayMs for that host) up to this many seconds'),
    maxRetries: z.number().int().nonnegative().default(3).describe('per page, on 408, 429, 5xx, timeouts and network errors'),
    retryBackoffMs: z
      .number().int().nonnegative().default(500)
      .describe('wait before the first retry, doubled for each further one (±20% jitter); a longer Retry-After wins'),
    maxRetryAfterSecs: z.number().nonnegative().default(120).describe('a Retry-After asking for longer is not waited for'),
    requestTimeoutSecs: z.number().positive().default(30),
    respectRobotsTxt: z.boolean().default(true),
    sitemaps: z
      .boolean()
      .default(true)
      .describe('read the sitemaps (index, gzip, lastmod) named by robots.txt Sitemap: lines, else /sitemap.xml'),
    incremental: z
      .boolean()
      .default(false)
      .describe(
        'recrawl against the previous snapshot of this pipeline stage: conditional requests (ETag / Last-Modified), only ' +
          'new or changed documents emitted, removed URLs listed in removed-urls.json and the metrics. Give the stage ' +
          '`cache: false`, else an unchanged config is a cache hit and nothing is recrawled',
      ),
    allowPrivateNetworks: z
      .boolean()
      .default(false)
      .describe('allow loopback/private/link-local targets (checked on seeds, links, redirects and every DNS answer)'),
    minChars: z.number().int().nonnegative().default(50).describe('pages whose main text is shorter are dropped'),
    shardSize: z.number().int().positive().default(1000),
  })
  .strict();

/** The `crawl` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const crawlKind = stageKind({
  description: 'Crawl web pages from seeds (robots.txt, politeness, retries) and extract their main text',
  params: CrawlParams,
  accepts: [],
  produces: 'documents',
  version: '4',
  defaultQueue: QUEUES.cpu,
  fanout: () => false,
});
