import { z } from 'zod';
import { FinetuneConfig, FinetuneDataSpec } from '../../../schemas/trainer';
import { ModelRef } from '../pretrain/spec';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

const F = FinetuneConfig.shape;
const D = FinetuneDataSpec.shape;

/** Labeled task data: one or more JSONL(.gz) files, local (relative to the pipeline file) or s3://bucket/key. */
export const TaskDataRef = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .describe('JSONL(.gz) file(s): a local path (relative to the pipeline file) or s3://bucket/key in the configured store');

/** One labeled task's files and fields (the single-task `data`, or one of `tasks`). */
const TaskData = z
  .object({
    train: TaskDataRef,
    dev: TaskDataRef.optional().describe('when given, the epoch with the best dev score is the one tested (with tasks: the best mean over the tasks that have one)'),
    test: TaskDataRef,
    textField: D.textField,
    labelField: D.labelField,
    tokensField: D.tokensField,
    tagsField: D.tagsField,
    maxLength: D.maxLength,
  })
  .strict();

/** Options of one task's training that a multi-task run (shared encoder, one head per task) does not take. */
const SINGLE_TASK_ONLY = ['labels', 'uda', 'noise', 'ema', 'adversarial', 'rdrop', 'prompt', 'contrastive', 'labelReview', 'ablation', 'dictionary'] as const;

/**
 * Fine-tune the base and the adapted model on the same labeled task (same seeds, data and budget) and compare
 * them on its test set. The adapted model is the `model` input; by default the base model is the one its
 * pretrain stage recorded. A `dataset` input (pseudo-labels) is added to the training data; a `pairs` input
 * (original, augmented) feeds UDA consistency training when `uda` is set. With `tasks` instead of `data`, several
 * tasks train together on one shared encoder (a head each), and base vs adapted are compared on every task.
 */
export const EvaluateParams = z
  .object({
    baseModel: ModelRef.optional().describe('default: the base model the adapted model was pretrained from'),
    task: F.task.default('classification').describe('the task of data (with tasks: each task names its own)'),
    data: TaskData.optional().describe('the labeled task (classification: {text, label} per line; ner: {tokens, tags}, BIO tags); required unless tasks'),
    tasks: z
      .record(
        z.string().regex(/^[A-Za-z0-9_-]+$/, 'a task name (letters, digits, _ and -)'),
        z.object({ task: F.task.default('classification').describe('classification or ner'), data: TaskData, labels: F.labels }).strict(),
      )
      .optional()
      .describe(
        'several labeled tasks instead of data (at least two): one shared encoder with one head per task, trained together, a step sampling its task by taskSampling; base and adapted compared on every task (metrics tasks.<name>) and on the macro average over tasks (primary taskAverage)',
      ),
    taskSampling: F.taskSampling,
    labels: F.labels,
    seeds: F.seeds,
    epochs: F.epochs,
    maxSteps: F.maxSteps,
    batchSize: F.batchSize,
    lr: F.lr,
    weightDecay: F.weightDecay,
    warmupRatio: F.warmupRatio,
    uda: F.uda.describe('consistency training on the pairs input (classification only)'),
    imbalance: F.imbalance,
    ensembleMembers: F.ensembleMembers,
    noise: F.noise,
    ema: F.ema,
    adversarial: F.adversarial,
    rdrop: F.rdrop,
    prompt: F.prompt,
    contrastive: F.contrastive,
    labelReview: F.labelReview,
    dictionary: F.dictionary
      .unwrap()
      .omit({ path: true })
      .strict()
      .optional()
      .describe("classification: after each example's text, the definitions of the terms it mentions from the dictionary.jsonl of the lexicon input (a longtail stage given a dictionary); train, dev and test alike, every model alike; the fine-tuning side of pretrain's dictionary"),
    logEvery: F.logEvery,
    device: F.device,
    ablation: z
      .object({
        control: z
          .string()
          .min(1)
          .optional()
          .describe(
            "a needs-stage producing the control model: the base pretrained on general text for as many steps as the adapted model (the DAPT paper's control); arm general-cpt",
          ),
      })
      .strict()
      .optional()
      .describe(
        'one arm per part of the pipeline, each compared with the base (comparison.<arm>): base and adapted on the labeled data only, general-cpt (with control), adapted+pl (with a dataset input), adapted+pl+uda or adapted+uda (with uda). Without it, base and adapted both train on every option',
      ),
    interval: F.interval.describe(
      'the paired bootstrap of adapted vs base over seeds × test items: metrics comparison.adapted.<measure> = {difference, lower, upper}; promote with confidence reads it',
    ),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (!p.data === !p.tasks) ctx.addIssue({ code: 'custom', message: 'give either data (one task) or tasks (several), not both and not neither', path: p.data ? ['tasks'] : ['data'] });
    if (!p.tasks) return;
    if (Object.keys(p.tasks).length < 2) ctx.addIssue({ code: 'custom', message: 'at least two tasks (one task is the data form)', path: ['tasks'] });
    for (const key of SINGLE_TASK_ONLY) {
      if (p[key] !== undefined) ctx.addIssue({ code: 'custom', message: `${key} is a single-task option: not available with tasks`, path: [key] });
    }
    if (p.imbalance !== 'none') ctx.addIssue({ code: 'custom', message: 'imbalance is a single-task option: not available with tasks', path: ['imbalance'] });
  });

/** The `evaluate` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const evaluateKind = stageKind({
  description: 'Fine-tune base and adapted model on a labeled task (classification or NER) over several seeds; test scores and deltas',
  params: EvaluateParams,
  accepts: ['model', 'pairs', 'dataset', 'lexicon'],
  produces: 'metrics',
  version: '2',
  defaultQueue: QUEUES.gpu,
  localPaths: { params: ['baseModel', 'data.train', 'data.dev', 'data.test', 'tasks.*.data.train', 'tasks.*.data.dev', 'tasks.*.data.test'] },
  fanout: () => false,
});
