import { z } from 'zod';

/** Local files and folders (txt, md, html, jsonl, optionally .gz) into normalized JSONL shards. */
export const SourceParams = z
  .object({
    paths: z.array(z.string().min(1)).min(1).describe('files or folders, relative to the pipeline file'),
    extensions: z.array(z.string().regex(/^\.[a-z0-9]+$/)).default(['.txt', '.md', '.html', '.htm', '.jsonl']),
    textField: z.string().default('text').describe('field holding the text in .jsonl inputs'),
    shardSize: z.number().int().positive().default(10_000).describe('records per output shard'),
    minChars: z.number().int().nonnegative().default(1),
  })
  .strict();
