import { z } from 'zod';
import { DataSpec, MaskingSpec, ModelSpec } from '../../../schemas/trainer';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';
import { ModelRef } from '../pretrain/spec';

/**
 * Tokenisation of the domain documents ahead of pretraining, one CPU task per document shard: each task splits
 * its shard into train and held-out documents by document id (the split pretrain makes) and writes the train
 * part as a token shard. The settings are those of the pretraining that will read the shards: the trainer
 * refuses shards of another tokenizer or other settings.
 */
export const TokenizeParams = z
  .object({
    baseModel: ModelRef.optional().describe('the model whose tokenizer is used (local directory, s3://bucket/prefix/ or promoted:<name>): the pretraining\'s base model; omit to take the model a needs-stage produces'),
    objective: ModelSpec.shape.objective.default('mlm').describe('as the pretraining\'s: clm appends an EOS to each document; mlm with whole-word or lexicon masking stores word flags'),
    masking: MaskingSpec.pick({ strategy: true, language: true })
      .strict()
      .default({ strategy: 'whole-word', language: 'auto' })
      .describe('as the pretraining\'s masking: whole-word and lexicon masking need word flags (lexicon: the lexicon input\'s words)'),
    seqLen: DataSpec.shape.seqLen.describe('as the pretraining\'s; changes tokens only without packing (documents are truncated to it)'),
    packing: DataSpec.shape.packing,
    evalFraction: z.number().min(0).lt(1).default(0.05).describe('share of the documents held out (by document id hash) for evaluation, as pretrain\'s evalFraction: held-out documents are kept as documents, not tokenised'),
  })
  .strict();

/** The `tokenize` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const tokenizeKind = stageKind({
  description: 'Tokenise the domain documents into token shards in the store, one CPU task per document shard; pretrain reads them instead of the documents',
  params: TokenizeParams,
  accepts: ['documents', 'model', 'lexicon'],
  produces: 'tokens',
  version: '1',
  defaultQueue: QUEUES.cpu, // a tokenizer, no model weights in use
  localPaths: { params: ['baseModel'] },
  fanout: () => true,
});
