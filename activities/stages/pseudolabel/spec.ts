import { z } from 'zod';
import { PseudolabelConfig } from '../../../schemas/trainer';
import { TaskDataRef } from '../evaluate/spec';
import { ModelRef } from '../pretrain/spec';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

const P = PseudolabelConfig.shape;
const D = P.data.shape;

/**
 * Label the documents of the needs-stages with a teacher fine-tuned on the labeled train set, keeping the
 * confident ones (threshold, per-class cap), over one or more noisy-student rounds. The teacher is the `model`
 * input unless `teacher` names one; `dataset` inputs are added to the labeled train set.
 */
export const PseudolabelParams = z
  .object({
    teacher: ModelRef.optional().describe('default: the model input'),
    data: z
      .object({
        train: TaskDataRef.describe('labeled {text, label} JSONL(.gz): a local path (relative to the pipeline file) or s3://bucket/key'),
        textField: D.textField,
        labelField: D.labelField,
        maxLength: D.maxLength,
      })
      .strict(),
    labels: P.labels,
    threshold: P.threshold,
    perClassCap: P.perClassCap,
    rounds: P.rounds,
    studentDropout: P.studentDropout,
    seed: P.seed,
    epochs: P.epochs,
    maxSteps: P.maxSteps,
    batchSize: P.batchSize,
    lr: P.lr,
    weightDecay: P.weightDecay,
    warmupRatio: P.warmupRatio,
    logEvery: P.logEvery,
    shardSize: z.number().int().positive().default(50_000).describe('pseudo-labeled rows per output shard'),
    device: P.device,
  })
  .strict();

/** The `pseudolabel` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const pseudolabelKind = stageKind({
  description: 'Label unlabeled documents with a teacher fine-tuned on the labeled set; keep confident labels (threshold, per-class cap)',
  params: PseudolabelParams,
  accepts: ['model', 'documents', 'dataset'],
  produces: 'dataset',
  version: '2',
  defaultQueue: QUEUES.gpu,
  localPaths: { params: ['teacher', 'data.train'] },
  fanout: () => true, // teacher → label per shard → select (→ student → label → select per round) → write per shard
});
