/**
 * The `evaluate` stage: does the domain-adapted model make a better task model? The base and the adapted model
 * are fine-tuned on the same labeled task (same seeds, data and budget; `python -m trainer finetune`) and
 * scored on its test set. The adapted model is the `model` input; unless `baseModel` says otherwise, the base
 * is the one its pretrain stage recorded. A `dataset` input (pseudo-labels) joins the training data; a `pairs`
 * input feeds UDA when `uda` is set. With `tasks`, several tasks train together (trainer/multitask.py): the
 * top-level scores are their macro average (primary taskAverage) and `tasks.<name>` holds each task's scores in
 * the single-task shape. Output: metrics.json (schema finetune-metrics/v1, see FinetuneMetrics), the same object
 * as the manifest's metrics.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import type { StageParams } from '../../../schemas/stages';
import type { FinetuneTaskSpec, TrainerEvent } from '../../../schemas/trainer';
import { ConfigError } from '../../errors';
import { adaptedAndBase } from '../../model-stage/adapted-model';
import { downloadFiles, workSubdir } from '../../model-stage/files';
import { DICTIONARY_FILE, describeSource, modelFiles, modelRefFingerprint, stageModel } from '../../model-stage/staging';
import { fineTuningOf, runTrainerStage } from '../../model-stage/trainer-stage';
import { countRows, refList, stageDatasets, stagePairs, stageTaskFiles, taskFilesFingerprint } from '../../model-stage/task-data';
import { glossaryFile } from '../longtail/dictionary';
import type { StageContext, StageImpl } from '../types';

type Params = StageParams<'evaluate'>;

export const FINETUNE_METRICS_SCHEMA = 'finetune-metrics/v1';

/** One fine-tuning run (model × seed) on the test set. F1 scores in [0, 1]. */
export interface SeedScores {
  seed: number;
  accuracy: number;
  macroF1: number;
  /** label → F1 (ner: entity type → entity-level F1) */
  perClassF1: Record<string, number>;
  /** ner only: micro entity-level F1, precision and recall (seqeval-style exact spans) */
  entityF1?: number;
  precision?: number;
  recall?: number;
  /** with a dev set: the epoch whose weights were tested (1-based) */
  bestEpoch?: number;
  /** multi-task: the mean over tasks of each task's primary measure (the other measures are averaged over tasks too) */
  taskAverage?: number;
}

export interface ModelScores {
  /** where the model came from: a path, an s3:// prefix, or "the model of stage X" */
  source: string;
  seeds: SeedScores[];
  /** measure (accuracy, macroF1; ner also entityF1, precision, recall) → mean over seeds */
  mean: Record<string, number>;
  /** measure → standard deviation over seeds (sample, n − 1, as the trainer computes it; 0 with one seed) */
  std: Record<string, number>;
  /** label → mean F1 over seeds */
  perClassF1: Record<string, number>;
}

/** A run's training loss, thinned to at most CURVE_POINTS points; steps count from the start of the run. */
export interface LossCurve {
  model: string;
  seed: number;
  steps: number;
  firstLoss: number;
  finalLoss: number;
  minLoss: number;
  points: { step: number; loss: number; supervisedLoss?: number; consistencyLoss?: number; maskFraction?: number }[];
}

/** A model's difference to the base on one measure, with its interval (positive: better than the base). */
export interface PairedDifference {
  measure: string;
  /** mean over seeds of (model − base) on the whole test set */
  difference: number;
  lower: number;
  upper: number;
  confidence: number;
  resamples: number;
  seeds: number;
  items: number;
  method: string;
}

export interface FinetuneMetrics {
  schema: typeof FINETUNE_METRICS_SCHEMA;
  /** multi-task: several tasks (`tasks`), the top-level scores are their macro average */
  task: 'classification' | 'ner' | 'multi-task';
  /** multi-task: none (each task has its own) */
  labels: string[];
  /**
   * the measure the comparison is about: macroF1 (classification) or entityF1 (ner); multi-task: taskAverage,
   * the mean over tasks of each task's primary measure (beside it accuracy and macroF1 averaged over tasks)
   */
  primary: 'macroF1' | 'entityF1' | 'taskAverage';
  /** model name (base, adapted; with ablation also general-cpt, adapted+pl, adapted+pl+uda) → scores */
  models: Record<string, ModelScores>;
  /** measure → adapted mean − base mean (positive: the adaptation helped) */
  delta: Record<string, number>;
  /** delta[primary] > 0 */
  improved: boolean;
  /**
   * model (adapted) → measure → its difference to the base with an interval: the trainer's paired bootstrap over
   * seeds × test items (trainer/paired_bootstrap.py); what promote's `confidence` gate reads
   */
  comparison: Record<string, Record<string, PairedDifference>>;
  /** rows of staged data: train (user files), pseudoLabeled (dataset inputs, added to train), dev, test, pairs (UDA) */
  data: { train: number; pseudoLabeled: number; dev: number; test: number; pairs: number };
  curves: LossCurve[];
  /** the trainer's confident-learning summary, when noise handling was on */
  noise?: unknown;
  /** the trainer's UDA summary, when consistency training was on */
  uda?: unknown;
  /** the trainer's summaries of adversarial training, R-Drop and the contrastive loss, when on: the config and per model its means */
  adversarial?: unknown;
  rdrop?: unknown;
  contrastive?: unknown;
  /** train rows whose label disagrees with their embedding cluster (trainer/label_review.py), for a person */
  labelReview?: unknown;
  /** definitions appended to the texts (`dictionary`): its config, the injectable terms, per set the share of examples that got any */
  dictionary?: unknown;
  /** multi-task: each task's own scores, deltas and paired intervals (its data: its staged rows) */
  tasks?: Record<string, TaskScores>;
  /** multi-task: the trainer's task sampling ({strategy, temperature, proportions, trainRows, taskSteps}) */
  sampling?: unknown;
}

/** One task of a multi-task evaluation, as a single-task evaluation reports it. */
export type TaskScores = Omit<FinetuneMetrics, 'schema' | 'curves' | 'tasks' | 'sampling'>;

interface TaskRows {
  train: number;
  dev: number;
  test: number;
}

/** Each task's files staged (local ones in place, s3:// ones downloaded) as the trainer's `tasks` config. */
async function stageTasks(ctx: StageContext<Params>, tasks: NonNullable<Params['tasks']>, dir: (name: string) => string) {
  const config: Record<string, z.input<typeof FinetuneTaskSpec>> = {};
  const rows: Record<string, TaskRows> = {};
  for (const [name, t] of Object.entries(tasks)) {
    const d = dir(`data-${name}`);
    const staged = async (key: 'train' | 'dev' | 'test') => stageTaskFiles(ctx.store, refList(t.data[key]), d, `tasks.${name}.data.${key}`);
    const [train, dev, test] = [await staged('train'), await staged('dev'), await staged('test')];
    const { textField, labelField, tokensField, tagsField, maxLength } = t.data;
    config[name] = {
      task: t.task,
      data: { train, ...(dev.length ? { dev } : {}), test, textField, labelField, tokensField, tagsField, maxLength },
      ...(t.labels ? { labels: t.labels } : {}),
    };
    rows[name] = { train: countRows(train), dev: countRows(dev), test: countRows(test) };
  }
  return { config, rows };
}

const CURVE_POINTS = 40;

export const evaluateStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const p = ctx.params;
    const controlName = p.ablation?.control;
    const control = controlName ? ctx.inputs.find((i) => i.stage === controlName && i.manifest.kind === 'model') : undefined;
    if (controlName && !control) throw new ConfigError(`ablation.control: "${controlName}" is not a needs-stage producing a model`);
    const { adapted, base: baseSource } = await adaptedAndBase(ctx, 'evaluate', control ? [control.stage] : []);
    const pairsInputs = ctx.inputs.filter((i) => i.manifest.kind === 'pairs');
    if (p.uda && !pairsInputs.length) throw new ConfigError('uda: consistency training needs a needs-stage producing pairs (augment)');
    if (p.uda && p.task !== 'classification') throw new ConfigError(`uda: consistency training is for classification, not ${p.task}`);
    if (pairsInputs.length && !p.uda) ctx.log(`evaluate: the pairs of ${pairsInputs.map((i) => i.stage).join(', ')} are not used (no uda params)`);

    const dir = (name: string) => workSubdir(ctx.workDir, name);
    ctx.progress({ message: 'staging the task data and the models' });
    const data = dir('data');
    const tasks = p.tasks ? await stageTasks(ctx, p.tasks, dir) : undefined;
    const single = p.data ?? { train: [], test: [], textField: 'text', labelField: 'label', tokensField: 'tokens', tagsField: 'tags', maxLength: 128 };
    const train = await stageTaskFiles(ctx.store, refList(single.train), data, 'data.train');
    const dev = await stageTaskFiles(ctx.store, refList(single.dev), data, 'data.dev');
    const test = await stageTaskFiles(ctx.store, refList(single.test), data, 'data.test');
    const datasetInputs = ctx.inputs.filter((i) => i.manifest.kind === 'dataset');
    if (tasks && datasetInputs.length) ctx.log(`evaluate: the datasets of ${datasetInputs.map((i) => i.stage).join(', ')} are not used (several tasks: each trains on its own files)`);
    const pseudoFile = path.join(data, 'pseudo-labeled.jsonl');
    const pseudoLabeled = tasks ? 0 : await stageDatasets(ctx.store, datasetInputs, pseudoFile, single);
    const pairsFile = path.join(data, 'pairs.jsonl');
    const pairs = p.uda ? await stagePairs(ctx.store, pairsInputs, pairsFile) : 0;
    if (p.uda && !pairs) throw new ConfigError(`uda: the pairs of ${pairsInputs.map((i) => i.stage).join(', ')} are empty`);

    const lexicons = ctx.inputs.filter((i) => i.manifest.kind === 'lexicon');
    const dictionary = p.dictionary ? path.join(data, DICTIONARY_FILE) : undefined;
    if (dictionary) await ctx.store.downloadFile(glossaryFile(lexicons).key, dictionary);
    else if (lexicons.length) ctx.log(`evaluate: the lexicon of ${lexicons.map((i) => i.stage).join(', ')} is not used (no dictionary params)`);

    const adaptedDir = dir('adapted');
    await downloadFiles(ctx.store, modelFiles(adapted.manifest), adaptedDir);
    const baseDir = await stageModel(ctx.store, baseSource, dir('base'));
    let controlDir: string | undefined;
    if (control) await downloadFiles(ctx.store, modelFiles(control.manifest), (controlDir = dir('control')));
    const sources: Record<string, string> = { base: describeSource(baseSource), adapted: `the model of stage ${adapted.stage}` };
    const models = p.ablation
      ? ablationArms({ base: baseDir, adapted: adaptedDir, control: controlDir, pseudo: pseudoLabeled ? pseudoFile : undefined, uda: pairs > 0 }, sources, {
          control: control?.stage,
          pseudo: ctx.inputs.filter((i) => i.manifest.kind === 'dataset').map((i) => i.stage),
        })
      : { base: { path: baseDir }, adapted: { path: adaptedDir } };

    const outputDir = dir('output');
    const curves = new CurveRecorder();
    await runTrainerStage(ctx, {
      what: 'evaluate',
      progressPrefix: 'fine-tuning ',
      config: {
        command: 'finetune',
        models,
        ...(tasks
          ? { tasks: tasks.config, taskSampling: p.taskSampling }
          : {
              task: p.task,
              data: {
                // an ablation gives the pseudo-labels to its +pl arms only; otherwise every model trains on them
                train: pseudoLabeled && !p.ablation ? [...train, pseudoFile] : train,
                ...(dev.length ? { dev } : {}),
                test,
                ...(pairs ? { unlabeled: [pairsFile] } : {}),
                textField: single.textField,
                labelField: single.labelField,
                tokensField: single.tokensField,
                tagsField: single.tagsField,
                maxLength: single.maxLength,
              },
              labels: p.labels,
            }),
        seeds: p.seeds,
        ...fineTuningOf(p),
        uda: p.uda,
        imbalance: p.imbalance,
        ensembleMembers: p.ensembleMembers,
        noise: p.noise,
        ema: p.ema,
        adversarial: p.adversarial,
        rdrop: p.rdrop,
        prompt: p.prompt,
        contrastive: p.contrastive,
        labelReview: p.labelReview,
        ...(dictionary ? { dictionary: { path: dictionary, inject: p.dictionary!.inject } } : {}),
        logEvery: p.logEvery,
        interval: p.interval,
        outputDir,
        device: p.device,
      },
      onEvent: (e) => {
        if (e.event === 'progress') curves.add(e);
      },
    });

    const rows = tasks?.rows ?? { all: { train: countRows(train), dev: countRows(dev), test: countRows(test) } };
    const total = (k: 'train' | 'dev' | 'test') => Object.values(rows).reduce((n, r) => n + r[k], 0);
    const out = finetuneMetrics(readTrainerMetrics(outputDir), {
      sources,
      data: { train: total('train'), pseudoLabeled, dev: total('dev'), test: total('test'), pairs },
      taskData: tasks?.rows,
      curves: curves.summary(),
    });
    const file = path.join(ctx.workDir, 'metrics.json');
    fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    const [b, a] = [out.models.base?.mean[out.primary], out.models.adapted?.mean[out.primary]];
    const iv = out.comparison.adapted?.[out.primary];
    const ci = iv ? `, ${iv.confidence * 100}% interval [${iv.lower.toFixed(4)}, ${iv.upper.toFixed(4)}]` : '';
    ctx.log(`evaluate: ${out.primary} base ${b?.toFixed(4)} → adapted ${a?.toFixed(4)} (Δ ${out.delta[out.primary]?.toFixed(4)}${ci}, ${p.seeds.length} seeds)`);
    for (const arm of Object.keys(out.models).filter((m) => m !== 'base' && m !== 'adapted')) {
      const d = out.comparison[arm]?.[out.primary];
      const at = d ? ` (Δ ${d.difference.toFixed(4)}, ${d.confidence * 100}% interval [${d.lower.toFixed(4)}, ${d.upper.toFixed(4)}])` : '';
      ctx.log(`evaluate: ${out.primary} ${arm} ${out.models[arm].mean[out.primary]?.toFixed(4)}${at}`);
    }
    for (const [name, t] of Object.entries(out.tasks ?? {})) {
      const d = t.comparison.adapted?.[t.primary];
      const at = d ? `, ${d.confidence * 100}% interval [${d.lower.toFixed(4)}, ${d.upper.toFixed(4)}]` : '';
      ctx.log(`evaluate: task ${name} ${t.primary} base ${t.models.base?.mean[t.primary]?.toFixed(4)} → adapted ${t.models.adapted?.mean[t.primary]?.toFixed(4)} (Δ ${t.delta[t.primary]?.toFixed(4)}${at})`);
    }
    return { files: [await ctx.store.putFile(file, 'metrics.json')], schema: FINETUNE_METRICS_SCHEMA, metrics: { ...out } };
  },

  async fingerprint(params: Params, env) {
    // Local task files are cache-key material too: an edited test set is a different evaluation.
    return {
      baseModel: await modelRefFingerprint(params.baseModel, undefined, env?.store),
      data: await taskFilesFingerprint([params.data?.train, params.data?.dev, params.data?.test], env?.store),
      ...(params.tasks
        ? { tasks: await taskFilesFingerprint(Object.values(params.tasks).flatMap((t) => [t.data.train, t.data.dev, t.data.test]), env?.store) }
        : {}),
    };
  },
};

interface ArmModels {
  base: string;
  adapted: string;
  control?: string;
  /** the staged pseudo-labels, when a dataset input had rows */
  pseudo?: string;
  /** whether UDA pairs were staged (uda set) */
  uda: boolean;
}

/**
 * The ablation's arms as trainer models, in the order the report shows them: each later arm adds one part of the
 * pipeline. base, general-cpt and adapted train on the labeled rows alone, so comparison.adapted (what promote
 * reads) is the encoder's effect under one fine-tuning recipe; the +pl and +uda arms add what only they use.
 */
export function ablationArms(
  m: ArmModels,
  sources: Record<string, string>,
  from: { control?: string; pseudo: string[] },
): Record<string, { path: string; train?: string[]; uda: boolean }> {
  const arms: Record<string, { path: string; train?: string[]; uda: boolean }> = { base: { path: m.base, uda: false } };
  if (m.control) {
    arms['general-cpt'] = { path: m.control, uda: false };
    sources['general-cpt'] = `the model of stage ${from.control}`;
  }
  arms.adapted = { path: m.adapted, uda: false };
  const pl = m.pseudo ? { train: [m.pseudo] } : {};
  const plFrom = `, with the pseudo-labels of ${from.pseudo.join(', ')}`;
  if (m.pseudo) {
    arms['adapted+pl'] = { path: m.adapted, ...pl, uda: false };
    sources['adapted+pl'] = sources.adapted + plFrom;
  }
  if (m.uda) {
    const name = m.pseudo ? 'adapted+pl+uda' : 'adapted+uda';
    arms[name] = { path: m.adapted, ...pl, uda: true };
    sources[name] = sources.adapted + (m.pseudo ? plFrom : '') + ', with UDA';
  }
  return arms;
}

type TrainerSeedScores = Partial<SeedScores> & { seed: number };

/** The trainer's outputDir/metrics.json, as far as this stage relies on it. */
export interface TrainerFinetuneMetrics {
  task: 'classification' | 'ner' | 'multi-task';
  labels: string[];
  models: Record<string, { seeds: TrainerSeedScores[]; mean?: Record<string, number>; std?: Record<string, number> }>;
  delta?: Record<string, number>;
  comparison?: Record<string, Record<string, PairedDifference>>;
  noise?: unknown;
  uda?: unknown;
  adversarial?: unknown;
  rdrop?: unknown;
  contrastive?: unknown;
  labelReview?: unknown;
  dictionary?: unknown;
  /** multi-task: each task's metrics, in the single-task shape */
  tasks?: Record<string, TrainerFinetuneMetrics>;
  sampling?: unknown;
}

function readTrainerMetrics(outputDir: string): TrainerFinetuneMetrics {
  const file = path.join(outputDir, 'metrics.json');
  if (!fs.existsSync(file)) throw new Error(`evaluate: the trainer wrote no ${file}`);
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerFinetuneMetrics;
  if (!m.models?.base?.seeds?.length || !m.models?.adapted?.seeds?.length) {
    throw new Error(`evaluate: the trainer's metrics.json has no per-seed scores for both models (${Object.keys(m.models ?? {}).join(', ')})`);
  }
  return m;
}

const MEASURES = ['accuracy', 'macroF1', 'entityF1', 'precision', 'recall', 'taskAverage'] as const;
const OPTIONAL = ['entityF1', 'precision', 'recall', 'bestEpoch', 'taskAverage'] as const;

/** Sample standard deviation (n − 1), as the trainer reports it; 0 for a single seed. */
function meanStd(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  if (xs.length < 2) return { mean, std: 0 };
  return { mean, std: Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1)) };
}

/**
 * The stage's metrics from the trainer's: means and stds recomputed from the per-seed scores (so they always
 * match them), per-class F1 averaged over seeds, deltas of every measure both models have.
 */
export function finetuneMetrics(
  m: TrainerFinetuneMetrics,
  extra: { sources: Record<string, string>; data: FinetuneMetrics['data']; curves: LossCurve[]; taskData?: Record<string, TaskRows> },
): FinetuneMetrics {
  const models: FinetuneMetrics['models'] = {};
  for (const [name, r] of Object.entries(m.models)) {
    const seeds: SeedScores[] = r.seeds.map((s) => {
      const out: SeedScores = { seed: s.seed, accuracy: s.accuracy ?? NaN, macroF1: s.macroF1 ?? NaN, perClassF1: s.perClassF1 ?? {} };
      for (const k of OPTIONAL) if (typeof s[k] === 'number') out[k] = s[k];
      return out;
    });
    const mean: Record<string, number> = {};
    const std: Record<string, number> = {};
    for (const k of MEASURES) {
      const xs = seeds.map((s) => s[k]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      if (xs.length !== seeds.length) continue;
      ({ mean: mean[k], std: std[k] } = meanStd(xs));
    }
    const perClassF1: Record<string, number> = {};
    for (const label of new Set(seeds.flatMap((s) => Object.keys(s.perClassF1)))) {
      perClassF1[label] = meanStd(seeds.map((s) => s.perClassF1[label] ?? 0)).mean;
    }
    models[name] = { source: extra.sources[name] ?? name, seeds, mean, std, perClassF1 };
  }
  const delta: Record<string, number> = {};
  for (const k of MEASURES) {
    const [a, b] = [models.adapted?.mean[k], models.base?.mean[k]];
    if (typeof a === 'number' && typeof b === 'number') delta[k] = a - b;
  }
  const primary = m.task === 'multi-task' ? 'taskAverage' : m.task === 'ner' ? 'entityF1' : 'macroF1';
  const tasks: Record<string, TaskScores> = {};
  for (const [name, t] of Object.entries(m.tasks ?? {})) {
    const r = extra.taskData?.[name] ?? { train: 0, dev: 0, test: 0 };
    const { schema: _s, curves: _c, ...scores } = finetuneMetrics(t, { sources: extra.sources, data: { ...r, pseudoLabeled: 0, pairs: 0 }, curves: [] });
    tasks[name] = scores;
  }
  return {
    schema: FINETUNE_METRICS_SCHEMA,
    task: m.task,
    labels: m.labels ?? [],
    primary,
    models,
    delta,
    improved: (delta[primary] ?? 0) > 0,
    comparison: m.comparison ?? {},
    data: extra.data,
    curves: extra.curves,
    ...(m.noise !== undefined ? { noise: m.noise } : {}),
    ...(m.uda !== undefined ? { uda: m.uda } : {}),
    ...(m.adversarial !== undefined ? { adversarial: m.adversarial } : {}),
    ...(m.rdrop !== undefined ? { rdrop: m.rdrop } : {}),
    ...(m.contrastive !== undefined ? { contrastive: m.contrastive } : {}),
    ...(m.labelReview !== undefined ? { labelReview: m.labelReview } : {}),
    ...(m.dictionary !== undefined ? { dictionary: m.dictionary } : {}),
    ...(m.tasks ? { tasks, sampling: m.sampling } : {}),
  };
}

type ProgressEvent = Extract<TrainerEvent, { event: 'progress' }>;

/** Training loss per (model, seed) from the trainer's progress events, whose steps count over all runs. */
export class CurveRecorder {
  private readonly runs = new Map<string, { model: string; seed: number; offset: number; points: LossCurve['points'] }>();
  private lastStep = 0;

  add(e: ProgressEvent): void {
    const model = e.model ?? 'model';
    const seed = e.seed ?? 0;
    const key = `${model}\u0000${seed}`;
    let run = this.runs.get(key);
    // Runs are sequential: a run's steps start after the last step of the run before it.
    if (!run) this.runs.set(key, (run = { model, seed, offset: this.lastStep, points: [] }));
    this.lastStep = e.step;
    const point: LossCurve['points'][number] = { step: e.step - run.offset, loss: e.loss };
    if (e.supervisedLoss !== undefined) point.supervisedLoss = e.supervisedLoss;
    if (e.consistencyLoss !== undefined) point.consistencyLoss = e.consistencyLoss;
    if (e.maskFraction !== undefined) point.maskFraction = e.maskFraction;
    run.points.push(point);
  }

  summary(): LossCurve[] {
    return [...this.runs.values()].map(({ model, seed, points }) => {
      const losses = points.map((p) => p.loss);
      return {
        model,
        seed,
        steps: points[points.length - 1].step,
        firstLoss: losses[0],
        finalLoss: losses[losses.length - 1],
        minLoss: Math.min(...losses),
        points: thin(points, CURVE_POINTS),
      };
    });
  }
}

/** At most `n` evenly spaced items, the first and the last always among them. */
function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]);
}
