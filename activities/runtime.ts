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
import type { FanoutCall, NodeCall, NodeResult, PreparedStage, Proposal, StageCall, StageDone } from '../schemas/run';
import { nodeReadySignal } from '../workflows/definitions';
import { stageCacheKey } from './cache-key';
import { isNonRetryable } from './errors';
import { stageKinds } from '../schemas/stages';
import { checkInputKinds, documentInput } from './stage-inputs';
import { stageImpls } from './stages';
import type { Progress, StageContext, StageFanout, StageImpl, StageOutput } from './stages/types';
import { keys, type ArtifactStore } from './store';
import { mapLimit } from './concurrency';
import type { GpuLease, GpuPool } from './gpus';
import { ConfigError } from './errors';
import { makeWorkDir, sweepDeadWorkDirs } from './work-dirs';

export interface ActivityDeps {
  store: ArtifactStore;
  /** Root for per-attempt scratch directories. */
  workRoot?: string;
  log?: (msg: string) => void;
  /** GPU workers: the pool each stage attempt leases its GPUs from (pinned through CUDA_VISIBLE_DEVICES). */
  gpus?: GpuPool;
}

export function createActivities(deps: ActivityDeps) {
  const workRoot = deps.workRoot ?? path.join(os.tmpdir(), 'dapt-work');
  const log = deps.log ?? ((m: string) => console.error(m));
  const swept = sweepDeadWorkDirs(workRoot);
  if (swept) log(`removed ${swept} work folder(s) of stopped workers under ${workRoot}`);
  const { store } = deps;

  // Fan-out task lists are immutable per cache key within a run (a later run may clear and replan a ledger whose
  // artifact was damaged): each worker reads a list once per run, not once per task.
  const taskLists = new Map<string, unknown[]>();
  const tasksOf = async (call: FanoutCall, phase: number): Promise<unknown[] | undefined> => {
    const key = keys.ledgerTasks(call.cacheKey, phase);
    const memo = `${call.runId}/${key}`;
    let tasks = taskLists.get(memo);
    if (!tasks) {
      tasks = await store.getJson<unknown[]>(key);
      if (tasks) taskLists.set(memo, tasks);
      if (taskLists.size > 64) taskLists.delete(taskLists.keys().next().value!);
    }
    return tasks;
  };

  const implOf = (call: StageCall): StageImpl<unknown> => stageImpls[call.stage.kind] as StageImpl<unknown>;

  async function prepareStage(call: StageCall): Promise<PreparedStage> {
    return guarded(async () => {
      const impl = implOf(call);
      const fingerprint = impl.fingerprint ? await impl.fingerprint(call.stage.params, { store, pipeline: call.pipeline }) : undefined;
      const cacheKey = stageCacheKey(call, fingerprint);
      if (!call.stage.cache || call.noCache) return { cacheKey };
      const digest = await store.getCacheEntry(cacheKey);
      const manifest = digest ? await store.readManifest(digest) : undefined;
      if (!manifest) return { cacheKey };
      // A hit counts only if every blob is still there with its recorded size and ETag: a deleted or rewritten blob is a miss.
      if (!(await store.verifyManifest(manifest))) {
        // The damaged artifact is recomputed whole: the fan-out ledger of this cache key names the same damaged
        // blobs (and scratch objects its reduce removed), so it goes too.
        await store.removePrefix(keys.ledgerPrefix(cacheKey));
        return { cacheKey };
      }
      await store.recordRunStage(call.pipeline, call.runId, { stage: call.stage.name, digest: manifest.digest, cached: true, cacheKey });
      return { cacheKey, hit: { stage: call.stage.name, digest: manifest.digest, kind: manifest.kind } };
    });
  }

  async function runStage(call: FanoutCall): Promise<StageDone> {
    return withContext(call, { gpus: true }, async (ctx) => {
      const impl = implOf(call);
      if (!impl.run) throw new Error(`stage kind ${call.stage.kind} cannot run as a single activity`);
      return publish(call, ctx.attempt, await impl.run(ctx), ctx.inputs);
    });
  }

  /**
   * One node of a stage attempt on several machines (workflows/multi-node.ts). The node whose trainer held rank 0
   * publishes the output; the others return without one. The group's try is the attempt the stage sees.
   */
  async function runStageNode(call: NodeCall): Promise<NodeResult> {
    return withContext(call, { gpus: true }, async (ctx) => {
      const impl = implOf(call);
      if (!impl.run || !stageKinds[call.stage.kind].multiNode) throw new ConfigError(`stage kind ${call.stage.kind} cannot run on several nodes`);
      const workflowId = Context.current().info.workflowExecution?.workflowId;
      if (!workflowId) throw new Error('a stage node runs inside a pipeline workflow, which it tells where the rendezvous is');
      const announce = async (address?: string) => {
        const report = { stage: call.stage.name, group: call.node.group, rank: call.node.rank, ...(address ? { address } : {}) };
        await Context.current().client.workflow.getHandle(workflowId).signal(nodeReadySignal, report);
      };
      ctx.node = { ...call.node, announce };
      const out = await impl.run(ctx);
      return out.nodeOnly ? {} : { done: await publish(call, ctx.attempt, out, ctx.inputs) };
    });
  }

  /** A gated stage's first step: is there anything to ask a human about? */
  async function proposeStage(call: FanoutCall): Promise<Proposal> {
    return withContext(call, {}, async (ctx) => {
      const impl = implOf(call);
      if (!impl.propose) throw new Error(`stage kind ${call.stage.kind} has no approval step`);
      return impl.propose(ctx);
    });
  }

  /** Fan-out, each phase: list its tasks once per cache key; a retry of the stage reuses the stored list. */
  async function planFanout(call: FanoutCall, phase = 0): Promise<{ count: number; name: string; phases: number }> {
    return withContext(call, {}, async (ctx) => {
      const { phases } = fanoutOf(call);
      const spec = phases[phase];
      if (!spec) throw new Error(`stage kind ${call.stage.kind} has no fan-out phase ${phase}`);
      const stored = await store.getJson<unknown[]>(keys.ledgerTasks(call.cacheKey, phase));
      if (stored) return { count: stored.length, name: spec.name, phases: phases.length };
      const previous = [];
      for (let p = 0; p < phase; p++) previous.push(await phaseResults(call, p));
      const tasks = await spec.plan(ctx, previous);
      await store.putJson(keys.ledgerTasks(call.cacheKey, phase), tasks);
      return { count: tasks.length, name: spec.name, phases: phases.length };
    });
  }

  /** One task; a task whose ledger entry exists already finished in an earlier attempt or run. */
  async function runFanoutTask(call: FanoutCall, phase: number, index: number): Promise<{ reused: boolean }> {
    return withContext(call, { gpus: true }, async (ctx) => {
      const key = keys.ledgerShard(call.cacheKey, phase, index);
      if ((await store.statSize(key)) !== undefined) return { reused: true };
      const tasks = await tasksOf(call, phase);
      if (!tasks || index >= tasks.length) throw new Error(`ledger of ${call.stage.name} has no task ${index} in phase ${phase}`);
      const result = await fanoutOf(call).phases[phase].map(ctx, tasks[index], index);
      await store.putJson(key, { result });
      return { reused: false };
    });
  }

  /** Last step: gather every phase's results in order and publish the stage output. */
  async function reduceFanout(call: FanoutCall): Promise<StageDone> {
    return withContext(call, {}, async (ctx) => {
      const results = [];
      for (let p = 0; p < fanoutOf(call).phases.length; p++) results.push(await phaseResults(call, p));
      return publish(call, ctx.attempt, await fanoutOf(call).reduce(ctx, results), ctx.inputs);
    });
  }

  async function phaseResults(call: FanoutCall, phase: number): Promise<unknown[]> {
    const tasks = await tasksOf(call, phase);
    if (!tasks) throw new Error(`ledger of ${call.stage.name} has no task list for phase ${phase}`);
    return mapLimit(tasks.length, 32, async (i) => {
      const entry = await store.getJson<{ result: unknown }>(keys.ledgerShard(call.cacheKey, phase, i));
      if (!entry) throw new Error(`ledger of ${call.stage.name} is missing task ${i} of phase ${phase}`);
      return entry.result;
    });
  }

  function fanoutOf(call: StageCall): StageFanout<unknown> {
    const f = implOf(call).fanout;
    if (!f) throw new Error(`stage kind ${call.stage.kind} cannot fan out`);
    return typeof f === 'function' ? f(call.stage.params) : f;
  }

  async function publish(call: FanoutCall, attempt: number, out: StageOutput, inputs: StageContext<unknown>['inputs']): Promise<StageDone> {
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
    const input = documentInput(inputs);
    return { ref: { stage: call.stage.name, digest: manifest.digest, kind: manifest.kind }, attempt, metrics: out.metrics ?? {}, ...(input ? { input } : {}) };
  }

  /** Builds the StageContext, keeps the activity heartbeating, cleans up, and classifies errors. */
  async function withContext<T>(call: FanoutCall, opts: { gpus?: boolean }, body: (ctx: StageContext<unknown>) => Promise<T>): Promise<T> {
    const actx = Context.current();
    const { heartbeatDetails, heartbeatTimeoutMs } = actx.info;
    // The nodes of a multi-node attempt each run once (Temporal's retries are off); the group's try is the attempt.
    const attempt = (call as Partial<NodeCall>).node?.attempt ?? actx.info.attempt;
    const workDir = makeWorkDir(workRoot, call.stage.name);
    let last: Progress = (heartbeatDetails as Progress | undefined) ?? {};
    const beat = () => actx.heartbeat(last);
    // Heartbeat even when the stage is silent: it is how cancellation reaches a running attempt.
    const timer = setInterval(beat, Math.max(200, Math.min(5000, (heartbeatTimeoutMs || 30_000) / 3)));
    beat();
    let lease: GpuLease | undefined;
    try {
      const inputs = await Promise.all(call.inputs.map(async (ref) => ({ stage: ref.stage, manifest: await mustManifest(ref.digest) })));
      checkInputKinds(call.stage.kind, inputs, stageKinds[call.stage.kind].accepts);
      const ctx: StageContext<unknown> = {
        pipeline: call.pipeline,
        run: call.runId,
        stage: call.stage.name,
        attempt,
        cacheKey: call.cacheKey,
        params: call.stage.params,
        ...(call.run ? { runView: call.run } : {}),
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
        approval: call.approval,
      };
      return await guarded(async () => {
        if (opts.gpus) lease = await leaseGpus(call, ctx);
        return body(ctx);
      }, attempt);
    } finally {
      lease?.release();
      clearInterval(timer);
      fs.rmSync(workDir, { recursive: true, force: true });
    }
  }

  /**
   * On a GPU worker: whole GPUs for this attempt (resources.gpu, default 1), waited for while heartbeating; the
   * stage sees them as ctx.gpus and the trainer runs with CUDA_VISIBLE_DEVICES set to exactly these.
   */
  async function leaseGpus(call: FanoutCall, ctx: StageContext<unknown>): Promise<GpuLease | undefined> {
    const pool = deps.gpus;
    const n = call.stage.resources?.gpu ?? 1;
    if (!pool || pool.total === 0 || n === 0) return undefined; // no GPU here: the stage runs on CPU
    if (n > pool.total) throw new ConfigError(`stage ${call.stage.name} needs ${n} GPU(s); the workers of its queue have ${pool.total}`);
    if (pool.total - pool.leased < n) ctx.progress({ message: `waiting for ${n} free GPU(s)` });
    const lease = await pool.acquire(n, ctx.signal);
    ctx.gpus = lease.ids;
    ctx.log(`pinned to GPU ${lease.ids.join(',')}`);
    ctx.progress({ message: `on GPU ${lease.ids.join(',')}` }); // until the stage reports progress of its own
    return lease;
  }

  async function mustManifest(digest: string): Promise<ManifestT> {
    const m = await store.readManifest(digest);
    if (!m) throw new Error(`input artifact ${digest} has no manifest in the store`);
    return m;
  }

  return { prepareStage, runStage, runStageNode, proposeStage, planFanout, runFanoutTask, reduceFanout };
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


