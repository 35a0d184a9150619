/** The pipeline spec as users write it (YAML, JSON or the TypeScript builder). */
import { z } from 'zod';
import { Duration, QueueName } from './common';

export const RetrySpec = z
  .object({
    maxAttempts: z.number().int().min(1),
    initialInterval: Duration,
    backoffCoefficient: z.number().min(1),
    maxInterval: Duration,
  })
  .partial()
  .strict();

export const TimeoutSpec = z
  .object({
    startToClose: Duration.describe('limit for one attempt'),
    heartbeat: Duration.describe('an attempt that stays silent this long is retried elsewhere'),
    scheduleToStart: Duration.describe('limit for waiting for a worker on the stage queue'),
  })
  .partial()
  .strict();

export const ResourcesSpec = z
  .object({
    gpu: z.number().int().min(0).default(1).describe('GPUs per attempt, pinned through CUDA_VISIBLE_DEVICES (several: torchrun over them)'),
    gpuClass: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, { message: 'expected a class name like a100-80g (it names the queue gpu-<class>)' })
      .optional()
      .describe('GPU resource class: the stage runs on queue gpu-<class>'),
    nodes: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('worker machines for one attempt (pretrain; default 1): one activity per node, each with `gpu` GPUs, joined through torchrun\'s c10d rendezvous'),
  })
  .strict();

export const StageSpec = z
  .object({
    uses: z.string().describe('stage kind'),
    needs: z.array(z.string()).default([]),
    with: z.record(z.string(), z.unknown()).default({}),
    queue: QueueName.optional(),
    resources: ResourcesSpec.optional().describe('what an attempt needs; a GPU class picks the queue gpu-<class> unless queue is set'),
    fallbackQueue: QueueName.optional().describe(
      'with timeout.scheduleToStart: when no worker on the queue takes the stage in time, run it here instead (e.g. cpu)',
    ),
    retry: RetrySpec.optional(),
    timeout: TimeoutSpec.optional(),
    cache: z.boolean().default(true),
    onFailure: z.enum(['fail', 'park']).default('fail'),
    concurrency: z.number().int().positive().optional().describe('fan-out: tasks running at once'),
    description: z.string().optional(),
  })
  .strict();

export const OVERLAP_POLICIES = ['skip', 'buffer-one', 'buffer-all', 'cancel-other', 'terminate-other', 'allow-all'] as const;

export const ScheduleSpec = z
  .object({
    cron: z.union([z.string(), z.array(z.string()).min(1)]),
    timezone: z.string().optional(),
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    catchupWindow: Duration.default('1d'),
    paused: z.boolean().default(false),
  })
  .strict();

export const PipelineSpec = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, {
      message: 'expected lower-case letters, digits and dashes (it becomes part of the workflow id)',
    }),
    description: z.string().optional(),
    defaults: z
      .object({ retry: RetrySpec.optional(), timeout: TimeoutSpec.optional(), queue: QueueName.optional() })
      .strict()
      .default({}),
    schedule: ScheduleSpec.optional(),
    stages: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, { message: 'stage names use letters, digits, _ and -' }), z.unknown()),
  })
  .strict();

export type PipelineSpecInput = z.input<typeof PipelineSpec>;
export type StageSpecInput = z.input<typeof StageSpec>;
export type RetrySpecT = z.output<typeof RetrySpec>;
export type TimeoutSpecT = z.output<typeof TimeoutSpec>;
