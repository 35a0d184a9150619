import { z } from 'zod';
import { Duration, QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/** `<needs-stage>.<path>` into that stage's metrics (manifest metrics, else its JSON files), e.g. evaluate.delta.macroF1. */
export const MetricPath = z
  .string()
  .regex(/^[A-Za-z0-9_-]+\.[^.\s]+(\.[^.\s]+)*$/, { message: 'expected <stage>.<json path>, e.g. perplexity.models.adapted.domain.loss or evaluate.delta.macroF1' });

export const ApprovalSpec = z
  .object({
    timeout: Duration.default('24h').describe('how long the run waits for `dapt approve` / `dapt reject`'),
    onTimeout: z.literal('reject').default('reject').describe('what an unanswered request means: the current model stays'),
  })
  .strict();

/**
 * Promote the `model` input to `models/<name>/latest.json` in the store when it beats the current latest model by
 * `margin` on `metric`, optionally after a human approves (`dapt approve RUN`). The decision is the stage's
 * `promotion` artifact either way.
 */
export const PromoteParams = z
  .object({
    metric: MetricPath.describe('the candidate\'s value: <needs-stage>.<json path> into a metrics (or model) input'),
    better: z.enum(['higher', 'lower']).default('higher').describe('which direction of the metric is an improvement'),
    margin: z.number().nonnegative().default(0).describe('the improvement over the current value that a promotion needs (strictly more)'),
    baseline: MetricPath.optional().describe(
      'the value to beat when nothing was promoted yet; default: the metric\'s base-model counterpart (a path segment "adapted" → "base", a delta.* path → 0)',
    ),
    initial: z
      .enum(['compare-base', 'promote'])
      .default('compare-base')
      .describe('first promotion of a name: compare against the baseline (promote when none is found), or promote unconditionally'),
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { message: 'expected a name of letters, digits, . _ -' })
      .optional()
      .describe('the model line: models/<name>/latest.json; default: the pipeline\'s name'),
    approval: ApprovalSpec.optional().describe('wait for a human to approve a promotion that passed the margin'),
    confidence: z
      .number()
      .gt(0)
      .lt(1)
      .optional()
      .describe(
        'require the LOWER bound of the improvement\'s interval at this confidence (e.g. 0.95) to exceed margin, not the mean: the metric\'s evaluate stage (≥ 3 seeds, interval.confidence the same) compares adapted with base by a paired bootstrap over seeds × test items',
      ),
  })
  .strict();

/** The `promote` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const promoteKind = stageKind({
  description: 'Publish the model as models/<name>/latest when it beats the current one by a margin on a metric, optionally after human approval',
  params: PromoteParams,
  accepts: ['model', 'metrics'],
  produces: 'promotion',
  version: '2',
  defaultQueue: QUEUES.cpu,
  fanout: () => false,
  cacheable: false,
  approval: (p) => p.approval,
});

/** An interval (promote with confidence) is computed from at least this many fine-tuning seeds. */
export const MIN_INTERVAL_SEEDS = 3;

/**
 * Where the interval of a metric's improvement lies: evaluate's models.adapted.mean.<measure> and
 * delta.<measure> have comparison.adapted.<measure>; other paths have none.
 */
export function intervalPathOf(metric: string): string | undefined {
  const [stage, ...path] = metric.split('.');
  const measure = path[path.length - 1];
  const ok = (path.length === 2 && path[0] === 'delta') || (path.length === 4 && path[0] === 'models' && path[1] === 'adapted' && path[2] === 'mean');
  return ok ? `${stage}.comparison.adapted.${measure}` : undefined;
}
