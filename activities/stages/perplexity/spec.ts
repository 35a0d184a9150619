import { z } from 'zod';
import { EvaluateConfig, MaskingSpec } from '../../../schemas/trainer';
import { ModelRef } from '../pretrain/spec';

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
