/**
 * The `tokenize` stage: the domain documents as token shards in the store, so that pretraining (on any worker,
 * any attempt, any DDP rank, any later run with the same tokenizer) reads tokens and never tokenises.
 *
 * A fan-out, one task per input document shard, on the stage's queue (CPU workers by default):
 *   tokenize  download the shard; split it by document id into train and held-out documents (splitOneShard: the
 *             split pretrain makes from documents); `python -m trainer tokenize` writes the train part as a
 *             token shard (trainer/token_shards.py's format, the file a pretrain with a token cache would build
 *             for the same documents); upload it and the held-out documents as content-addressed blobs;
 *   reduce    the `tokens` artifact: tokens.json (the tokenizer digest, the encode settings, each token shard
 *             with its content key and counts, the held-out shards), then the shards, in input order.
 * A task's files depend only on its input shard, the tokenizer and the settings, and are named after the shard's
 * index, so a rerun after a crash writes the same bytes and the manifest digest does not depend on which worker
 * did what, or in which order.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ArtifactFileT } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import { documentShards } from '../../documents';
import { ConfigError, InputError } from '../../errors';
import { runPhasesInline } from '../../inline-phases';
import { checkInputKinds } from '../../stage-inputs';
import { workSubdir } from '../../model-stage/files';
import { modelRefFingerprint, resolveModelRef, splitOneShard, stageLexicon, stageModel, tokenizerFilesOnly, type ModelSource } from '../../model-stage/staging';
import { HELDOUT_SHARD_PREFIX, TOKEN_SHARD_PREFIX, TOKENS_INDEX, type TokensIndex } from '../../model-stage/token-cache';
import { runTrainerStage } from '../../model-stage/trainer-stage';
import type { FanoutPhase, StageContext, StageImpl, TypedFanout } from '../types';

type Params = StageParams<'tokenize'>;

export const TOKENS_SCHEMA = 'token-shards/v1';

interface Task {
  index: number;
  model: ModelSource;
  file: Pick<ArtifactFileT, 'key' | 'name' | 'bytes' | 'records' | 'sha256'>;
}

/** What `python -m trainer tokenize` reports (trainer/tokenize.py). */
interface Summary {
  key: string;
  tokenizer: string;
  encode: Record<string, unknown>;
  tokens: number;
  docs: number;
}

interface Result {
  index: number;
  tokens?: { file: ArtifactFileT; summary: Summary };
  heldout?: ArtifactFileT;
}

const padded = (i: number) => String(i).padStart(5, '0');

function inputsOf(ctx: StageContext<Params>) {
  checkInputKinds('tokenize', ctx.inputs, ['documents', 'model', 'lexicon']);
  const docs = ctx.inputs.filter((i) => i.manifest.kind === 'documents');
  const models = ctx.inputs.filter((i) => i.manifest.kind === 'model');
  const lexicons = ctx.inputs.filter((i) => i.manifest.kind === 'lexicon');
  const p = ctx.params;
  if (!docs.length) throw new ConfigError('tokenize needs documents: add a needs-stage that produces documents');
  if (p.baseModel && models.length) throw new ConfigError(`baseModel: set, but needs-stage ${models[0].stage} also produces a model: use one or the other`);
  if (!p.baseModel && models.length !== 1) throw new ConfigError(`baseModel: required (a local model directory, s3://bucket/prefix/ or promoted:<name>) unless one needs-stage produces a model${models.length ? ` (got ${models.map((m) => m.stage).join(', ')})` : ''}`);
  if (lexicons.length > 1) throw new ConfigError(`tokenize takes at most one lexicon input, got ${lexicons.map((m) => m.stage).join(', ')}`);
  if (p.masking.strategy === 'lexicon' && !lexicons.length) throw new ConfigError('masking.strategy: lexicon masking needs a lexicon input (a newwords stage in needs): its words decide the word flags');
  return { docs, model: models[0], lexicon: lexicons[0] };
}

const tokenizePhase: FanoutPhase<Params, Task, Result, []> = {
  name: 'tokenize',
  async plan(ctx) {
    const { docs, model } = inputsOf(ctx);
    // Resolved once: every task tokenises with the same model even if a promotion happens meanwhile.
    const source: ModelSource = ctx.params.baseModel ? await resolveModelRef(ctx.store, ctx.params.baseModel, undefined) : { artifact: model!.manifest.digest, stage: model!.stage };
    return docs.flatMap((d) => documentShards(d.manifest)).map((f, index) => ({ index, model: source, file: { key: f.key, name: f.name, bytes: f.bytes, records: f.records, sha256: f.sha256 } }));
  },
  async map(ctx, task) {
    const p = ctx.params;
    const { lexicon } = inputsOf(ctx);
    const dir = (name: string) => workSubdir(ctx.workDir, name);
    ctx.progress({ message: `splitting ${task.file.name}` });
    const split = await splitOneShard(ctx.store, task.file as ArtifactFileT, p.evalFraction, dir('data'), 'shard', ctx.signal);
    const result: Result = { index: task.index };
    if (split.eval) result.heldout = await ctx.store.putFile(split.eval, `${HELDOUT_SHARD_PREFIX}shard-${padded(task.index)}.jsonl.gz`, split.evalDocs);
    if (!split.train) return result;
    const model = await stageModel(ctx.store, task.model, dir('tokenizer'), 'baseModel', tokenizerFilesOnly);
    // As pretrain does: a lexicon input joins the segmenter's words whatever the strategy (it changes word flags).
    const words = lexicon ? await stageLexicon(ctx.store, lexicon, path.join(dir('data'), 'lexicon.jsonl')) : undefined;
    const out = dir('out');
    const shard = path.join(out, 'shard.tok');
    const summaryFile = path.join(out, 'summary.json');
    ctx.progress({ message: `tokenising ${task.file.name} (${split.trainDocs} documents)` });
    await runTrainerStage(ctx, {
      what: 'tokenize',
      config: {
        command: 'tokenize',
        model: { path: model, objective: p.objective },
        input: split.train,
        output: shard,
        summary: summaryFile,
        masking: { strategy: p.masking.strategy, language: p.masking.language, ...(words ? { lexicon: words.path } : {}) },
        textField: 'text',
        seqLen: p.seqLen,
        packing: p.packing,
      },
    });
    const summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as Summary;
    result.tokens = { file: await ctx.store.putFile(shard, `${TOKEN_SHARD_PREFIX}shard-${padded(task.index)}.tok`, summary.docs), summary };
    return result;
  },
};

export const tokenizeFanout: TypedFanout<Params, [[Task, Result]]> = {
  phases: [tokenizePhase],
  async reduce(ctx, [results]) {
    const p = ctx.params;
    const ordered = [...results].sort((a, b) => a.index - b.index);
    const tokenized = ordered.flatMap((r) => (r.tokens ? [r.tokens] : []));
    if (!tokenized.length) throw new InputError(`tokenize: no document left for training (evalFraction ${p.evalFraction} held out all ${ordered.reduce((n, r) => n + (r.heldout?.records ?? 0), 0)})`);
    const first = tokenized[0].summary;
    const odd = tokenized.find((t) => t.summary.tokenizer !== first.tokenizer || JSON.stringify(t.summary.encode) !== JSON.stringify(first.encode));
    if (odd) throw new Error(`tokenize: ${odd.file.name} was tokenised with another tokenizer or settings than ${tokenized[0].file.name}`);
    const heldout = ordered.flatMap((r) => (r.heldout ? [r.heldout] : []));
    const index: TokensIndex = {
      tokenizer: first.tokenizer,
      encode: first.encode,
      objective: p.objective,
      evalFraction: p.evalFraction,
      shards: tokenized.map((t) => ({ name: t.file.name, key: t.summary.key, tokens: t.summary.tokens, docs: t.summary.docs })),
      heldout: heldout.map((f) => f.name),
    };
    const indexFile = path.join(ctx.workDir, TOKENS_INDEX);
    fs.writeFileSync(indexFile, JSON.stringify(index, null, 2) + '\n');
    const tokens = index.shards.reduce((n, s) => n + s.tokens, 0);
    const trainDocs = index.shards.reduce((n, s) => n + s.docs, 0);
    const heldoutDocs = heldout.reduce((n, f) => n + (f.records ?? 0), 0);
    ctx.log(`tokenize: ${tokens} tokens of ${trainDocs} documents in ${index.shards.length} shards, ${heldoutDocs} documents held out (tokenizer ${first.tokenizer.slice(0, 12)})`);
    return {
      files: [await ctx.store.putFile(indexFile, TOKENS_INDEX), ...tokenized.map((t) => t.file), ...heldout],
      schema: TOKENS_SCHEMA,
      metrics: { tokens, trainDocs, heldoutDocs, shards: index.shards.length, tokenizer: first.tokenizer, encode: first.encode },
    };
  },
};

export const tokenizeStage: StageImpl<Params> = {
  fanout: tokenizeFanout,
  run: (ctx) => runPhasesInline(ctx, tokenizeFanout),

  async fingerprint(params: Params, env) {
    return { baseModel: await modelRefFingerprint(params.baseModel, undefined, env?.store) };
  },
};
