/** Small building blocks shared by the pipeline spec and the stage parameter schemas. */
import { z } from 'zod';

/** Temporal accepts `ms`-style duration strings; we restrict them to one unambiguous form. */
export const Duration = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, { message: 'expected a duration such as 500ms, 30s, 10m, 2h or 1d' });

export function durationToMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Math.round(Number(m[1]) * unit);
}

/**
 * What flows along a DAG edge. `none` carries no data: such an edge only orders stages. `pairs` are
 * (original, augmented) texts for consistency training; `dataset` is labeled task data (classification or NER),
 * e.g. pseudo-labels; `promotion` records a promote stage's decision; `tokens` are documents tokenised for
 * pretraining (the tokenize stage's token shards and held-out documents).
 */
export const ARTIFACT_TYPES = ['documents', 'tokens', 'model', 'lexicon', 'metrics', 'pairs', 'dataset', 'report', 'promotion', 'none'] as const;
export type ArtifactType = (typeof ARTIFACT_TYPES)[number];

/** Logical task queues; a deployment may prefix them (see config/index.ts). */
export const QUEUES = { cpu: 'cpu', gpu: 'gpu' } as const;

/** A GPU queue: `gpu`, or `gpu-<class>` for one resource class (gpu-a100-80g). Its workers hand out GPUs as slots. */
export function isGpuQueue(queue: string): boolean {
  return queue === QUEUES.gpu || queue.startsWith(`${QUEUES.gpu}-`);
}

/** The queue of a GPU resource class (`resources.gpuClass` in the spec), or the generic GPU queue. */
export function gpuQueue(gpuClass?: string): string {
  return gpuClass ? `${QUEUES.gpu}-${gpuClass}` : QUEUES.gpu;
}
export const QueueName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { message: 'expected a queue name like cpu, gpu or gpu-a100-80g' });
