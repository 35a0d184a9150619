import { z } from 'zod';
import { EvaluateConfig, MaskingSpec } from '../../../schemas/trainer';
import { ModelRef } from '../pretrain/spec';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

const EvalData = EvaluateConfig.shape.data.shape;

/**
 * Base vs adapted model on held-out domain text and general text (the forgetting probe). The adapted model is
 * the `model` input; by default the base model and the held-out sets are the ones its pretrain stage recorded.
 */
export const PerplexityParams = z
  .object({
    baseModel: ModelRef.optional().describe('default: the base model the adapted model was pretrained from'),
    domain: z.string().min(1).optional().describe('a needs-stage whose documents are the domain evaluation set; default: the pretrain stage\'s held-out split'),
    general: z.string().min(1).optional().describe('a needs-stage whose documents are the general evaluation set; default: the pretrain stage\'s general held-out split'),
    seqLen: EvalData.seqLen.unwrap().optional().describe('default: the seqLen the model was pretrained with'),
    maxSequences: EvalData.maxSequences,
    masking: MaskingSpec.omit({ lexicon: true }).default({ strategy: 'token', rate: 0.15, language: 'auto' }),
    seed: EvaluateConfig.shape.seed,
    batchSize: EvaluateConfig.shape.batchSize,
    device: EvaluateConfig.shape.device,
  })
  .strict();

/** The `perplexity` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const perplexityKind = stageKind({
  description: 'Base vs adapted model: held-out domain and general loss, perplexity and masked-token accuracy',
  params: PerplexityParams,
  accepts: ['model', 'documents'],
  produces: 'metrics',
  version: '2',
  defaultQueue: QUEUES.gpu,
  localPaths: { params: ['baseModel'] },
  fanout: () => true, // count per set → score per held-out shard → sums
});
