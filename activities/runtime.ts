/**
 * The activities every worker registers, built by a factory that receives its clients (so tests pass real
 * ones explicitly). They turn a stage call into a StageContext, run the stage implementation, publish the
 * outputs (blobs, then the manifest, then the cache entry) and map errors onto retryable or not.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ManifestT } from '../schemas/manifest';
import type { FanoutCall, PreparedStage, StageCall, StageDone } from '../schemas/run';
import { stageCacheKey } from './cache-key';
import { isNonRetryable } from './errors';
import { stageImpls } from './stages';
import type { Progress, StageContext, StageImpl, StageOutput } from './stages/types';
import { keys, type ArtifactStore } from './store';

export interface ActivityDeps {
  store: ArtifactStore;
  /** Root for per-attempt scratch directories. */
  workRoot?: string;
  log?: (msg: string) => void;
}

export function createActivities(deps: ActivityDeps) {
  const workRoot = deps.workRoot ?? path.join(os.tmpdir(), 'dapt-work');
  const log = deps.log ?? ((m: string) => console.error(m));
  const { store } = deps;

  // Fan-out task lists are immutable per cache key: each worker reads a list once, not once per task.
  const taskLists = new Map<string, unknown[]>();
  const tasksOf = async (cacheKey: string): Promise<unknown[] | undefined> => {
    let tasks = taskLists.get(cacheKey);
    if (!tasks) {
      tasks = await store.getJson<unknown[]>(keys.ledgerTasks(cacheKey));
      if (tasks) taskLists.set(cacheKey, tasks);
      if (taskLists.size > 64) taskLists.delete(taskLists.keys().next().value!);
    }
    return tasks;
  };

  const implOf = (call: StageCall): StageImpl<unknown> => stageImpls[call.stage.kind] as StageImpl<unknown>;

  async function prepareStage(call: StageCall): Promise<PreparedStage> {
    return guarded(async () => {
      const impl = implOf(call);
      const cacheKey = stageCacheKey(call, impl.fingerprint ? await impl.fingerprint(call.stage.params) : undefined);
      if (!call.stage.cache || call.noCache) return { cacheKey };
      const digest = await store.getCacheEntry(cacheKey);
      const manifest = digest ? await store.readManifest(digest) : undefined;
      // A hit counts only if every blob is still there with its recorded size: a deleted artifact is a miss.
      if (!manifest || !(await store.verifyManifest(manifest))) return { cacheKey };
      await store.recordRunStage(call.pipeline, call.runId, { stage: call.stage.name, digest: manifest.digest, cached: true, cacheKey });
      return { cacheKey, hit: { stage: call.stage.name, digest: manifest.digest, kind: manifest.kind } };
    });
  }

  async function runStage(call: FanoutCall): Promise<StageDone> {
    return withContext(call, async (ctx) => {
      const impl = implOf(call);
      if (!impl.run) throw new Error(`stage kind ${call.stage.kind} cannot run as a single activity`);
      return publish(call, ctx.attempt, await impl.run(ctx));
    });
  }

  /** Fan-out step 1: list the tasks once per cache key; a retry of the stage reuses the stored list. */
  async function planFanout(call: FanoutCall): Promise<{ count: number }> {
    return withContext(call, async (ctx) => {
      const stored = await store.getJson<unknown[]>(keys.ledgerTasks(call.cacheKey));
      if (stored) return { count: stored.length };
      const tasks = await fanoutOf(call).plan(ctx);
      await store.putJson(keys.ledgerTasks(call.cacheKey), tasks);
      return { count: tasks.length };
    });
  }

  /** Fan-out step 2: one task; a task whose ledger entry exists already finished in an earlier attempt or run. */
  async function runFanoutTask(call: FanoutCall, index: number): Promise<{ reused: boolean }> {
    return withContext(call, async (ctx) => {
      const key = keys.ledgerShard(call.cacheKey, index);
      if ((await store.statSize(key)) !== undefined) return { reused: true };
      const tasks = await tasksOf(call.cacheKey);
      if (!tasks || index >= tasks.length) throw new Error(`ledger of ${call.stage.name} has no task ${index}`);
      const result = await fanoutOf(call).map(ctx, tasks[index], index);
      await store.putJson(key, { result });
      return { reused: false };
    });
  }

  /** Fan-out step 3: gather every task's result in order and publish the stage output. */
  async function reduceFanout(call: FanoutCall, count: number): Promise<StageDone> {
    return withContext(call, async (ctx) => {
      const results = await mapLimit(count, 32, async (i) => {
        const entry = await store.getJson<{ result: unknown }>(keys.ledgerShard(call.cacheKey, i));
        if (!entry) throw new Error(`ledger of ${call.stage.name} is missing task ${i}`);
        return entry.result;
      });
      return publish(call, ctx.attempt, await fanoutOf(call).reduce(ctx, results));
    });
  }

  function fanoutOf(call: StageCall): NonNullable<StageImpl<unknown>['fanout']> {
    const f = implOf(call).fanout;
    if (!f) throw new Error(`stage kind ${call.stage.kind} cannot fan out`);
    return f;
  }

  async function publish(call: FanoutCall, attempt: number, out: StageOutput): Promise<StageDone> {
    const manifest = await store.writeManifest({
      kind: call.stage.produces,
      schema: out.schema,
      files: out.files,
      producer: {
        pipeline: call.pipeline,
        run: call.runId,
        stage: call.stage.name,
        stageKind: call.stage.kind,
        attempt,
        cacheKey: call.cacheKey,
        createdAt: new Date().toISOString(),
      },
      parents: call.inputs.map((i) => ({ stage: i.stage, digest: i.digest })),
      metrics: out.metrics ?? {},
    });
    if (call.stage.cache) await store.putCacheEntry(call.cacheKey, manifest.digest);
    await store.recordRunStage(call.pipeline, call.runId, {
      stage: call.stage.name,
      digest: manifest.digest,
      cached: false,
      cacheKey: call.cacheKey,
    });
    return { ref: { stage: call.stage.name, digest: manifest.digest, kind: manifest.kind }, attempt, metrics: out.metrics ?? {} };
  }

  /** Builds the StageContext, keeps the activity heartbeating, cleans up, and classifies errors. */
  async function withContext<T>(call: StageCall, body: (ctx: StageContext<unknown>) => Promise<T>): Promise<T> {
    const actx = Context.current();
    const { attempt, heartbeatDetails, heartbeatTimeoutMs } = actx.info;
    const workDir = fs.mkdtempSync(path.join(ensureDir(workRoot), `${call.stage.name}-`));
    let last: Progress = (heartbeatDetails as Progress | undefined) ?? {};
    const beat = () => actx.heartbeat(last);
    // Heartbeat even when the stage is silent: it is how cancellation reaches a running attempt.
    const timer = setInterval(beat, Math.max(200, Math.min(5000, (heartbeatTimeoutMs || 30_000) / 3)));
    beat();
    try {
      const inputs = await Promise.all(call.inputs.map(async (ref) => ({ stage: ref.stage, manifest: await mustManifest(ref.digest) })));
      const ctx: StageContext<unknown> = {
        pipeline: call.pipeline,
        run: call.runId,
        stage: call.stage.name,
        attempt,
        params: call.stage.params,
        inputs,
        store,
        workDir,
        signal: actx.cancellationSignal,
        progress: (p) => {
          last = { ...last, ...p };
          beat();
        },
        resumeFrom: <C>() => (heartbeatDetails as Progress | undefined)?.checkpoint as C | undefined,
        log: (m) => log(`[${call.pipeline}/${call.runId}/${call.stage.name}#${attempt}] ${m}`),
      };
      return await guarded(() => body(ctx), attempt);
    } finally {
      clearInterval(timer);
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }

  async function mustManifest(digest: string): Promise<ManifestT> {
    const m = await store.readManifest(digest);
    if (!m) throw new Error(`input artifact ${digest} has no manifest in the store`);
    return m;
  }

  return { prepareStage, runStage, planFanout, runFanoutTask, reduceFanout };
}

export type DaptActivities = ReturnType<typeof createActivities>;

/** Maps dapt errors onto Temporal failures: non-retryable ones stop the retries; the attempt travels along. */
async function guarded<T>(f: () => Promise<T>, attempt = 1): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ApplicationFailure) throw e;
    const err = e instanceof Error ? e : new Error(String(e));
    if (Context.current().cancellationSignal.aborted) throw err; // let the SDK report the cancellation
    throw ApplicationFailure.create({
      message: err.message,
      type: err.name,
      nonRetryable: isNonRetryable(err),
      details: [{ attempt }],
    });
  }
}

/** f(0..n-1) with at most `limit` calls in flight, results in index order. */
async function mapLimit<T>(n: number, limit: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await f(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
  return out;
}

function ensureDir(d: string): string {
  fs.mkdirSync(d, { recursive: true });
  return d;
}
