/**
 * The `promote` stage: publish the `model` input as the latest model of a model line when it beats the current
 * one by `margin` on `metric`. With `approval`, the engine calls `propose` first and, when the candidate passes
 * the margin, waits for a human (workflows/pipeline.ts); `run` then decides with the answer in `ctx.approval`.
 * Both steps read the pointer afresh, so a promotion by another run in the meantime is taken into account.
 * With `confidence`, the margin is held against the lower bound of the improvement's interval (the evaluate
 * stage's paired bootstrap of adapted vs base over seeds × test items), not against the difference of the means:
 * a gain that seed and test-set noise could have produced is not promoted.
 * The output is the decision, as promotion.json and the manifest's metrics, whether or not anything was published.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageParams } from '../../../schemas/stages';
import { ConfigError } from '../../errors';
import { modelFiles } from '../../model-stage/staging';
import type { StageContext, StageImpl, StageInputArtifact } from '../types';
import { baselinePathOf, findMetric, readMetric } from './metric';
import { readPromoted, writePromoted, type PromotedModel } from '../../model-stage/registry';
import { intervalPathOf, MIN_INTERVAL_SEEDS } from './spec';

type Params = StageParams<'promote'>;

export const PROMOTION_SCHEMA = 'promotion/v1';

/** Differences below this are float rounding (0.72 − 0.70 is 0.020000000000000018), not an improvement. */
const ROUNDING = 1e-9;

export type PromotionDecision = 'promoted' | 'rejected-margin' | 'rejected-by-human' | 'approval-timeout';

/** What the candidate is measured against. */
interface Comparison {
  name: string;
  candidate: number;
  /** null: nothing to compare with (first promotion without a baseline, or initial: promote). */
  current: number | null;
  /**
   * latest: the value the latest model was promoted with; latest-same-eval: the candidate was trained from the
   * latest model, so this run's base-model value is the latest model on the same evaluation (fairer, and the only
   * meaningful one for delta metrics); baseline: the base model, for a first promotion; none: nothing to compare.
   */
  currentFrom: 'latest' | 'latest-same-eval' | 'baseline' | 'none';
  improvement: number | null;
  /** with `confidence`: the interval of the improvement, as the metric's evaluate stage computed it */
  interval: ImprovementInterval | null;
  /** what the margin was held against: the mean improvement, the interval's lower bound, or nothing (first model) */
  decidedBy: 'mean' | 'lower-bound' | 'none';
  passes: boolean;
  /** why it does not pass, beyond the numbers (no paired interval against the latest model) */
  why?: string;
  latest?: PromotedModel;
  model: StageInputArtifact;
  /** This run already published this model (an earlier attempt of this stage crashed after publishing). */
  alreadyPublished: boolean;
}

/** The improvement's interval in the metric's direction (better: lower flips adapted − base). */
export interface ImprovementInterval {
  /** the evaluate stage's comparison entry it was read from, e.g. evaluate.comparison.adapted.macroF1 */
  from: string;
  lower: number;
  upper: number;
  confidence: number;
  seeds: number;
  items: number;
}

export interface PromotionRecord {
  decision: PromotionDecision;
  name: string;
  metric: string;
  better: 'higher' | 'lower';
  candidate: number;
  current: number | null;
  currentFrom: Comparison['currentFrom'];
  improvement: number | null;
  margin: number;
  /** mean: improvement > margin decided; lower-bound: interval.lower > margin decided; none: nothing to compare */
  decidedBy: Comparison['decidedBy'];
  interval: ImprovementInterval | null;
  model: string;
  /** The model that was latest when deciding (and stays so unless promoted). */
  previous: string | null;
  approver: string | null;
  reason: string | null;
  pointer: string | null;
}

export const promoteStage: StageImpl<Params> = {
  async propose(ctx) {
    const c = await compare(ctx);
    return { needsApproval: c.passes && !c.alreadyPublished, summary: summarize(ctx.params, c) };
  },

  async run(ctx) {
    const p = ctx.params;
    const c = await compare(ctx);
    let decision: PromotionDecision;
    let reason: string | null = null;
    const approver = ctx.approval?.decision === 'approved' ? (ctx.approval.by ?? 'unnamed') : null;
    if (c.alreadyPublished) decision = 'promoted';
    else if (!c.passes) {
      decision = 'rejected-margin';
      reason = c.why ?? null;
      if (ctx.approval) reason = `the current model changed while waiting for approval (${ctx.approval.decision})`;
    } else if (!p.approval) decision = 'promoted';
    else if (!ctx.approval) {
      // Nobody was asked because the candidate did not pass then; another run has since published a worse model.
      decision = 'rejected-margin';
      reason = 'the current model changed after the proposal: no approval was asked for';
    } else if (ctx.approval.decision === 'approved') decision = 'promoted';
    else if (ctx.approval.decision === 'rejected') {
      decision = 'rejected-by-human';
      reason = [ctx.approval.by && `by ${ctx.approval.by}`, ctx.approval.reason].filter(Boolean).join(': ') || null;
    } else {
      decision = 'approval-timeout';
      reason = `no answer within ${p.approval.timeout}`;
    }

    let pointer: string | null = null;
    if (decision === 'promoted' && !c.alreadyPublished) {
      const promoted: PromotedModel = {
        schema: 'dapt-promoted-model/v1',
        name: c.name,
        model: { digest: c.model.manifest.digest, stage: c.model.stage, schema: c.model.manifest.schema, files: modelFiles(c.model.manifest) },
        metric: { path: p.metric, value: c.candidate, better: p.better },
        metrics: Object.fromEntries(ctx.inputs.filter((i) => i.manifest.kind === 'metrics').map((i) => [i.stage, i.manifest.metrics])),
        pipeline: ctx.pipeline,
        run: ctx.run,
        stage: ctx.stage,
        promotedAt: new Date().toISOString(),
        ...(approver ? { approver } : {}),
        ...(c.latest ? { previous: c.latest.model.digest } : {}),
      };
      pointer = await writePromoted(ctx.store, promoted);
    }
    const record: PromotionRecord = {
      decision,
      name: c.name,
      metric: p.metric,
      better: p.better,
      candidate: c.candidate,
      current: c.current,
      currentFrom: c.currentFrom,
      improvement: c.improvement,
      margin: p.margin,
      decidedBy: c.decidedBy,
      interval: c.interval,
      model: c.model.manifest.digest,
      previous: c.alreadyPublished ? (c.latest?.previous ?? null) : (c.latest?.model.digest ?? null),
      approver,
      reason,
      pointer,
    };
    ctx.log(`promote: ${decision} — ${summarize(p, c)}${reason ? ` (${reason})` : ''}`);
    const file = path.join(ctx.workDir, 'promotion.json');
    fs.writeFileSync(file, JSON.stringify(record, null, 2) + '\n');
    return { files: [await ctx.store.putFile(file, 'promotion.json')], schema: PROMOTION_SCHEMA, metrics: { ...record } };
  },
};

async function compare(ctx: StageContext<Params>): Promise<Comparison> {
  const p = ctx.params;
  const models = ctx.inputs.filter((i) => i.manifest.kind === 'model');
  if (models.length !== 1) {
    throw new ConfigError(`promote needs exactly one model input (the candidate), got ${models.length ? models.map((m) => m.stage).join(', ') : 'none'}`);
  }
  const model = models[0];
  const name = p.name ?? ctx.pipeline;
  const candidate = await readMetric(ctx.store, ctx.inputs, p.metric, 'metric');
  const latest = await readPromoted(ctx.store, name);
  const alreadyPublished = !!latest && latest.model.digest === model.manifest.digest && latest.run === ctx.run && latest.stage === ctx.stage;

  let current: number | null = null;
  let currentFrom: Comparison['currentFrom'] = 'none';
  const sameEval = latest && baseArtifactOf(model) === latest.model.digest ? await baselineValue(ctx, p) : undefined;
  if (sameEval !== undefined) {
    current = sameEval;
    currentFrom = 'latest-same-eval';
  } else if (latest) {
    current = latestValue(latest, p.metric, name);
    currentFrom = 'latest';
  } else if (p.initial === 'compare-base') {
    const b = await baselineValue(ctx, p);
    if (b !== undefined) [current, currentFrom] = [b, 'baseline'];
  }
  const improvement = current === null ? null : p.better === 'higher' ? candidate - current : current - candidate;
  const base = { name, candidate, current, currentFrom, improvement, latest, model, alreadyPublished };
  if (improvement === null) return { ...base, interval: null, decidedBy: 'none', passes: true };
  if (p.confidence === undefined) return { ...base, interval: null, decidedBy: 'mean', passes: improvement - p.margin > ROUNDING };
  if (currentFrom === 'latest') {
    // The interval pairs adapted with this evaluation's base; the latest model was scored by another run.
    const why = `no paired interval against the latest model ${latest!.model.digest.slice(0, 12)}: it is not this evaluation's base (evaluate with baseModel: promoted:${name})`;
    return { ...base, interval: null, decidedBy: 'lower-bound', passes: false, why };
  }
  const interval = await readInterval(ctx, p);
  return { ...base, interval, decidedBy: 'lower-bound', passes: interval.lower - p.margin > ROUNDING };
}

async function readInterval(ctx: StageContext<Params>, p: Params): Promise<ImprovementInterval> {
  const from = intervalPathOf(p.metric);
  if (!from) throw new ConfigError(`confidence: ${p.metric} has no interval; use <evaluate stage>.models.adapted.mean.<measure> or <evaluate stage>.delta.<measure>`);
  const read = (k: string) => readMetric(ctx.store, ctx.inputs, `${from}.${k}`, 'confidence');
  const [lower, upper, confidence, seeds, items] = await Promise.all(['lower', 'upper', 'confidence', 'seeds', 'items'].map(read));
  if (Math.abs(confidence - p.confidence!) > 1e-12) {
    throw new ConfigError(`confidence: ${p.confidence}, but ${from} is a ${confidence} interval: set the evaluate stage's interval.confidence to ${p.confidence}`);
  }
  if (seeds < MIN_INTERVAL_SEEDS) throw new ConfigError(`confidence: ${from} comes from ${seeds} seeds; an interval needs at least ${MIN_INTERVAL_SEEDS}`);
  // adapted − base; when lower is better, the improvement is base − adapted
  const [lo, hi] = p.better === 'higher' ? [lower, upper] : [-upper, -lower];
  return { from, lower: lo, upper: hi, confidence, seeds, items };
}

/** The model artifact the candidate was trained from, as its pretrain stage recorded it. */
function baseArtifactOf(model: StageInputArtifact): string | undefined {
  const base = model.manifest.metrics.baseModel as { artifact?: unknown } | undefined;
  return base && typeof base.artifact === 'string' ? base.artifact : undefined;
}

/** The latest model's value of the metric: the one it was promoted on, else from the numbers it recorded. */
function latestValue(latest: PromotedModel, metric: string, name: string): number {
  if (latest.metric.path === metric) return latest.metric.value;
  const [stage, ...rest] = metric.split('.');
  let node: unknown = latest.metrics[stage];
  for (const k of rest) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined;
  if (typeof node === 'number') return node;
  throw new ConfigError(
    `metric: the latest model of "${name}" was promoted on ${latest.metric.path} and recorded no ${metric}; keep the metric, or start a new model line (name)`,
  );
}

async function baselineValue(ctx: StageContext<Params>, p: Params): Promise<number | undefined> {
  if (p.baseline) return readMetric(ctx.store, ctx.inputs, p.baseline, 'baseline');
  const derived = baselinePathOf(p.metric);
  if (!derived) return undefined;
  if ('zero' in derived) return 0;
  const found = await findMetric(ctx.store, ctx.inputs, derived.path, 'metric');
  return 'value' in found ? found.value : undefined;
}

function summarize(p: Params, c: Comparison): string {
  const f = (x: number) => (Math.abs(x) >= 1000 || Math.abs(x) < 0.001 ? x.toExponential(3) : x.toFixed(4));
  const head = `${p.metric} ${f(c.candidate)} (model ${c.model.manifest.digest.slice(0, 12)})`;
  if (c.alreadyPublished) return `${head} is already the latest model of ${c.name}, published by this run`;
  if (c.current === null) return `${head}: first model of ${c.name}, nothing to compare with`;
  const against =
    c.currentFrom === 'latest'
      ? `latest ${c.latest!.model.digest.slice(0, 12)}`
      : c.currentFrom === 'latest-same-eval'
        ? `latest ${c.latest!.model.digest.slice(0, 12)} on this run's evaluation`
        : 'the base model';
  const verdict = c.passes ? 'passes' : 'does not pass';
  if (c.why) return `${head} vs ${f(c.current)} of ${against}: ${c.why}`;
  if (c.interval) {
    const pct = `${Math.round(c.interval.confidence * 1000) / 10}%`;
    return `${head} vs ${f(c.current)} of ${against}: ${p.better} is better, improvement ${f(c.improvement!)}, ${pct} interval [${f(c.interval.lower)}, ${f(c.interval.upper)}] (${c.interval.seeds} seeds × ${c.interval.items} test items): its lower bound ${verdict} margin ${p.margin}`;
  }
  return `${head} vs ${f(c.current)} of ${against}: ${p.better} is better, improvement ${f(c.improvement!)} ${verdict} margin ${p.margin}`;
}
