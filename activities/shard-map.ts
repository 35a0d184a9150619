/**
 * Document stages as per-shard maps. A kind whose work on one input shard does not depend on the other shards
 * (extract, filter) — or a phase of a kind that composes a global step between per-shard phases (exact dedupe's
 * final filter) — declares a `shardPhase`: the engine fans it out over the input shards, one task per shard, on
 * as many workers as poll the stage's queue, and keeps each task's result in the ledger.
 *
 * What makes the output independent of the number of workers, the order in which tasks finish and crashes:
 * a task reads exactly one input shard and writes its own output shards, named after the input shard's index
 * (`shard-00003-00000.jsonl.gz`), through content-addressed blobs; the reduce lists them in input order. So
 * a rerun of a task after a SIGKILL writes the same bytes, and the manifest digest is the same.
 */
import type { ArtifactType } from '../schemas/common';
import type { ArtifactFileT, DocumentRecordT } from '../schemas/manifest';
import { ShardWriter, documentShards, readShard } from './documents';
import { checkInputKinds, documentRecords, recordsIn } from './stage-inputs';
import { runPhasesInline } from './inline-phases';
import type { FanoutPhase, StageContext, StageFanout, StageImpl, StageInputArtifact, StageOutput } from './stages/types';

/** One input shard: which input it belongs to and where its blob is. `index` orders the outputs. */
export interface ShardTask<X = undefined> {
  index: number;
  input: string;
  file: Pick<ArtifactFileT, 'key' | 'name' | 'bytes' | 'records'>;
  /** What earlier phases decided for this shard (exact dedupe: the positions to drop). */
  extra: X;
}

/** Where a shard map writes: its output records, and named side streams kept out of the artifact's files. */
export interface ShardSink<R> {
  write(rec: R): Promise<void>;
  side(name: string): { write(rec: R): Promise<void> };
}

/** A shard task's result in the ledger: its output shards, its side files by stream name, its stats. */
export interface ShardResult<S> {
  files: ArtifactFileT[];
  side: Record<string, ArtifactFileT[]>;
  stats: S;
}

const PROGRESS_EVERY = 1000;

/**
 * The documents inputs whose shards a stage maps, checked once for every kind: `reads` names the stage kind
 * in the error. `accept` narrows which inputs are mapped (dedupe's `against` input is only a reference).
 */
export function documentInputs(ctx: StageContext<unknown>, reads: string, accepted: readonly ArtifactType[] = ['documents']): StageInputArtifact[] {
  checkInputKinds(reads, ctx.inputs, accepted);
  return ctx.inputs.filter((i) => accepted.includes(i.manifest.kind as ArtifactType));
}

/** Record count of the inputs' document shards, as their manifests state it (for progress fractions). */
export function recordsOf(inputs: readonly StageInputArtifact[]): number {
  return inputs.reduce((n, i) => n + documentRecords(i.manifest), 0);
}

export interface ShardPhaseSpec<P, S, X, R = DocumentRecordT, Prev extends unknown[][] = unknown[][]> {
  name: string;
  /** The stage kind, for errors (`filter reads documents, but …`). */
  reads: string;
  /** The inputs whose shards are mapped, in output order (default: every input). */
  inputs?(ctx: StageContext<P>): StageInputArtifact[];
  /** Per-shard data decided by earlier phases; `previous[k][i]` is task i of phase k. */
  extra?(ctx: StageContext<P>, previous: Prev, shard: Omit<ShardTask, 'extra'>): X;
  /** Records per output shard: an input shard maps to one or more output shards. */
  shardSize(params: P): number;
  /** Transforms one shard: reads `docs`, writes to `out`, returns the shard's stats. */
  map(ctx: StageContext<P>, docs: AsyncIterable<DocumentRecordT>, out: ShardSink<R>, task: ShardTask<X>): Promise<S>;
}

/**
 * A fan-out phase with one task per input shard of documents, writing records of type R (documents, or pairs).
 * Its results are `ShardResult<S>`; `Prev` types the earlier phases' results that `extra` reads.
 */
export function shardPhase<P, S, X = undefined, R = DocumentRecordT, Prev extends unknown[][] = unknown[][]>(
  spec: ShardPhaseSpec<P, S, X, R, Prev>,
): FanoutPhase<P, ShardTask<X>, ShardResult<S>, Prev> {
  return {
    name: spec.name,
    async plan(ctx, previous) {
      const inputs = spec.inputs ? spec.inputs(ctx) : documentInputs(ctx as StageContext<unknown>, spec.reads);
      const tasks: ShardTask<X>[] = [];
      for (const input of inputs) {
        for (const f of documentShards(input.manifest)) {
          const shard = { index: tasks.length, input: input.stage, file: { key: f.key, name: f.name, bytes: f.bytes, records: f.records } };
          tasks.push({ ...shard, extra: (spec.extra ? spec.extra(ctx, previous, shard) : undefined) as X });
        }
      }
      return tasks;
    },
    map: (ctx, task) => mapShard(ctx, spec, task),
  };
}

async function mapShard<P, S, X, R, Prev extends unknown[][]>(ctx: StageContext<P>, spec: ShardPhaseSpec<P, S, X, R, Prev>, task: ShardTask<X>): Promise<ShardResult<S>> {
  const prefix = String(task.index).padStart(5, '0');
  const size = spec.shardSize(ctx.params);
  const main = new ShardWriter<R>(ctx.store, ctx.workDir, size, `shard-${prefix}`);
  const sides = new Map<string, ShardWriter<R>>();
  const sink: ShardSink<R> = {
    write: (rec) => main.write(rec),
    side(name) {
      let w = sides.get(name);
      if (!w) sides.set(name, (w = new ShardWriter<R>(ctx.store, ctx.workDir, size, `${name}-${prefix}`)));
      return w;
    },
  };
  const total = task.file.records;
  async function* docs(): AsyncGenerator<DocumentRecordT> {
    let n = 0;
    for await (const doc of readShard(ctx.store, task.file as ArtifactFileT)) {
      if (++n % PROGRESS_EVERY === 0) {
        ctx.signal.throwIfAborted();
        ctx.progress({ fraction: total ? Math.min(1, n / total) : undefined, message: `${spec.name} ${task.file.name}: ${n} documents` });
      }
      yield doc;
    }
  }
  const stats = await spec.map(ctx, docs(), sink, task);
  const side: Record<string, ArtifactFileT[]> = {};
  for (const [name, w] of [...sides].sort(([a], [b]) => a.localeCompare(b))) side[name] = await w.close();
  return { files: await main.close(), side, stats };
}

/** The output of shard results in input order: every output shard, each side stream's files, every stats object. */
export function gatherShards<S>(results: unknown[]): { files: ArtifactFileT[]; side: Record<string, ArtifactFileT[]>; stats: S[] } {
  const files: ArtifactFileT[] = [];
  const side: Record<string, ArtifactFileT[]> = {};
  const stats: S[] = [];
  for (const r of results as ShardResult<S>[]) {
    files.push(...r.files);
    for (const [name, f] of Object.entries(r.side)) (side[name] ??= []).push(...f);
    stats.push(r.stats);
  }
  return { files, side, stats };
}

/**
 * A stage that is one shard phase and a reduce of its stats into metrics. The same phases run inline (one
 * activity) where a caller invokes `run`, and as a fan-out where the engine plans it.
 */
export function shardMapStage<P, S>(
  spec: ShardPhaseSpec<P, S, undefined> & {
    schema: string;
    metrics(ctx: StageContext<P>, stats: S[], side: Record<string, ArtifactFileT[]>): Record<string, unknown>;
  },
): StageImpl<P> {
  const fanout: StageFanout<P> = {
    phases: [shardPhase(spec)],
    async reduce(ctx, [results]): Promise<StageOutput> {
      const { files, side, stats } = gatherShards<S>(results);
      return { files, schema: spec.schema, metrics: { ...spec.metrics(ctx, stats, side), documents: recordsIn(files) } };
    },
  };
  return { fanout, run: (ctx) => runPhasesInline(ctx, fanout) };
}

/** Adds up numeric fields (recursively through nested objects) of per-shard stats onto a copy of `zero`. */
export function sumStats<T extends object>(zero: T, stats: readonly T[]): T {
  const out = structuredClone(zero) as Record<string, unknown>;
  for (const s of stats) addInto(out, s as Record<string, unknown>);
  return out as T;
}

function addInto(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(from)) {
    if (typeof v === 'number') into[k] = ((into[k] as number | undefined) ?? 0) + v;
    else if (v && typeof v === 'object' && !Array.isArray(v)) addInto((into[k] ??= {}) as Record<string, unknown>, v as Record<string, unknown>);
  }
}
