/**
 * The `newwords` stage: mines a domain lexicon from its documents inputs — the whole corpus, or a uniform
 * random sample of its documents (`sample`, chosen by a hash of each document's id, never a prefix). Candidates
 * (Chinese character n-grams, English word n-grams) are scored by frequency, cohesion (PMI) and freedom
 * (neighbour entropy), filtered by what the base tokenizer or a dictionary knows (./vocab) and, when a general
 * corpus is named, by over-representation against it. Output: a ranked JSONL lexicon (`lexicon/v1`).
 *
 * A fan-out whose tasks hold one shard or one hash partition of the n-grams, never the corpus:
 *   count   per input shard (domain, then general): n-gram counts by partition (./count);
 *   merge   per partition: counts summed over shards → candidates and their general counts; requests for the
 *           counts of their parts, and the counts of extensions (neighbours), to the partitions that own those
 *           parts and candidates (./merge);
 *   lookup  per partition: answers the requests addressed to it; its candidates' neighbour entropies (./score);
 *   score   per partition: PMI, the filters, the partition's best `topK` (./score);
 *   rank    one task: the best `topK` over partitions, written as the lexicon blob (./score);
 * and the reduce, which adds up the metrics and removes the scratch objects. Bulk data goes through scratch
 * objects under one prefix per stage run; task results (in the ledger) are offsets and counters. Every scratch
 * object is a function of its task's inputs, and every sum is order-free, so the lexicon is byte-identical
 * whatever the number of partitions or workers, the order tasks run in, or a task run twice.
 */
import fs from 'node:fs';
import { documentShards } from '../../documents';
import { ConfigError } from '../../errors';
import { documentInputs } from '../../shard-map';
import { runPhasesInline } from '../../inline-phases';
import { scratchPrefix } from '../../scratch';
import type { FanoutPhase, StageContext, StageImpl, StageInputArtifact, TypedFanout } from '../types';
import { countShard, type CountResult, type CountTask } from './count';
import { mergePartition, type MergeResult, type MergeTask } from './merge';
import { lookup, rank, score, type Dropped, type LookupResult, type LookupTask, type RankResult, type RankTask, type ScoreResult, type ScoreTask } from './score';
import { tuning, type Params } from './shape';
import type { Lang } from './text';

export type { LexiconEntry } from './score';
export { sampled } from './records';
export const LEXICON_SCHEMA = 'lexicon/v1';

/** The domain inputs and the general one (if named), checked. */
function inputsOf(ctx: StageContext<Params>): { domain: StageInputArtifact[]; general?: StageInputArtifact } {
  const p = ctx.params;
  const inputs = documentInputs(ctx, 'newwords');
  const general = p.general ? inputs.find((i) => i.stage === p.general) : undefined;
  if (p.general && !general) throw new ConfigError(`general: "${p.general}" is not among this stage's needs`);
  const domain = inputs.filter((i) => i !== general);
  if (!domain.length) throw new ConfigError('newwords needs at least one domain documents input besides the general one');
  return { domain, general };
}

/**
 * The partition count and scratch prefix: functions of the inputs and params, so every phase's plan (and the
 * reduce) finds the same ones.
 */
function layout(ctx: StageContext<Params>): { prefix: string; partitions: number; domain: StageInputArtifact[]; general?: StageInputArtifact } {
  const { domain, general } = inputsOf(ctx);
  const bytes = domain.reduce((n, i) => n + documentShards(i.manifest).reduce((m, f) => m + f.bytes, 0), 0);
  const partitions = ctx.params.partitions ?? Math.min(tuning.maxPartitions, Math.max(1, Math.ceil(bytes / tuning.bytesPerPartition)));
  return { prefix: scratchPrefix(ctx, 'newwords'), partitions, domain, general };
}

type Counted = [CountResult[]];
type Merged = [...Counted, MergeResult[]];
type Looked = [...Merged, LookupResult[]];
type Scored = [...Looked, ScoreResult[]];

const countPhase: FanoutPhase<Params, CountTask, CountResult, []> = {
  name: 'count',
  async plan(ctx) {
    const { prefix, partitions, domain, general } = layout(ctx);
    const tasks: CountTask[] = [];
    const add = (input: StageInputArtifact, role: CountTask['role']) => {
      for (const f of documentShards(input.manifest)) tasks.push({ prefix, shard: tasks.length, role, file: { key: f.key, name: f.name, records: f.records }, partitions });
    };
    for (const input of domain) add(input, 'domain');
    if (general) add(general, 'general');
    ctx.log(`newwords: ${tasks.length} shards, ${partitions} partitions`);
    return tasks;
  },
  map: (ctx, task) => countShard(ctx, task),
};

/**
 * Where the count phase wrote: its tasks' prefix and partition count. Later phases read them from the count
 * results, not from this run's context: a rerun that reuses finished count tasks from the ledger has its own
 * run id, so its own prefix.
 */
function written(ctx: StageContext<Params>, counted: CountResult[]): { prefix: string; partitions: number } {
  if (!counted.length) return layout(ctx);
  const { prefix, partitions } = counted[0];
  return { prefix, partitions };
}

const mergePhase: FanoutPhase<Params, MergeTask, MergeResult, Counted> = {
  name: 'merge',
  async plan(ctx, [shards]) {
    const { prefix, partitions } = written(ctx, shards);
    return Array.from({ length: partitions }, (_, p) => ({
      prefix,
      partition: p,
      partitions,
      domain: shards.filter((s) => s.role === 'domain').map((s) => [s.shard, s.offsets[p], s.offsets[p + 1]]),
      general: shards.filter((s) => s.role === 'general').map((s) => [s.shard, s.offsets[p], s.offsets[p + 1]]),
    }));
  },
  map: (ctx, task) => mergePartition(ctx, task),
};

const lookupPhase: FanoutPhase<Params, LookupTask, LookupResult, Merged> = {
  name: 'lookup',
  async plan(ctx, [counted, merged]) {
    const { prefix, partitions } = written(ctx, counted);
    const tasks: LookupTask[] = Array.from({ length: partitions }, (_, q) => ({ prefix, partition: q, inbox: [] }));
    for (const m of merged) for (const [q, ...ranges] of m.outbox) tasks[q].inbox.push([m.partition, ...ranges]);
    return tasks;
  },
  map: (ctx, task) => lookup(ctx, task),
};

function unitsOf(counted: CountResult[], role: CountResult['role']): Record<Lang, number> {
  const units = { zh: 0, en: 0 };
  for (const c of counted) {
    if (c.role !== role) continue;
    units.zh += c.units.zh;
    units.en += c.units.en;
  }
  return units;
}

const scorePhase: FanoutPhase<Params, ScoreTask, ScoreResult, Looked> = {
  name: 'score',
  async plan(ctx, [shards, merged, looked]) {
    const { prefix, partitions } = written(ctx, shards);
    const { general } = inputsOf(ctx);
    const units = unitsOf(shards, 'domain');
    const generalUnits = general ? unitsOf(shards, 'general') : null;
    const answers = new Map<string, [number, number]>();
    for (const l of looked) for (const [p, from, to] of l.answers) answers.set(`${l.partition}/${p}`, [from, to]);
    return Array.from({ length: partitions }, (_, p) => ({
      prefix,
      partition: p,
      units,
      generalUnits,
      parts: merged[p].outbox.filter(([, from, to]) => to > from).map(([q, from, to]) => [q, from, to, ...answers.get(`${q}/${p}`)!]),
    }));
  },
  map: (ctx, task) => score(ctx, task),
};

const rankPhase: FanoutPhase<Params, RankTask, RankResult, Scored> = {
  name: 'rank',
  async plan(ctx, [counted, , , scored]) {
    const { prefix } = written(ctx, counted);
    return [{ prefix, partitions: scored.filter((s) => s.entries > 0).map((s) => s.partition) }];
  },
  map: (ctx, task) => rank(ctx, task),
};

export const newwordsFanout: TypedFanout<Params, [[CountTask, CountResult], [MergeTask, MergeResult], [LookupTask, LookupResult], [ScoreTask, ScoreResult], [RankTask, RankResult]]> = {
  phases: [countPhase, mergePhase, lookupPhase, scorePhase, rankPhase],
  async reduce(ctx, [shards, , , scored, [r]]) {
    const { prefix } = written(ctx, shards);
    const dropped: Dropped = { cohesion: 0, freedom: 0, baseVocab: 0, dictionary: 0, ratio: 0 };
    let candidates = 0;
    for (const s of scored) {
      candidates += s.candidates;
      for (const k of Object.keys(dropped) as (keyof Dropped)[]) dropped[k] += s.dropped[k];
    }
    const domain = shards.filter((s) => s.role === 'domain');
    const documents = domain.reduce((n, s) => n + s.docs, 0);
    const read = domain.reduce((n, s) => n + s.read, 0);
    await ctx.store.removePrefix(prefix);
    ctx.log(`newwords: ${r.words} words from ${documents} documents${read > documents ? ` (a sample of ${read})` : ''}`);
    return {
      files: [r.file],
      schema: LEXICON_SCHEMA,
      metrics: { documents, units: unitsOf(shards, 'domain'), ...(inputsOf(ctx).general ? { generalUnits: unitsOf(shards, 'general') } : {}), candidates, dropped, words: r.words, newToJieba: r.newToJieba, top: r.top },
    };
  },
};

export const newwordsStage: StageImpl<Params> = {
  fanout: newwordsFanout,
  run: (ctx) => runPhasesInline(ctx, newwordsFanout),
  async fingerprint(p) {
    const stat = (f?: string) => (f && fs.existsSync(f) ? { f, size: fs.statSync(f).size, mtimeMs: fs.statSync(f).mtimeMs } : f);
    return [stat(p.baseVocab), stat(p.dictionary)];
  },
};
