import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * HTML documents → main text. Where the HTML is: `metadata.html` when it is a string, otherwise `text` when
 * `metadata.contentType` is an HTML type (as `warc` sets it) or the text starts with markup (`<!doctype html`,
 * `<html`, `<head`, `<body`). Documents without HTML are passed through or dropped (`nonHtml`).
 */
export const ExtractParams = z
  .object({
    minChars: z
      .number()
      .int()
      .nonnegative()
      .default(250)
      .describe('pages whose extracted main text is shorter are dropped (trafilatura\'s MIN_EXTRACTED_SIZE)'),
    nonHtml: z.enum(['keep', 'drop']).default('keep').describe('documents with no HTML: passed through unchanged, or dropped'),
    detectLanguage: z.boolean().default(true).describe('set metadata.language/languageScore with CLD3 on the extracted text'),
    keepHtml: z.boolean().default(false).describe('keep the source HTML in metadata.html of the output'),
    comments: z
      .enum(['drop', 'append', 'metadata'])
      .default('drop')
      .describe(
        "the page's user comments (threads found by their markup): left out (the default: like FineWeb's trafilatura " +
          'settings, comments are short, repetitive and personal text a pretraining corpus is better without), appended to ' +
          'the text after a blank line, or kept apart in metadata.comments',
      ),
    shardSize: z.number().int().positive().default(10_000),
  })
  .strict();

/** The `extract` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const extractKind = stageKind({
  description: 'HTML documents → main text with title and language, boilerplate removed; short pages dropped',
  params: ExtractParams,
  accepts: ['documents'],
  produces: 'documents',
  version: '6',
  defaultQueue: QUEUES.cpu,
  fanout: () => true, // one task per input shard
});
