import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/** The WARC record types the `warc` stage can turn into documents. */
export const WARC_RECORD_TYPES = ['response', 'conversion', 'resource'] as const;

/**
 * WARC/WET files (Common Crawl layout: one gzip member per record) → documents, streamed record by record.
 * `conversion` records (WET) give their plain text; `response` and `resource` records give their HTML as
 * `text`, with `metadata.contentType` set, for a later `extract` stage.
 */
export const WarcParams = z
  .object({
    paths: z
      .array(z.string().min(1))
      .min(1)
      .describe('files, folders (searched recursively) or s3://bucket/prefix in the configured store'),
    records: z.array(z.enum(WARC_RECORD_TYPES)).min(1).default(['response', 'conversion']).describe('record types that become documents'),
    contentTypes: z
      .array(z.string().min(1))
      .default(['text/html', 'application/xhtml+xml'])
      .describe('media types of response/resource payloads to keep (WET conversion records are always text)'),
    maxRecordBytes: z.number().int().positive().default(5 * 1024 * 1024).describe('larger payloads are skipped (counted)'),
    minChars: z.number().int().nonnegative().default(1).describe('documents with less text are dropped (counted)'),
    limit: z.number().int().positive().optional().describe('stop after this many documents (sampling a large crawl)'),
    shardSize: z.number().int().positive().default(10_000),
  })
  .strict();

/** The `warc` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const warcKind = stageKind({
  description: 'Read WARC/WET files (per-record gzip, local or s3://bucket/prefix) into documents: WET text, HTML of responses',
  params: WarcParams,
  accepts: [],
  produces: 'documents',
  version: '2',
  defaultQueue: QUEUES.cpu,
  localPaths: { params: ['paths'] },
  fanout: (p) => p.limit === undefined, // one task per file; a limit reads the files in order
});
