/**
 * The `perplexity` stage: the base and the adapted model on held-out domain text and on general text (the
 * forgetting probe), with the same masks for both (`python -m trainer evaluate`). The adapted model is the
 * `model` input; unless the params say otherwise, the base model and the held-out sets are the ones its
 * pretrain stage recorded. Output: metrics.json (per model and set: loss, perplexity, masked-token accuracy, and
 * adapted − base deltas), the same numbers in the manifest's metrics.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageParams } from '../../schemas/stages';
import { EvaluateConfig } from '../../schemas/trainer';
import { ConfigError, InputError } from '../errors';
import { adaptedAndBase } from './adapted-model';
import { downloadFiles, workSubdir } from './pretrain/files';
import { HELDOUT_PREFIX, modelRefFingerprint, stageModel, writeDocuments } from './pretrain/staging';
import { runTrainer, throwIfTrainerFailed, writeTrainerConfig } from './pretrain/trainer-process';
import type { StageContext, StageImpl, StageInputArtifact } from './types';

type Params = StageParams<'perplexity'>;

export const METRICS_SCHEMA = 'perplexity-metrics/v1';
const MEASURES = ['loss', 'perplexity', 'accuracy'] as const;

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

export const perplexityStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const p = ctx.params;
    const { adapted, record, base: baseSource } = await adaptedAndBase(ctx, 'perplexity');

    const dir = (name: string) => workSubdir(ctx.workDir, name);
    ctx.progress({ message: 'staging the models and evaluation sets' });
    const adaptedDir = dir('adapted');
    await downloadFiles(ctx.store, adapted.manifest.files.filter((f) => !f.name.startsWith(HELDOUT_PREFIX)), adaptedDir);
    const baseDir = await stageModel(ctx.store, baseSource, dir('base'));

    const data = dir('data');
    const domain = await evalSet(ctx, 'domain', p.domain, adapted, path.join(data, 'domain.jsonl.gz'));
    if (!domain) {
      throw new ConfigError(`domain: no domain evaluation set: the model of ${adapted.stage} has no held-out split and no documents needs-stage is named (domain: <stage>)`);
    }
    const general = await evalSet(ctx, 'general', p.general, adapted, path.join(data, 'general.jsonl.gz'));

    const objective = record.objective ?? 'mlm';
    const outputDir = dir('output');
    const configPath = writeTrainerConfig(EvaluateConfig, {
      command: 'evaluate',
      models: { base: { path: baseDir, objective }, adapted: { path: adaptedDir, objective } },
      data: {
        domain: [domain.file],
        general: general ? [general.file] : [],
        textField: 'text',
        seqLen: p.seqLen ?? record.seqLen ?? 128,
        maxSequences: p.maxSequences,
      },
      masking: p.masking,
      seed: p.seed,
      batchSize: p.batchSize,
      outputDir,
      device: p.device,
    }, path.join(ctx.workDir, 'trainer-config.json'), 'evaluate config');

    let done: Record<string, number> = {};
    const result = await runTrainer({
      command: 'evaluate',
      configPath,
      cwd: ctx.workDir,
      signal: ctx.signal,
      gpus: ctx.gpus,
      onEvent: (e) => {
        if (e.event === 'done') done = e.metrics ?? {};
        else if (e.event === 'progress') ctx.progress({ fraction: e.total ? e.step / e.total : undefined, message: `evaluating ${e.step}/${e.total}` });
      },
      log: (m) => ctx.log(m),
    });
    throwIfTrainerFailed('perplexity', result, ctx.signal);

    const numbers = readEvalNumbers(outputDir, done);
    const sets: PerplexityResult['sets'] = { domain: { documents: domain.documents, source: domain.source } };
    if (general) sets.general = { documents: general.documents, source: general.source };
    const out: PerplexityResult = { models: numbers, delta: deltas(numbers), sets };
    const headless = headlessModels(outputDir, done);
    if (headless.length) out.headless = headless;
    const file = path.join(ctx.workDir, 'metrics.json');
    fs.writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
    const d = out.delta.domain;
    ctx.log(`perplexity: domain loss ${numbers.base?.domain?.loss?.toFixed(4)} → ${numbers.adapted?.domain?.loss?.toFixed(4)} (Δ ${d?.loss?.toFixed(4)})`);
    if (headless.length) ctx.log(`perplexity: ${headless.join(', ')} has no MLM head weights: its loss is a random head's, not comparable`);
    return { files: [await ctx.store.putFile(file, 'metrics.json')], schema: METRICS_SCHEMA, metrics: { ...out } };
  },

  async fingerprint(params: Params, env) {
    return { baseModel: await modelRefFingerprint(params.baseModel, undefined, env?.store) };
  },
};

/** An evaluation set as one local file: a named documents needs-stage, else the model's held-out split. */
async function evalSet(
  ctx: StageContext<Params>,
  name: 'domain' | 'general',
  fromStage: string | undefined,
  adapted: StageInputArtifact,
  file: string,
): Promise<{ file: string; documents: number; source: string } | undefined> {
  if (fromStage) {
    const input = ctx.inputs.find((i) => i.stage === fromStage && i.manifest.kind === 'documents');
    if (!input) throw new ConfigError(`${name}: "${fromStage}" is not a needs-stage producing documents`);
    const written = await writeDocuments(ctx.store, [input.manifest], file);
    if (!written) throw new InputError(`${name}: the documents of ${fromStage} are empty`);
    return { file, documents: input.manifest.files.reduce((n, f) => n + (f.records ?? 0), 0), source: fromStage };
  }
  const held = adapted.manifest.files.find((f) => f.name === `${HELDOUT_PREFIX}${name}.jsonl.gz`);
  if (!held) return undefined;
  await downloadFiles(ctx.store, [{ ...held, name: path.basename(file) }], path.dirname(file));
  return { file, documents: held.records ?? 0, source: `${adapted.stage} (held out)` };
}

/**
 * The trainer's numbers as model → set → measure, from its metrics.json (else the `done` event), whose keys
 * are flat: `base.domain.loss`.
 */
export function readEvalNumbers(outputDir: string, done: Record<string, number>): PerplexityResult['models'] {
  const file = path.join(outputDir, 'metrics.json');
  const flat = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : done;
  const out: PerplexityResult['models'] = {};
  for (const [k, v] of Object.entries(flat)) {
    const [model, set, measure] = k.split('.');
    if (!measure || typeof v !== 'number') continue;
    ((out[model] ??= {})[set] ??= {})[measure] = v;
  }
  if (!out.base?.domain || !out.adapted?.domain) throw new Error(`perplexity: the trainer reported no domain numbers for both models (${Object.keys(flat).join(', ')})`);
  return out;
}

/** Models the trainer flagged `<model>.headless` (their checkpoint lacked the LM head). */
export function headlessModels(outputDir: string, done: Record<string, number>): string[] {
  const file = path.join(outputDir, 'metrics.json');
  const flat = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>) : done;
  return Object.entries(flat).filter(([k, v]) => k.endsWith('.headless') && v === 1).map(([k]) => k.slice(0, -'.headless'.length));
}

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
