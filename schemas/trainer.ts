/**
 * The trainer's configuration: the contract between the TypeScript model stages and `python -m trainer`.
 * The activity writes it as JSON; the trainer validates it against the JSON Schema generated from these zod
 * schemas (trainer/config.schema.json, kept current by a test), so both sides agree field by field.
 */
import { z } from 'zod';

export const ModelSpec = z
  .object({
    path: z.string().min(1).describe('local directory of a Hugging Face format model (config, safetensors, tokenizer)'),
    objective: z.enum(['mlm', 'clm']).describe('mlm for encoders (BERT-style), clm for decoders (GPT-style)'),
  })
  .strict();

export const DataSpec = z
  .object({
    train: z.array(z.string()).min(1).describe('JSONL(.gz) document shards, one {"text": ...} per line'),
    eval: z.array(z.string()).default([]).describe('held-out domain shards'),
    generalEval: z.array(z.string()).default([]).describe('held-out general-domain shards: the forgetting probe'),
    replay: z
      .object({ paths: z.array(z.string()).min(1), ratio: z.number().min(0).max(1) })
      .strict()
      .optional()
      .describe('general-domain text mixed into training at this fraction of sequences'),
    textField: z.string().default('text'),
    seqLen: z.number().int().min(8).max(8192).default(128),
    packing: z.boolean().default(true).describe('concatenate documents into full sequences'),
    evalMaxSequences: z.number().int().positive().default(256),
  })
  .strict();

export const MaskingSpec = z
  .object({
    strategy: z.enum(['token', 'whole-word', 'lexicon']).default('whole-word'),
    rate: z.number().gt(0).lt(1).default(0.15),
    /** Lexicon file: one word per line, or JSONL with a `word` field (the `newwords` artifact). */
    lexicon: z.string().optional(),
    language: z.enum(['auto', 'en', 'zh']).default('auto'),
  })
  .strict();

export const VocabSpec = z
  .object({
    lexicon: z.string().describe('words to add as single tokens (newwords artifact)'),
    maxNewTokens: z.number().int().nonnegative().default(1000),
    minSubtokens: z.number().int().min(2).default(2).describe('only add words the base tokenizer splits into at least this many pieces'),
    padToMultipleOf: z.number().int().positive().default(64),
  })
  .strict();

export const AdapterSpec = z
  .object({
    type: z.literal('lora'),
    r: z.number().int().positive().default(8),
    alpha: z.number().positive().default(16),
    dropout: z.number().min(0).max(1).default(0.05),
    targetModules: z.array(z.string()).optional().describe('default: the attention projections of the architecture'),
  })
  .strict();

export const TrainSpec = z
  .object({
    maxSteps: z.number().int().positive(),
    batchSize: z.number().int().positive().default(8).describe('sequences per micro-batch'),
    gradAccum: z.number().int().positive().default(1),
    lr: z.number().positive().default(5e-5),
    warmupSteps: z.number().int().nonnegative().default(0),
    schedule: z.enum(['linear', 'cosine', 'constant']).default('linear'),
    weightDecay: z.number().min(0).default(0.01),
    clipNorm: z.number().positive().default(1.0),
    seed: z.number().int().default(42),
    precision: z.enum(['auto', 'fp32', 'bf16']).default('auto').describe('auto: bf16 autocast on GPU, fp32 on CPU'),
    compile: z.boolean().default(false),
    checkpointEvery: z.number().int().positive().default(500),
    logEvery: z.number().int().positive().default(10),
    evalEvery: z.number().int().positive().optional(),
    ema: z.object({ decay: z.number().gt(0).lt(1) }).strict().optional(),
    swa: z.object({ startFraction: z.number().gt(0).lt(1) }).strict().optional().describe('average weights over the final part of training'),
    adapter: AdapterSpec.optional(),
    oomBatchHalving: z.boolean().default(false).describe('on CUDA OOM, halve the micro-batch (doubling accumulation) and go on'),
  })
  .strict();

export const PretrainConfig = z
  .object({
    command: z.literal('pretrain'),
    model: ModelSpec,
    data: DataSpec,
    masking: MaskingSpec.default({ strategy: 'whole-word', rate: 0.15, language: 'auto' }),
    vocab: VocabSpec.optional(),
    train: TrainSpec,
    outputDir: z.string().describe('where the final model, tokenizer and metrics.json are written'),
    checkpointDir: z.string().describe('where step-N checkpoint directories are written'),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  })
  .strict();

export const EvaluateConfig = z
  .object({
    command: z.literal('evaluate'),
    /** name → model directory, e.g. { base: ..., adapted: ... } */
    models: z.record(z.string(), ModelSpec).refine((m) => Object.keys(m).length > 0, 'at least one model'),
    data: z
      .object({
        domain: z.array(z.string()).min(1),
        general: z.array(z.string()).default([]),
        textField: z.string().default('text'),
        seqLen: z.number().int().min(8).max(8192).default(128),
        maxSequences: z.number().int().positive().default(256),
      })
      .strict(),
    masking: MaskingSpec.default({ strategy: 'token', rate: 0.15, language: 'auto' }),
    seed: z.number().int().default(1234),
    batchSize: z.number().int().positive().default(16),
    outputDir: z.string(),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  })
  .strict();

export const TrainerConfig = z.discriminatedUnion('command', [PretrainConfig, EvaluateConfig]);
export type TrainerConfigT = z.output<typeof TrainerConfig>;
export type PretrainConfigT = z.output<typeof PretrainConfig>;
export type EvaluateConfigT = z.output<typeof EvaluateConfig>;

/** JSON Schema of the config as the trainer receives it: defaults already applied by the activity. */
export function trainerJsonSchema(): Record<string, unknown> {
  return { ...(z.toJSONSchema(TrainerConfig, { io: 'output' }) as Record<string, unknown>), title: 'dapt trainer config' };
}

/** The trainer's event stream (stdout, one JSON object per line). */
export type TrainerEvent =
  | { event: 'progress'; step: number; total: number; loss: number; lr: number; tokensPerSec: number; mfu?: number; epoch?: number }
  | { event: 'checkpoint'; step: number; path: string }
  | { event: 'metric'; name: string; value: number; step?: number }
  | { event: 'done'; outputDir: string; metrics: Record<string, number> };

/** Exit codes (DESIGN.md): 0 done, 2 bad config, 3 out of memory, 143 terminated after a checkpoint. */
export const TRAINER_EXIT = { ok: 0, badConfig: 2, oom: 3, terminated: 143 } as const;
