/**
 * The `pretrain` stage: continue pretraining a base model on the domain documents with `python -m trainer`.
 *
 * Inputs are staged in the attempt's work dir (domain documents split into train and held-out by document id,
 * general documents into held-out and replay, the lexicon, the base model), the trainer config is written with
 * every default applied and validated by the zod schema the trainer's JSON Schema is generated from, and the
 * trainer is spawned. Its `progress` events become heartbeats (step, loss, tokens/s, ETA); each `checkpoint` is
 * uploaded to the store before the heartbeat names it, so a retry on any worker resumes from the last uploaded
 * checkpoint with `--resume`. The output is the model directory (HF format: loads with from_pretrained as is)
 * plus the held-out splits under `eval/`, which the perplexity stage evaluates by default.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ArtifactFileT } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import type { TrainerEvent } from '../../../schemas/trainer';
import { ConfigError } from '../../errors';
import type { StageContext, StageImpl, StageInputArtifact } from '../types';
import { downloadCheckpoint, latestCheckpoint, uploadCheckpoint, type CheckpointRef } from '../../model-stage/checkpoints';
import { uploadDir, workSubdir } from '../../model-stage/files';
import { formatCount, formatDuration } from './format';
import {
  DICTIONARY_FILE,
  HELDOUT_PREFIX,
  describeSource,
  modelPositions,
  modelRefFingerprint,
  resolveModelRef,
  splitDocuments,
  stageLexicon,
  stageModel,
  type ModelSource,
} from '../../model-stage/staging';
import { runTrainerStage } from '../../model-stage/trainer-stage';
import { glossaryFile } from '../longtail/dictionary';
import { stageTokensInput, tokenCacheDir } from '../../model-stage/token-cache';

type Params = StageParams<'pretrain'>;

export const MODEL_SCHEMA = 'hf-model/v1';

/** What the pretrain manifest records for the perplexity stage (besides the trainer's own numbers). */
export interface PretrainRecord {
  baseModel: ModelSource;
  objective: 'mlm' | 'clm';
  seqLen: number;
}

export const pretrainStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const attemptStartedAt = Date.now();
    const p = ctx.params;
    const inputs = classifyInputs(ctx.inputs, p);
    const source: ModelSource = p.baseModel
      ? await resolveModelRef(ctx.store, p.baseModel, p.fallbackModel)
      : { artifact: inputs.model!.manifest.digest, stage: inputs.model!.stage };
    const dir = (name: string) => workSubdir(ctx.workDir, name);

    ctx.progress({ message: `staging the base model (${describeSource(source)}) and documents` });
    const baseDir = await stageModel(ctx.store, source, dir('base-model'));
    const positions = modelPositions(baseDir);
    if (positions && p.seqLen > positions) throw new ConfigError(`seqLen: ${p.seqLen} is longer than the base model's ${positions} positions (${describeSource(source)})`);
    const data = dir('data');
    // A tokens input (a tokenize stage) was split and tokenised there: its shards are fetched, never tokenised here.
    const domain = inputs.tokens
      ? { train: [], ...(await stageTokensInput(ctx.store, inputs.tokens, tokenCacheDir(), path.join(data, 'domain-eval.jsonl.gz'))) }
      : { tokens: [], downloaded: 0, ...(await splitDocuments(ctx.store, inputs.domain.map((i) => i.manifest), p.evalFraction, data, 'domain', ctx.signal)) };
    if (!domain.train.length && !domain.tokens.length) throw new ConfigError(`evalFraction: no domain documents left for training (${domain.evalDocs} held out of ${domain.evalDocs + domain.trainDocs})`);
    const general = inputs.general
      ? await splitDocuments(ctx.store, [inputs.general.manifest], p.generalEvalFraction, data, 'general', ctx.signal)
      : undefined;
    if (p.replayRatio > 0 && !general?.train.length) throw new ConfigError(`replayRatio: ${p.replayRatio} needs general documents to replay (generalFrom, generalEvalFraction < 1)`);
    const lexicon = inputs.lexicon ? await stageLexicon(ctx.store, inputs.lexicon, path.join(data, 'lexicon.jsonl')) : undefined;
    if (lexicon) ctx.log(`pretrain: lexicon of ${inputs.lexicon!.stage}: ${lexicon.words} words`);
    const dictionary = inputs.glossary ? path.join(data, DICTIONARY_FILE) : undefined;
    if (dictionary) await ctx.store.downloadFile(inputs.glossary!.key, dictionary);

    const outputDir = dir('output');
    const checkpointDir = dir('checkpoints');
    // A previous attempt's last uploaded checkpoint: continue from there, on whichever worker this runs.
    let resumeDir: string | undefined;
    let resumedFromStep: number | null = null;
    // The nodes of a multi-node try start as fresh activities: they resume from what the store holds.
    const previous = ctx.resumeFrom<CheckpointRef>() ?? (ctx.node ? await latestCheckpoint(ctx.store, ctx.cacheKey ?? `${ctx.run}/${ctx.stage}`, ctx.run) : undefined);
    if (previous?.index) {
      const got = await downloadCheckpoint(ctx.store, previous, dir('resume'));
      if (got) {
        resumeDir = got.dir;
        resumedFromStep = got.step;
        ctx.log(`pretrain: resuming from the checkpoint at step ${got.step} (${previous.index})`);
      } else {
        ctx.log(`pretrain: checkpoint index ${previous.index} is gone from the store: starting over`);
      }
    }

    const ledgerId = ctx.cacheKey ?? `${ctx.run}/${ctx.stage}`;
    const track = new TrainingTracker(ctx, ledgerId, checkpointDir, attemptStartedAt);
    await runTrainerStage(ctx, {
      what: 'pretrain',
      config: {
        command: 'pretrain',
        model: { path: baseDir, objective: p.objective, ...(p.configOverrides ? { configOverrides: p.configOverrides } : {}) },
        data: {
          train: domain.train,
          tokens: domain.tokens,
          eval: domain.eval ? [domain.eval] : [],
          generalEval: general?.eval ? [general.eval] : [],
          ...(p.replayRatio > 0 ? { replay: { paths: general!.train, ratio: p.replayRatio } } : {}),
          textField: 'text',
          seqLen: p.seqLen,
          packing: p.packing,
          evalMaxSequences: p.evalMaxSequences,
          tokenCache: { dir: tokenCacheDir() }, // shared by attempts and runs on this worker: a resume tokenises nothing
        },
        masking: { ...p.masking, ...(lexicon ? { lexicon: lexicon.path } : {}) },
        ...(dictionary && p.dictionary ? { dictionary: { ...p.dictionary, inject: p.dictionary.inject === 'all' ? 'all' : 'selected', path: dictionary } } : {}),
        ...(p.vocab.extend ? { vocab: { lexicon: lexicon!.path, maxNewTokens: p.vocab.maxNewTokens, minSubtokens: p.vocab.minSubtokens, padToMultipleOf: p.vocab.padToMultipleOf } } : {}),
        ...(p.contrastive ? { contrastive: p.contrastive } : {}),
        train: trainerTrain(p.train, lexicon?.path),
        outputDir,
        checkpointDir,
        device: p.device,
      },
      resumeDir,
      ownHeartbeats: true, // step, loss, tokens/s, ETA and the stored checkpoints
      onEvent: (e) => track.onEvent(e),
      settle: () => track.uploads, // a checkpoint announced before the exit (e.g. after SIGTERM) is still acknowledged
    });

    if (ctx.node && track.lastStep === 0 && !fs.existsSync(path.join(outputDir, 'config.json'))) return { nodeOnly: true, files: [], schema: MODEL_SCHEMA }; // rank 0 is on another node
    if (!fs.existsSync(path.join(outputDir, 'config.json'))) throw new Error(`pretrain: the trainer exited 0 but wrote no model to ${outputDir}`);
    const files: ArtifactFileT[] = await uploadDir(ctx.store, outputDir);
    if (domain.eval) files.push(await ctx.store.putFile(domain.eval, `${HELDOUT_PREFIX}domain.jsonl.gz`, domain.evalDocs));
    if (general?.eval) files.push(await ctx.store.putFile(general.eval, `${HELDOUT_PREFIX}general.jsonl.gz`, general.evalDocs));

    const record: PretrainRecord = { baseModel: source, objective: p.objective, seqLen: p.seqLen };
    const trainer = track.trainerMetrics();
    // A retry that resumed from the final checkpoint trains no step: the trainer's own numbers still hold.
    const steps = trainer['train.steps'] ?? Math.max(track.lastStep, resumedFromStep ?? 0);
    const finalLoss = track.lastLoss ?? trainer['train.finalLoss'] ?? null;
    const metrics = {
      ...trainer,
      ...record,
      'train.steps': steps, // the trainer's names, one per number (model-stage/metric-names.ts)
      'train.finalLoss': finalLoss,
      tokensPerSec: track.tokensPerSec,
      attempt: ctx.attempt,
      resumedFromStep,
      firstStep: track.firstStep ?? null,
      secondsToFirstProgress: track.secondsToFirstProgress ?? null,
      checkpointsUploaded: track.uploaded,
      trainDocs: domain.trainDocs,
      heldoutDocs: domain.evalDocs,
      tokenShardsDownloaded: domain.downloaded,
      generalHeldoutDocs: general?.evalDocs ?? 0,
      replayDocs: p.replayRatio > 0 ? (general?.trainDocs ?? 0) : 0,
      lexiconWords: lexicon?.words ?? 0,
      ...(p.contrastive ? { contrastive: p.contrastive } : {}), // the report names the setting beside its InfoNCE values
    };
    ctx.log(`pretrain: ${steps} steps, final loss ${finalLoss?.toFixed(4)}${resumedFromStep !== null ? `, resumed from step ${resumedFromStep}` : ''}`);
    return { files, schema: MODEL_SCHEMA, metrics };
  },

  async fingerprint(params: Params, env) {
    return { baseModel: await modelRefFingerprint(params.baseModel, params.fallbackModel, env?.store) };
  },
};

/** The trainer's `train` section: an ngram adapter's n-grams are the staged lexicon (classifyInputs made sure there is one). */
function trainerTrain(train: Params['train'], lexicon: string | undefined) {
  const adapter = train.adapter;
  if (adapter?.type !== 'ngram') return { ...train, adapter };
  return { ...train, adapter: { ...adapter, lexicon: lexicon! } };
}

interface ClassifiedInputs {
  domain: StageInputArtifact[];
  /** a tokenize stage's output: the domain data, tokenised (then `domain` is empty) */
  tokens?: StageInputArtifact;
  general?: StageInputArtifact;
  model?: StageInputArtifact;
  lexicon?: StageInputArtifact;
  /** the lexicon input's dictionary.jsonl (a longtail stage's glossary with selected flags), when definitions are injected */
  glossary?: ArtifactFileT;
}

/** Which input is what, with the spec mistakes a retry cannot fix reported as ConfigErrors naming the param. */
function classifyInputs(inputs: StageInputArtifact[], p: Params): ClassifiedInputs {
  const docs = inputs.filter((i) => i.manifest.kind === 'documents');
  const models = inputs.filter((i) => i.manifest.kind === 'model');
  const lexicons = inputs.filter((i) => i.manifest.kind === 'lexicon');
  const general = p.generalFrom ? docs.find((i) => i.stage === p.generalFrom) : undefined;
  if (p.generalFrom && !general) {
    throw new ConfigError(`generalFrom: "${p.generalFrom}" is not a needs-stage producing documents (documents inputs: ${docs.map((d) => d.stage).join(', ') || 'none'})`);
  }
  const domain = docs.filter((i) => i !== general);
  const tokens = inputs.filter((i) => i.manifest.kind === 'tokens');
  if (tokens.length > 1) throw new ConfigError(`pretrain takes at most one tokens input, got ${tokens.map((t) => t.stage).join(', ')}`);
  if (tokens.length && domain.length) throw new ConfigError(`needs: the tokens of ${tokens[0].stage} are the domain data, so documents of ${domain.map((d) => d.stage).join(', ')} cannot be too (general text goes through generalFrom)`);
  if (tokens.length && p.vocab.extend) throw new ConfigError(`vocab.extend: the tokens of ${tokens[0].stage} hold the base tokenizer's ids, which extending the vocabulary changes: pretrain from the documents instead`);
  if (!domain.length && !tokens.length) throw new ConfigError('pretrain needs domain documents: add a needs-stage that produces documents (or tokens)');
  if (models.length > 1) throw new ConfigError(`pretrain takes at most one model input, got ${models.map((m) => m.stage).join(', ')}`);
  if (p.fallbackModel && !p.baseModel?.startsWith('promoted:')) throw new ConfigError('fallbackModel: only used with baseModel promoted:<name>');
  if (p.baseModel && models.length) throw new ConfigError(`baseModel: set, but needs-stage ${models[0].stage} also produces a model: use one or the other`);
  if (!p.baseModel && !models.length) throw new ConfigError('baseModel: required (a local model directory or s3://bucket/prefix/) unless a needs-stage produces a model');
  if (lexicons.length > 1) throw new ConfigError(`pretrain takes at most one lexicon input, got ${lexicons.map((m) => m.stage).join(', ')}`);
  if (p.vocab.extend && !lexicons.length) throw new ConfigError('vocab.extend: needs a lexicon input (a newwords stage in needs)');
  if (p.masking.strategy === 'lexicon' && !lexicons.length) throw new ConfigError('masking.strategy: lexicon masking needs a lexicon input (a newwords stage in needs)');
  if (p.train.adapter?.type === 'ngram' && !lexicons.length) throw new ConfigError('train.adapter: the ngram adapter needs a lexicon input (a newwords stage in needs): its n-grams are the lexicon\'s words');
  const injects = p.dictionary !== undefined && p.dictionary.inject !== 'off';
  if (injects && p.objective === 'clm') throw new ConfigError('dictionary: definitions are appended to masked-LM inputs only (objective is clm)');
  const glossary = injects ? glossaryFile(lexicons) : undefined;
  return { domain, tokens: tokens[0], general, model: models[0], lexicon: lexicons[0], glossary };
}

/** Follows the trainer's events: heartbeats, checkpoint uploads (in order), the numbers for the manifest. */
class TrainingTracker {
  uploads: Promise<void> = Promise.resolve();
  uploaded = 0;
  firstStep: number | undefined;
  /** Attempt start → the trainer's first progress event: staging, download, start-up and the first steps. */
  secondsToFirstProgress: number | undefined;
  lastStep = 0;
  lastLoss: number | undefined;
  tokensPerSec: number | undefined;
  private startedAt = 0;
  private readonly metricEvents: Record<string, number> = {};
  private done: Record<string, number> = {};
  private message = '';

  constructor(
    private readonly ctx: StageContext<Params>,
    private readonly ledgerId: string,
    private readonly checkpointDir: string,
    private readonly attemptStartedAt: number,
  ) {}

  onEvent(e: TrainerEvent): void {
    switch (e.event) {
      case 'progress':
        return this.onProgress(e);
      case 'checkpoint':
        return this.onCheckpoint(e);
      case 'metric':
        this.metricEvents[e.name] = e.value;
        return;
      case 'done':
        this.done = e.metrics ?? {};
        return;
    }
  }

  trainerMetrics(): Record<string, number> {
    return { ...this.metricEvents, ...this.done };
  }

  private onProgress(e: Extract<TrainerEvent, { event: 'progress' }>): void {
    const now = Date.now();
    if (this.firstStep === undefined) {
      this.firstStep = e.step;
      this.startedAt = now;
      this.secondsToFirstProgress = (now - this.attemptStartedAt) / 1000;
    }
    this.lastStep = e.step;
    this.lastLoss = e.loss;
    this.tokensPerSec = e.tokensPerSec;
    const rate = (e.step - this.firstStep) / Math.max(1e-3, (now - this.startedAt) / 1000);
    const eta = rate > 0 ? ` ETA ${formatDuration((e.total - e.step) / rate)}` : '';
    this.message = `step ${e.step}/${e.total} loss ${e.loss.toFixed(3)} ${formatCount(e.tokensPerSec)} tok/s${eta}`;
    this.ctx.progress({ fraction: e.total ? Math.min(1, e.step / e.total) : undefined, message: this.message });
  }

  /** Upload, write the index, and only then heartbeat the checkpoint and drop the local copy. */
  private onCheckpoint(e: Extract<TrainerEvent, { event: 'checkpoint' }>): void {
    const local = path.resolve(this.checkpointDir, e.path);
    this.uploads = this.uploads.then(async () => {
      try {
        const ref = await uploadCheckpoint(this.ctx.store, local, this.ledgerId, { step: e.step, run: this.ctx.run, stage: this.ctx.stage, attempt: this.ctx.attempt });
        this.ctx.progress({ checkpoint: ref, message: `${this.message || `step ${e.step}`} (checkpoint ${e.step} stored)` });
        this.uploaded++;
        fs.rmSync(local, { recursive: true, force: true });
      } catch (err) {
        // Not acknowledged: a retry resumes from the previous stored checkpoint. Training goes on meanwhile.
        this.ctx.log(`pretrain: checkpoint at step ${e.step} not stored: ${(err as Error).message}`);
      }
    });
  }
}
