/**
 * The `perplexity` stage: the base and the adapted model on held-out domain text and on general text (the
 * forgetting probe), with the same masks for both (`python -m trainer evaluate`). The adapted model is the
 * `model` input; unless the params say otherwise, the base model and the held-out sets are the ones its
 * pretrain stage recorded. Output: metrics.json (per model and set: loss, perplexity, masked-token accuracy, and
 * adapted − base deltas), the same numbers in the manifest's metrics.
 *
 * A fan-out over the sets' shards, so the forward passes run per shard on the stage's queue (GPU workers when
 * there are any) and a dead worker costs one shard:
 *   count   one task per set: tokenizers only, how many of the set's first `maxSequences` sequences each shard
 *           holds, per model (shards in order, read only until every model has its share);
 *   score   one task per shard holding any of them: both models on that shard's share → loss sum, correct
 *           targets, targets per model (small JSON in the ledger);
 *   reduce  adds the sums up per model and set into the metrics.
 * A sequence never spans two documents and each is masked by a generator seeded by its document's text (not by
 * its place in a batch), so the sums of N shards equal those of the same documents in one shard. (Today's numbers
 * are not those of the former single pass, which packed documents across boundaries and drew every mask of the
 * set from one generator: a sequence and its mask depended on the documents before it.)
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ArtifactFileT } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import { documentShards } from '../../documents';
import { recordsIn } from '../../stage-inputs';
import { ConfigError, InputError } from '../../errors';
import { adaptedAndBase } from '../../model-stage/adapted-model';
import { runPhasesInline } from '../../inline-phases';
import { downloadFiles, workSubdir } from '../../model-stage/files';
import { HELDOUT_PREFIX, modelFiles, modelRefFingerprint, stageModel, type ModelSource } from '../../model-stage/staging';
import { runTrainerStage, type TrainerConfigInput } from '../../model-stage/trainer-stage';
import type { FanoutPhase, StageContext, StageImpl, TypedFanout } from '../types';

type Params = StageParams<'perplexity'>;

export const METRICS_SCHEMA = 'perplexity-metrics/v1';
const MEASURES = ['loss', 'perplexity', 'accuracy'] as const;
const MODELS = ['base', 'adapted'] as const;
type ModelName = (typeof MODELS)[number];
type SetName = 'domain' | 'general';

/** One model on one evaluation set. */
export type EvalNumbers = Partial<Record<(typeof MEASURES)[number], number>> & Record<string, number>;

export interface PerplexityResult {
  /** model name (base, adapted) → set (domain, general) → numbers */
  models: Record<string, Record<string, EvalNumbers>>;
  /** set → adapted − base, per measure (negative loss/perplexity deltas mean the adaptation helped) */
  delta: Record<string, Partial<Record<(typeof MEASURES)[number], number>>>;
  sets: Record<string, { documents: number; source: string }>;
  /** models whose checkpoint had no LM head weights: their loss is a random head's, not comparable */
  headless?: string[];
}

/** What every task needs to stage the two models, resolved once (a promoted base is read once per run). */
interface Models {
  adapted: string; // the model input's manifest digest
  base: ModelSource;
  objective: 'mlm' | 'clm';
  seqLen: number;
}
type FileRef = Pick<ArtifactFileT, 'key' | 'name' | 'sha256' | 'bytes' | 'records'>;
interface CountTask {
  models: Models;
  set: SetName;
  source: string;
  documents: number;
  files: FileRef[];
}
interface CountResult {
  set: SetName;
  models: Models;
  /** model → sequences of each file (in order) among the set's first maxSequences */
  perFile: Record<ModelName, number[]>;
}
interface ScoreTask {
  models: Models;
  set: SetName;
  index: number;
  file: FileRef;
  limits: Record<ModelName, number>;
}
export interface Sums {
  lossSum: number;
  correct: number;
  targets: number;
  sequences: number;
}
interface ScoreResult {
  set: SetName;
  index: number;
  sums: Record<string, Sums>;
  headless: string[];
}

/** Tokenizer and config files of a model artifact: what counting needs (weights left out). */
const isWeights = (name: string) => /\.(safetensors|bin|pt|pth|ckpt|h5|msgpack)$/.test(name);

async function stageAdapted(ctx: StageContext<Params>, m: Models, dir: string, weights: boolean): Promise<string> {
  const manifest = await ctx.store.readManifest(m.adapted);
  if (!manifest) throw new InputError(`perplexity: the model input ${m.adapted} has no manifest in the store`);
  await downloadFiles(ctx.store, modelFiles(manifest).filter((f) => weights || !isWeights(f.name)), dir);
  return dir;
}

async function stageBase(ctx: StageContext<Params>, m: Models, dir: string, weights: boolean): Promise<string> {
  if (!weights && 'artifact' in m.base) {
    const manifest = await ctx.store.readManifest(m.base.artifact);
    if (manifest) {
      await downloadFiles(ctx.store, modelFiles(manifest).filter((f) => !isWeights(f.name)), dir);
      return dir;
    }
  }
  return stageModel(ctx.store, m.base, dir);
}

/** What a set's count or score run adds to the stage's shared evaluate settings. */
type EvaluateRun = Omit<TrainerConfigInput<'evaluate'>, 'command' | 'masking' | 'seed' | 'batchSize' | 'outputDir' | 'device'>;

async function evaluate(ctx: StageContext<Params>, config: EvaluateRun, name: string): Promise<string> {
  const p = ctx.params;
  const outputDir = workSubdir(ctx.workDir, `${name}-out`);
  await runTrainerStage(ctx, {
    what: 'perplexity',
    config: { command: 'evaluate', masking: p.masking, seed: p.seed, batchSize: p.batchSize, outputDir, device: p.device, ...config },
    configFile: path.join(ctx.workDir, `${name}-config.json`),
  });
  return outputDir;
}

const dataOf = (ctx: StageContext<Params>, m: Models, set: SetName, files: string[]) => ({
  domain: set === 'domain' ? files : [],
  general: set === 'general' ? files : [],
  textField: 'text',
  seqLen: m.seqLen,
  maxSequences: ctx.params.maxSequences,
});

interface EvalSet {
  set: SetName;
  source: string;
  documents: number;
  files: FileRef[];
}

/** The evaluation sets and their shards, from the inputs alone (every phase derives the same list). */
function evalSets(ctx: StageContext<Params>): EvalSet[] {
  const p = ctx.params;
  const adapted = ctx.inputs.find((i) => i.manifest.kind === 'model');
  if (!adapted) throw new ConfigError('perplexity needs exactly one model input (the adapted model), got none');
  const sets: EvalSet[] = [];
  for (const set of ['domain', 'general'] as const) {
    const fromStage = set === 'domain' ? p.domain : p.general;
    if (fromStage) {
      const input = ctx.inputs.find((i) => i.stage === fromStage && i.manifest.kind === 'documents');
      if (!input) throw new ConfigError(`${set}: "${fromStage}" is not a needs-stage producing documents`);
      const files = documentShards(input.manifest).filter((f) => (f.records ?? 1) > 0);
      if (!files.length) throw new InputError(`${set}: the documents of ${fromStage} are empty`);
      sets.push({ set, source: fromStage, documents: recordsIn(files), files: files.map(fileRef) });
      continue;
    }
    const held = adapted.manifest.files.find((f) => f.name === `${HELDOUT_PREFIX}${set}.jsonl.gz`);
    if (held) sets.push({ set, source: `${adapted.stage} (held out)`, documents: held.records ?? 0, files: [fileRef(held)] });
    else if (set === 'domain') {
      throw new ConfigError(`domain: no domain evaluation set: the model of ${adapted.stage} has no held-out split and no documents needs-stage is named (domain: <stage>)`);
    }
  }
  return sets;
}

const countPhase: FanoutPhase<Params, CountTask, CountResult, []> = {
  name: 'count',
  async plan(ctx) {
    const p = ctx.params;
    const { adapted, record, base } = await adaptedAndBase(ctx, 'perplexity');
    const models: Models = { adapted: adapted.manifest.digest, base, objective: record.objective ?? 'mlm', seqLen: p.seqLen ?? record.seqLen ?? 128 };
    return evalSets(ctx).map((s) => ({ models, ...s }));
  },
  async map(ctx, task) {
    const m = task.models;
    ctx.progress({ message: `counting the ${task.set} set's sequences` });
    const tok = { base: await stageBase(ctx, m, workSubdir(ctx.workDir, 'base'), false), adapted: await stageAdapted(ctx, m, workSubdir(ctx.workDir, 'adapted'), false) };
    const left: Record<ModelName, number> = { base: ctx.params.maxSequences, adapted: ctx.params.maxSequences };
    const perFile: Record<ModelName, number[]> = { base: [], adapted: [] };
    let next = 0;
    while (next < task.files.length && Math.max(left.base, left.adapted) > 0) {
      // A batch of shards that likely holds what is left (almost every document gives at least one sequence).
      const batch: FileRef[] = [];
      let records = 0;
      while (next < task.files.length && (batch.length === 0 || records < Math.max(left.base, left.adapted))) {
        batch.push(task.files[next++]);
        records += batch[batch.length - 1].records ?? 1;
      }
      const dir = workSubdir(ctx.workDir, `count-${next}`);
      await downloadFiles(ctx.store, batch.map((f, i) => ({ ...f, name: `${String(i).padStart(5, '0')}.jsonl.gz` }) as ArtifactFileT), dir);
      const files = batch.map((_, i) => path.join(dir, `${String(i).padStart(5, '0')}.jsonl.gz`));
      const out = await evaluate(ctx, {
        phase: 'count',
        models: { base: { path: tok.base, objective: m.objective }, adapted: { path: tok.adapted, objective: m.objective } },
        data: dataOf(ctx, m, task.set, files),
        limits: { base: { [task.set]: left.base }, adapted: { [task.set]: left.adapted } },
      }, `count-${next}`);
      const counts = (JSON.parse(fs.readFileSync(path.join(out, 'counts.json'), 'utf8')) as Record<string, Record<ModelName, number[]>>)[task.set];
      for (const name of MODELS) {
        perFile[name].push(...counts[name]);
        left[name] -= counts[name].reduce((a, b) => a + b, 0);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
    for (const name of MODELS) while (perFile[name].length < task.files.length) perFile[name].push(0);
    return { set: task.set, models: m, perFile };
  },
};

function fileRef(f: ArtifactFileT): FileRef {
  return { key: f.key, name: f.name, sha256: f.sha256, bytes: f.bytes, records: f.records };
}

const scorePhase: FanoutPhase<Params, ScoreTask, ScoreResult, [CountResult[]]> = {
  name: 'score',
  async plan(ctx, [counts]) {
    const sets = evalSets(ctx);
    const tasks: ScoreTask[] = [];
    for (const [k, c] of counts.entries()) {
      sets[k].files.forEach((file, index) => {
        const limits = { base: c.perFile.base[index], adapted: c.perFile.adapted[index] };
        if (limits.base + limits.adapted > 0) tasks.push({ models: c.models, set: c.set, index, file, limits });
      });
    }
    return tasks;
  },
  async map(ctx, task) {
    const m = task.models;
    ctx.progress({ message: `staging the models and ${task.set} shard ${task.index}` });
    const base = await stageBase(ctx, m, workSubdir(ctx.workDir, 'base'), true);
    const adapted = await stageAdapted(ctx, m, workSubdir(ctx.workDir, 'adapted'), true);
    const data = workSubdir(ctx.workDir, 'data');
    await downloadFiles(ctx.store, [{ ...task.file, name: 'shard.jsonl.gz' } as ArtifactFileT], data);
    ctx.progress({ message: `evaluating ${task.set} shard ${task.index} (${task.limits.adapted} sequences)` });
    const out = await evaluate(ctx, {
      models: { base: { path: base, objective: m.objective }, adapted: { path: adapted, objective: m.objective } },
      data: dataOf(ctx, m, task.set, [path.join(data, 'shard.jsonl.gz')]),
      limits: { base: { [task.set]: task.limits.base }, adapted: { [task.set]: task.limits.adapted } },
    }, 'score');
    const sums = JSON.parse(fs.readFileSync(path.join(out, 'sums.json'), 'utf8')) as Record<string, Record<string, Sums>>;
    const flat = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')) as Record<string, number>;
    return {
      set: task.set,
      index: task.index,
      sums: Object.fromEntries(MODELS.map((name) => [name, sums[name]?.[task.set] ?? { lossSum: 0, correct: 0, targets: 0, sequences: 0 }])),
      headless: MODELS.filter((name) => flat[`${name}.headless`] === 1),
    };
  },
};

/** loss, perplexity and accuracy of summed shards (none when the set has no target), as the trainer computes them. */
export function measuresOf(s: Sums): EvalNumbers {
  if (!s.targets) return {};
  const loss = s.lossSum / s.targets;
  return { loss, perplexity: Math.exp(Math.min(loss, 50)), accuracy: s.correct / s.targets };
}

export const perplexityFanout: TypedFanout<Params, [[CountTask, CountResult], [ScoreTask, ScoreResult]]> = {
  phases: [countPhase, scorePhase],
  async reduce(ctx, [counts, scores]) {
    const evaluated = evalSets(ctx);
    const totals: Record<string, Record<string, Sums>> = {};
    const headless = new Set<string>();
    for (const r of scores) {
      for (const [name, s] of Object.entries(r.sums)) {
        const t = ((totals[name] ??= {})[r.set] ??= { lossSum: 0, correct: 0, targets: 0, sequences: 0 });
        t.lossSum += s.lossSum;
        t.correct += s.correct;
        t.targets += s.targets;
        t.sequences += s.sequences;
      }
      r.headless.forEach((h) => headless.add(h));
    }
    const numbers: PerplexityResult['models'] = {};
    for (const [name, sets] of Object.entries(totals)) {
      for (const [set, s] of Object.entries(sets)) {
        const n = measuresOf(s);
        if (Object.keys(n).length) (numbers[name] ??= {})[set] = n;
      }
    }
    if (!numbers.base?.domain || !numbers.adapted?.domain) {
      throw new InputError(`perplexity: the domain set gave no evaluable sequence for both models (sequences: ${JSON.stringify(totals)})`);
    }
    const sets: PerplexityResult['sets'] = {};
    for (const [k, c] of counts.entries()) sets[c.set] = { documents: evaluated[k].documents, source: evaluated[k].source };
    const out: PerplexityResult = { models: numbers, delta: deltas(numbers), sets };
    if (headless.size) out.headless = MODELS.filter((m) => headless.has(m));
    const file = path.join(ctx.workDir, 'metrics.json');
    fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    const d = out.delta.domain;
    ctx.log(`perplexity: domain loss ${numbers.base.domain.loss?.toFixed(4)} → ${numbers.adapted.domain.loss?.toFixed(4)} (Δ ${d?.loss?.toFixed(4)})`);
    if (out.headless) ctx.log(`perplexity: ${out.headless.join(', ')} has no MLM head weights: its loss is a random head's, not comparable`);
    return { files: [await ctx.store.putFile(file, 'metrics.json')], schema: METRICS_SCHEMA, metrics: { ...out } };
  },
};

export const perplexityStage: StageImpl<Params> = {
  fanout: perplexityFanout,
  run: (ctx) => runPhasesInline(ctx, perplexityFanout),

  async fingerprint(params: Params, env) {
    return { baseModel: await modelRefFingerprint(params.baseModel, undefined, env?.store) };
  },
};

function deltas(models: PerplexityResult['models']): PerplexityResult['delta'] {
  const out: PerplexityResult['delta'] = {};
  const base = models.base ?? {};
  const adapted = models.adapted ?? {};
  for (const set of Object.keys(base)) {
    for (const m of MEASURES) {
      const b = base[set]?.[m];
      const a = adapted[set]?.[m];
      if (typeof a === 'number' && typeof b === 'number') (out[set] ??= {})[m] = a - b;
    }
  }
  return out;
}
