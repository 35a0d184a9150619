/**
 * The `pseudolabel` stage: a teacher fine-tuned on the labeled train set labels the documents of the
 * needs-stages; the confident labels (≥ threshold, at most perClassCap per class) are kept, over one or more
 * noisy-student rounds (`python -m trainer pseudolabel`). The teacher is the `model` input unless `teacher`
 * names one; `dataset` inputs join the labeled train set. Output: a `dataset` artifact of gzip JSONL shards
 * (schema pseudo-labels/v1: {text, label, confidence, round} per line) plus stats.json; the manifest's metrics
 * count what was kept per class, computed from the stored rows.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { ArtifactFileT } from '../../schemas/manifest';
import type { StageParams } from '../../schemas/stages';
import { PseudolabelConfig } from '../../schemas/trainer';
import { ConfigError, InputError } from '../errors';
import { taskFilesFingerprint } from './evaluate';
import { downloadFiles, workSubdir } from './pretrain/files';
import { describeSource, modelDirFingerprint, modelFiles, modelSourceOf, stageModel, writeDocuments } from './pretrain/staging';
import { runTrainer, throwIfTrainerFailed, writeTrainerConfig } from './pretrain/trainer-process';
import { PSEUDO_LABEL_SCHEMA, countRows, refList, stageDatasets, stageTaskFiles } from './task-data';
import type { StageContext, StageImpl } from './types';

type Params = StageParams<'pseudolabel'>;

export interface PseudoRow {
  text: string;
  label: string;
  confidence: number;
  round: number;
}

/** The manifest's metrics of a pseudolabel artifact. */
export interface PseudolabelMetrics {
  /** rows kept (all rounds) */
  rows: number;
  /** label → rows kept and their mean teacher confidence */
  perClass: Record<string, { kept: number; meanConfidence: number }>;
  meanConfidence: number;
  minConfidence: number;
  /** round → rows kept in it */
  perRound: Record<string, number>;
  threshold: number;
  perClassCap: number | 'balanced' | null;
  /** documents offered to the teacher; labeled rows it was fine-tuned on (user files + dataset inputs) */
  unlabeledDocs: number;
  labeledRows: number;
  teacher: string;
  /** the trainer's stats.json, as it wrote it */
  trainer: unknown;
}

export const pseudolabelStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const p = ctx.params;
    const models = ctx.inputs.filter((i) => i.manifest.kind === 'model');
    if (p.teacher && models.length) throw new ConfigError(`teacher: set, but ${models.map((m) => m.stage).join(', ')} also provide a model: name one teacher`);
    if (!p.teacher && models.length !== 1) {
      throw new ConfigError(`pseudolabel needs one teacher: a model input or the teacher param (got ${models.length ? models.map((m) => m.stage).join(', ') : 'neither'})`);
    }
    const documents = ctx.inputs.filter((i) => i.manifest.kind === 'documents');
    if (!documents.length) throw new ConfigError('pseudolabel needs a needs-stage producing documents: the unlabeled text to label');

    const dir = (name: string) => workSubdir(ctx.workDir, name);
    ctx.progress({ message: 'staging the teacher and the data' });
    const data = dir('data');
    const train = await stageTaskFiles(ctx.store, refList(p.data.train), data, 'data.train');
    const extraFile = path.join(data, 'labeled-inputs.jsonl');
    const extra = await stageDatasets(ctx.store, ctx.inputs.filter((i) => i.manifest.kind === 'dataset'), extraFile, p.data);
    const unlabeledFile = path.join(data, 'unlabeled.jsonl.gz');
    if (!(await writeDocuments(ctx.store, documents.map((d) => d.manifest), unlabeledFile))) {
      throw new InputError(`the documents of ${documents.map((d) => d.stage).join(', ')} are empty: nothing to label`);
    }
    const unlabeledDocs = documents.reduce((n, d) => n + d.manifest.files.reduce((m, f) => m + (f.records ?? 0), 0), 0);

    let teacherDir: string;
    let teacher: string;
    if (p.teacher) {
      const src = modelSourceOf(p.teacher);
      teacherDir = await stageModel(ctx.store, src, dir('teacher'), 'teacher');
      teacher = describeSource(src);
    } else {
      teacherDir = dir('teacher');
      await downloadFiles(ctx.store, modelFiles(models[0].manifest), teacherDir);
      teacher = `the model of stage ${models[0].stage}`;
    }

    const outputDir = dir('output');
    const configPath = writeTrainerConfig(PseudolabelConfig, {
      command: 'pseudolabel',
      teacher: { path: teacherDir },
      data: {
        train: extra ? [...train, extraFile] : train,
        unlabeled: [unlabeledFile],
        textField: p.data.textField,
        labelField: p.data.labelField,
        maxLength: p.data.maxLength,
      },
      labels: p.labels,
      threshold: p.threshold,
      perClassCap: p.perClassCap,
      rounds: p.rounds,
      studentDropout: p.studentDropout,
      seed: p.seed,
      epochs: p.epochs,
      maxSteps: p.maxSteps,
      batchSize: p.batchSize,
      lr: p.lr,
      weightDecay: p.weightDecay,
      warmupRatio: p.warmupRatio,
      logEvery: p.logEvery,
      outputDir,
      device: p.device,
    }, path.join(ctx.workDir, 'trainer-config.json'), 'pseudolabel config');

    const result = await runTrainer({
      command: 'pseudolabel',
      configPath,
      cwd: ctx.workDir,
      signal: ctx.signal,
      gpus: ctx.gpus,
      onEvent: (e) => {
        if (e.event !== 'progress') return;
        const who = e.model ? `${e.model}: ` : '';
        ctx.progress({ fraction: e.total ? e.step / e.total : undefined, message: `${who}step ${e.step}/${e.total} loss ${e.loss.toFixed(4)}` });
      },
      log: (m) => ctx.log(m),
    });
    throwIfTrainerFailed('pseudolabel', result, ctx.signal);

    const rows = readPseudoRows(path.join(outputDir, 'pseudo.jsonl'));
    const statsFile = path.join(outputDir, 'stats.json');
    const trainerStats: unknown = fs.existsSync(statsFile) ? JSON.parse(fs.readFileSync(statsFile, 'utf8')) : null;
    const files = await writeShards(ctx, rows, p.shardSize, dir('shards'));
    if (fs.existsSync(statsFile)) files.push(await ctx.store.putFile(statsFile, 'stats.json'));
    const metrics = pseudoMetrics(rows, {
      threshold: p.threshold,
      perClassCap: p.perClassCap ?? null,
      unlabeledDocs,
      labeledRows: countRows(train) + extra,
      teacher,
      trainer: trainerStats,
    });
    const kept = Object.entries(metrics.perClass).map(([l, c]) => `${l} ${c.kept}`).join(', ');
    ctx.log(`pseudolabel: kept ${rows.length} of ${unlabeledDocs} documents (${kept || 'none'}), mean confidence ${metrics.meanConfidence.toFixed(3)}`);
    return { files, schema: PSEUDO_LABEL_SCHEMA, metrics: { ...metrics } };
  },

  async fingerprint(params: Params, env) {
    return { teacher: await modelDirFingerprint(params.teacher, env?.store), data: await taskFilesFingerprint([params.data.train], env?.store) };
  },
};

function readPseudoRows(file: string): PseudoRow[] {
  if (!fs.existsSync(file)) throw new Error(`pseudolabel: the trainer wrote no ${file}`);
  const rows: PseudoRow[] = [];
  fs.readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim()) return;
      const r = JSON.parse(line) as Partial<PseudoRow>;
      if (typeof r.text !== 'string' || typeof r.label !== 'string' || typeof r.confidence !== 'number') {
        throw new Error(`pseudolabel: ${file}:${i + 1}: expected {text, label, confidence, round}`);
      }
      rows.push({ text: r.text, label: r.label, confidence: r.confidence, round: typeof r.round === 'number' ? r.round : 1 });
    });
  return rows;
}

async function writeShards(ctx: StageContext<Params>, rows: PseudoRow[], shardSize: number, dir: string): Promise<ArtifactFileT[]> {
  const files: ArtifactFileT[] = [];
  for (let i = 0; i * shardSize < rows.length; i++) {
    const chunk = rows.slice(i * shardSize, (i + 1) * shardSize);
    const name = `pseudo-${String(i).padStart(5, '0')}.jsonl.gz`;
    const local = path.join(dir, name);
    fs.writeFileSync(local, zlib.gzipSync(chunk.map((r) => JSON.stringify(r)).join('\n') + '\n'));
    files.push(await ctx.store.putFile(local, name, chunk.length));
  }
  return files;
}

export function pseudoMetrics(rows: PseudoRow[], rest: Omit<PseudolabelMetrics, 'rows' | 'perClass' | 'meanConfidence' | 'minConfidence' | 'perRound'>): PseudolabelMetrics {
  const perClass: PseudolabelMetrics['perClass'] = {};
  const perRound: Record<string, number> = {};
  for (const r of rows) {
    const c = (perClass[r.label] ??= { kept: 0, meanConfidence: 0 });
    c.meanConfidence += r.confidence; // a sum until divided below
    c.kept++;
    perRound[String(r.round)] = (perRound[String(r.round)] ?? 0) + 1;
  }
  for (const c of Object.values(perClass)) c.meanConfidence /= c.kept;
  const confidences = rows.map((r) => r.confidence);
  return {
    rows: rows.length,
    perClass,
    meanConfidence: rows.length ? confidences.reduce((s, x) => s + x, 0) / rows.length : 0,
    minConfidence: rows.length ? confidences.reduce((m, x) => Math.min(m, x), Infinity) : 0,
    perRound,
    ...rest,
  };
}
