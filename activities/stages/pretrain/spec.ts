import { z } from 'zod';
import { ConfigOverrides, DataSpec, DictionarySpec, LoraAdapterSpec, MaskingSpec, ModelSpec, NgramAdapterSpec, PretrainConfig, TrainSpec, VocabSpec } from '../../../schemas/trainer';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * A base model reference: a local Hugging Face directory (relative to the pipeline file), `s3://bucket/prefix/`
 * in the configured object store, or `promoted:<name>`, the model a promote stage last published under that name.
 */
export const ModelRef = z
  .string()
  .min(1)
  .describe('local Hugging Face model directory (relative to the pipeline file), s3://bucket/prefix/ in the configured store, or promoted:<name> (the latest promoted model)');

/**
 * Continual pretraining of a base model on the domain documents of its needs-stages. The trainer-facing
 * pieces (masking, vocabulary, training) are the trainer config's own schemas (schemas/trainer.ts); paths to
 * staged files are filled in by the activity.
 */
export const PretrainParams = z
  .object({
    baseModel: ModelRef.optional().describe(
      'local Hugging Face model directory (relative to the pipeline file), s3://bucket/prefix/, or promoted:<name> (the latest model a promote stage published: week-by-week refresh); omit to continue from the model a needs-stage produces',
    ),
    fallbackModel: ModelRef.optional().describe('with baseModel promoted:<name>: the model to start from while nothing has been promoted under that name'),
    objective: ModelSpec.shape.objective.default('mlm'),
    configOverrides: ConfigOverrides.optional(),
    masking: MaskingSpec.omit({ lexicon: true })
      .default({ strategy: 'whole-word', rate: 0.15, language: 'auto' })
      .describe('the lexicon comes from a needs-stage producing a lexicon (newwords), when there is one'),
    vocab: VocabSpec.omit({ lexicon: true })
      .extend({ extend: z.boolean().default(false).describe('add the lexicon input\'s words to the tokenizer as single tokens') })
      .strict()
      .default({ extend: false, maxNewTokens: 1000, minSubtokens: 2, padToMultipleOf: 64 }),
    dictionary: DictionarySpec.omit({ path: true })
      .extend({
        inject: z
          .enum(['selected', 'all', 'off'])
          .default('selected')
          .describe('selected: definitions of the terms the longtail stage selected; all: of every term its glossary defines (to show the difference); off: none'),
      })
      .strict()
      .optional()
      .describe("MLM only (Dict-BERT): append the glossary definitions of the terms a training sequence mentions, as [SEP]-separated segments within seqLen; the glossary is the dictionary.jsonl of the lexicon input, which must come from a longtail stage. Omitted: no definitions"),
    train: TrainSpec.extend({
      adapter: z
        .discriminatedUnion('type', [LoraAdapterSpec, NgramAdapterSpec.omit({ lexicon: true })])
        .optional()
        .describe('train adapters on a frozen base: lora (merged into the saved model) or ngram (T-DNA: the lexicon input\'s n-grams, embedded and added to the lower layers; saved beside the model, used by every later stage)'),
    }).strict(),
    seqLen: DataSpec.shape.seqLen,
    packing: DataSpec.shape.packing,
    evalFraction: z.number().min(0).lt(1).default(0.05).describe('share of the domain documents held out (by document id hash) for evaluation; with a tokens input, the tokenize stage\'s evalFraction made the split'),
    evalMaxSequences: DataSpec.shape.evalMaxSequences,
    generalFrom: z
      .string()
      .min(1)
      .optional()
      .describe('a needs-stage whose documents are general-domain text: part held out (the forgetting probe), the rest available for replay'),
    generalEvalFraction: z.number().min(0).max(1).default(0.2).describe('share of the general documents held out for evaluation'),
    replayRatio: z.number().min(0).max(1).default(0).describe('fraction of training sequences drawn from the general documents'),
    contrastive: PretrainConfig.shape.contrastive,
    device: PretrainConfig.shape.device,
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.contrastive && p.objective !== 'mlm') ctx.addIssue({ code: 'custom', message: `only with objective mlm (got ${p.objective}): the views are an MLM encoder's pooled states`, path: ['contrastive'] });
  });

/** The `pretrain` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const pretrainKind = stageKind({
  description: 'Continue pretraining a base model (MLM/CLM) on the domain documents; resumable from checkpoints in the store',
  params: PretrainParams,
  accepts: ['documents', 'tokens', 'lexicon', 'model'],
  produces: 'model',
  version: '1',
  defaultQueue: QUEUES.gpu,
  localPaths: { params: ['baseModel', 'fallbackModel'] },
  fanout: () => false,
  multiNode: true,
});
