import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';
import { ModelRef } from '../pretrain/spec';

/**
 * The long-tail analysis of a mined lexicon: per term its domain and general frequency (from the newwords
 * counts), how the base model's tokenizer fragments it (the real tokenizer, through `python -m trainer
 * longtail`), whether the user's glossary defines it, and a "needs knowledge" score (./score.ts) that selects
 * the terms dictionary-enhanced pretraining explains. Its output is the lexicon again, each entry with its
 * analysis, so masking and vocabulary extension read it like the newwords lexicon.
 */
export const LongtailParams = z
  .object({
    baseModel: ModelRef.optional().describe('the model whose tokenizer is asked (local directory, s3://bucket/prefix/ or promoted:<name>); omit to take the model a needs-stage produces'),
    dictionary: z
      .string()
      .min(1)
      .optional()
      .describe('the glossary: JSONL, one {"term": "...", "definition": "..."} per line (local path, relative to the pipeline file); a term is only selected when it has a definition'),
    score: z
      .object({
        generalPerMillion: z.number().positive().default(10).describe('general-text rate (per million words/characters) at which a term counts half rare'),
        enoughFreq: z.number().int().positive().default(10).describe('domain occurrences from which a term is frequent enough in full'),
        fragmentPieces: z.number().int().min(2).default(3).describe('base-tokenizer pieces from which a term counts fully fragmented (1 piece: not at all)'),
      })
      .strict()
      .default({ generalPerMillion: 10, enoughFreq: 10, fragmentPieces: 3 }),
    minScore: z.number().gt(0).max(1).default(0.3).describe('least "needs knowledge" score of a selected term'),
    maxSelected: z.number().int().positive().default(1000).describe('most terms selected, best first'),
    table: z.number().int().min(0).max(500).default(30).describe('terms listed in the metrics and the report, best first'),
  })
  .strict();

/** The `longtail` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const longtailKind = stageKind({
  description: 'Long-tail analysis of a lexicon: frequencies, base-tokenizer fragmentation, definitions, and the terms that need knowledge',
  params: LongtailParams,
  accepts: ['lexicon', 'model'],
  produces: 'lexicon',
  version: '1',
  defaultQueue: QUEUES.cpu, // a tokenizer, no model weights in use
  localPaths: { params: ['baseModel', 'dictionary'] },
  fanout: () => false,
});
