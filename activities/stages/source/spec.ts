import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/** The file types the source stage can read; each may also come gzip-compressed (`name.jsonl.gz`). */
export const SOURCE_EXTENSIONS = ['.txt', '.md', '.html', '.htm', '.jsonl'] as const;

/** Local files and folders (txt, md, html, jsonl, optionally .gz) into normalized JSONL shards. */
export const SourceParams = z
  .object({
    paths: z.array(z.string().min(1)).min(1).describe('files or folders, relative to the pipeline file'),
    extensions: z
      .array(z.enum(SOURCE_EXTENSIONS))
      .min(1)
      .default([...SOURCE_EXTENSIONS])
      .describe('file types to read; folders are searched recursively, `.gz` variants are included'),
    textField: z.string().min(1).default('text').describe('field holding the text in .jsonl inputs'),
    shardSize: z.number().int().positive().default(10_000).describe('records per output shard'),
    taskBytes: z
      .number()
      .int()
      .positive()
      .default(256 * 1024 * 1024)
      .describe('input bytes per fan-out task: consecutive files are grouped up to this size (a larger file is a task alone)'),
    minChars: z.number().int().nonnegative().default(1).describe('documents with less text are dropped'),
  })
  .strict();

/** The `source` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const sourceKind = stageKind({
  description: 'Read local files (txt, md, html, jsonl, .gz) into normalized JSONL document shards',
  params: SourceParams,
  accepts: [],
  produces: 'documents',
  version: '4',
  defaultQueue: QUEUES.cpu,
  localPaths: { params: ['paths'] },
  fanout: () => true, // one task per group of files
});
