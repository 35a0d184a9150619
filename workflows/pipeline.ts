/**
 * The DAG interpreter: runs a compiled plan. Each stage starts as soon as all its needs have produced their
 * artifacts; independent stages run concurrently. A stage looks up the cache, then runs as one activity or
 * as a fan-out (plan → batches of tasks in child workflows → reduce) on its own task queue with its own retry
 * policy. A stage that exhausts its retries fails (its dependents are skipped, other branches finish) or
 * parks until someone signals retry, skip or abort. A stage with an approval gate runs in two steps: `proposeStage`
 * says whether there is anything to approve; if so the stage waits (state `waiting`) for an approve or reject
 * signal or its timeout, and `runStage` then gets the outcome. The wait is a durable timer in the history, so a
 * restarted worker resumes it; the outcome travels in the activity's input, so the run step is deterministic.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { DaptActivities } from '../activities/runtime';
import type { ArtifactRef } from '../schemas/manifest';
import type { PlanStage } from '../schemas/plan';
import type { ApprovalOutcome, FanoutCall, NodeReport, ParkDecision, RunInput, RunStatus, StageCall, StageDone, StageState } from '../schemas/run';
import { runViewOf } from '../schemas/run';
import { CONTROL_OPTIONS, stageActivityOptions } from './activity-options';
import { abortSignal, approveStageSignal, nodeReadySignal, rejectStageSignal, retryStageSignal, skipStageSignal, statusQuery } from './definitions';
import { describeFailure, failureAttempt, scheduleToStartTimedOut } from './failures';
import { fanoutBatchWorkflow } from './fanout';
import { runOnNodes } from './multi-node';

type Outcome = { ok: true; ref: ArtifactRef } | { ok: false };

const DEFAULT_BATCH = 200;
/** Phases with at most this many tasks run their tasks from the run's own workflow, not in a batch child. */
const INLINE_TASKS = 2;

export async function pipelineWorkflow(input: RunInput): Promise<RunStatus> {
  const { plan } = input;
  const info = workflowInfo();
  // Scheduled runs carry no run id: Temporal suffixes the schedule's workflow id with the start time.
  const runId = input.runId || info.workflowId.slice(plan.name.length + 1);
  const now = () => new Date().toISOString();
  const status: RunStatus = { pipeline: plan.name, runId, planHash: plan.hash, state: 'running', startedAt: now(), stages: {} };
  for (const name of Object.keys(plan.stages)) status.stages[name] = { state: 'pending', attempt: 0 };

  const decisions = new Map<string, ParkDecision>();
  let aborted: string | undefined;
  let main: CancellationScope | undefined;
  setHandler(statusQuery, () => status);
  const decide = (d: ParkDecision) => (stage: string) => {
    if (status.stages[stage]?.state === 'parked') decisions.set(stage, d);
  };
  setHandler(retryStageSignal, decide('retry'));
  setHandler(skipStageSignal, decide('skip'));
  const approvals = new Map<string, ApprovalOutcome>();
  const answer = (stage: string, outcome: Omit<ApprovalOutcome, 'at'>) => {
    if (status.stages[stage]?.state === 'waiting' && !approvals.has(stage)) approvals.set(stage, { ...outcome, at: now() });
  };
  setHandler(approveStageSignal, (stage, by) => answer(stage, { decision: 'approved', by }));
  setHandler(rejectStageSignal, (stage, by, reason) => answer(stage, { decision: 'rejected', by, reason }));
  const nodeReports = new Map<string, NodeReport[]>();
  setHandler(nodeReadySignal, (r) => {
    const key = `${r.stage}/${r.group}`;
    nodeReports.set(key, [...(nodeReports.get(key) ?? []), r]);
    const nodes = status.stages[r.stage]?.nodes;
    if (nodes?.group === r.group && !nodes.arrived.includes(r.rank)) nodes.arrived = [...nodes.arrived, r.rank].sort((a, b) => a - b);
  });
  setHandler(abortSignal, (reason) => {
    aborted = reason || 'aborted by user';
    main?.cancel();
  });

  // Cache lookups are short and run where the workflow runs: a local activity saves a task-queue round trip per stage.
  const control = proxyLocalActivities<DaptActivities>(CONTROL_OPTIONS);
  // After a scheduleToStart fallback the stage's activities (and fan-out tasks) go to its fallbackQueue.
  const queueOf = (st: PlanStage) => (input.queuePrefix ?? '') + (status.stages[st.name]?.fallback?.to ?? st.queue);

  async function fanout(st: PlanStage, s: StageState, call: FanoutCall, round: number): Promise<StageDone> {
    const acts = (what: string) => proxyActivities<DaptActivities>(stageActivityOptions(st, queueOf(st), `${st.name}:${what}:${round}`));
    const size = input.fanoutBatchSize ?? DEFAULT_BATCH;
    s.fanout = { total: 0, done: 0, reused: 0 };
    // The implementation knows its phases; each planFanout answers how many there are.
    for (let phase = 0, phases = 1; phase < phases; phase++) {
      const planned = await acts(`plan${phase}`).planFanout(call, phase);
      const { count, name } = planned;
      phases = planned.phases;
      s.fanout.total += count;
      if (count) s.fanout.phase = name; // the phase now running tasks (an empty phase runs none)
      if (count <= INLINE_TASKS && patched('inline-small-fanout-phase')) {
        // A phase of a task or two (a one-shard input, a single merge task) runs from here: a child workflow
        // would cost more than the task.
        const results = await Promise.all(Array.from({ length: count }, (_, i) => acts(`task:${phase}:${i}`).runFanoutTask(call, phase, i)));
        s.fanout.done += count;
        s.fanout.reused = (s.fanout.reused ?? 0) + results.filter((r) => r.reused).length;
        continue;
      }
      for (let from = 0, b = 0; from < count; from += size, b++) {
        const to = Math.min(count, from + size);
        const batch = await executeChild(fanoutBatchWorkflow, {
          workflowId: `${info.workflowId}--${st.name}--r${round}-p${phase}-b${b}`,
          taskQueue: info.taskQueue,
          args: [{ call, phase, from, to, concurrency: st.concurrency, activityQueue: queueOf(st), retry: st.retry, timeouts: st.timeouts }],
        });
        s.fanout.done += to - from;
        s.fanout.reused = (s.fanout.reused ?? 0) + batch.reused;
      }
    }
    return acts('reduce').reduceFanout(call);
  }

  /** The approval gate: undefined when the proposal needs no human (the run step decides alone). */
  async function approval(st: PlanStage, s: StageState, call: FanoutCall, round: number): Promise<ApprovalOutcome | undefined> {
    const gate = st.approval!;
    const proposal = await proxyActivities<DaptActivities>(stageActivityOptions(st, queueOf(st), `${st.name}:propose:${round}`)).proposeStage(call);
    if (!proposal.needsApproval) return undefined;
    const requestedAt = now();
    const deadline = new Date(Date.now() + msToNumber(gate.timeout as Duration)).toISOString();
    Object.assign(s, { state: 'waiting', message: `waiting for approval until ${deadline}: ${proposal.summary}`, approval: { requestedAt, deadline, summary: proposal.summary } });
    const answered = await condition(() => approvals.has(st.name), gate.timeout as Duration);
    const outcome: ApprovalOutcome = answered ? approvals.get(st.name)! : { decision: 'timeout', at: now() };
    approvals.delete(st.name);
    Object.assign(s, { state: 'running', message: undefined, approval: { ...s.approval!, outcome } });
    return outcome;
  }

  async function execute(name: string, inputs: ArtifactRef[]): Promise<Outcome> {
    const st = plan.stages[name];
    const s = status.stages[name];
    const call: StageCall = { pipeline: plan.name, runId, stage: st, inputs, noCache: !!input.noCache };
    let answered: ApprovalOutcome | undefined; // a retry of a parked gated stage does not ask again
    for (let round = 0; ; round++) {
      Object.assign(s, { state: 'running', startedAt: now(), endedAt: undefined, error: undefined });
      try {
        const prep = await control.prepareStage(call);
        s.cacheKey = prep.cacheKey;
        if (prep.hit) {
          Object.assign(s, { state: 'cached', digest: prep.hit.digest, endedAt: now() });
          return { ok: true, ref: prep.hit };
        }
        const fcall: FanoutCall = { ...call, cacheKey: prep.cacheKey };
        if (st.observesRun) fcall.run = runViewOf(plan, status); // what finished before it, as it is now
        if (st.approval) fcall.approval = answered ??= await approval(st, s, fcall, round);
        const done =
          st.mode === 'fanout'
            ? await fanout(st, s, fcall, round)
            : (st.resources?.nodes ?? 1) > 1
              ? await runOnNodes({ st, s, call: fcall, round, queue: queueOf(st), reports: nodeReports, now })
              : await proxyActivities<DaptActivities>(stageActivityOptions(st, queueOf(st), `${name}:run:${round}`)).runStage(fcall);
        Object.assign(s, { state: 'succeeded', attempt: done.attempt, digest: done.ref.digest, metrics: done.metrics, endedAt: now() });
        if (done.input) s.input = done.input;
        return { ok: true, ref: done.ref };
      } catch (err) {
        if (isCancellation(err)) {
          Object.assign(s, { state: 'cancelled', endedAt: now() });
          throw err;
        }
        if (st.fallbackQueue && !s.fallback && scheduleToStartTimedOut(err)) {
          const reason = `no worker on queue ${st.queue} started the stage within ${st.timeouts.scheduleToStart}`;
          s.fallback = { from: st.queue, to: st.fallbackQueue, reason, at: now() };
          continue; // the next round runs on the fallback queue
        }
        const error = scheduleToStartTimedOut(err)
          ? `no worker on queue ${s.fallback?.to ?? st.queue} started the stage within ${st.timeouts.scheduleToStart} (timeout.scheduleToStart)`
          : describeFailure(err);
        Object.assign(s, { attempt: failureAttempt(err) ?? s.attempt, error, endedAt: now() });
        if (st.onFailure !== 'park') {
          s.state = 'failed';
          return { ok: false };
        }
        s.state = 'parked';
        await condition(() => decisions.has(name));
        const d = decisions.get(name);
        decisions.delete(name);
        if (d === 'skip') {
          Object.assign(s, { state: 'skipped', reason: 'skipped by signal', endedAt: now() });
          return { ok: false };
        }
      }
    }
  }

  const outcomes = new Map<string, Promise<Outcome>>();
  const outcome = (name: string): Promise<Outcome> => {
    let p = outcomes.get(name);
    if (!p) {
      p = (async () => {
        const ups = await Promise.all(plan.stages[name].needs.map(outcome));
        const failedNeeds = plan.stages[name].needs.filter((_, i) => !ups[i].ok);
        if (failedNeeds.length) {
          Object.assign(status.stages[name], { state: 'skipped', reason: `needs did not succeed: ${failedNeeds.join(', ')}` });
          return { ok: false };
        }
        const inputs = ups.flatMap((u) => (u.ok && u.ref.kind !== 'none' ? [u.ref] : []));
        return execute(name, inputs);
      })();
      outcomes.set(name, p);
    }
    return p;
  };

  try {
    await CancellationScope.cancellable(async () => {
      main = CancellationScope.current();
      await Promise.all(Object.keys(plan.stages).map(outcome));
    });
  } catch (err) {
    if (!isCancellation(err)) throw err;
    status.endedAt = now();
    for (const s of Object.values(status.stages)) {
      if (s.state === 'pending' || s.state === 'running' || s.state === 'parked' || s.state === 'waiting') s.state = 'cancelled';
    }
    if (!aborted) {
      status.state = 'cancelled';
      throw err;
    }
    status.state = 'failed';
    throw ApplicationFailure.nonRetryable(`run ${runId} aborted: ${aborted}`, 'RunAborted', status);
  }

  status.endedAt = now();
  const failed = Object.entries(status.stages).filter(([, s]) => s.state === 'failed');
  if (failed.length) {
    status.state = 'failed';
    const summary = failed.map(([n, s]) => `stage "${n}" failed after ${s.attempt} attempt(s): ${s.error}`).join('; ');
    throw ApplicationFailure.nonRetryable(summary, 'PipelineFailed', status);
  }
  status.state = 'succeeded';
  return status;
}
