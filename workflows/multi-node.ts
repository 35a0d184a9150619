/**
 * One stage attempt on several worker machines (resources.nodes = M): M activities, one per node, that meet at
 * torchrun's c10d rendezvous. Node 0 starts first, picks the rendezvous address on its machine and announces it
 * (nodeReadySignal); then nodes 1…M−1 start with that address in their input. The nodes fail together: when any
 * node fails (its worker killed, its trainer lost a peer, no worker took it within scheduleToStart), the others
 * are cancelled (their trainers get SIGTERM) and the group tries again as a whole, with a fresh rendezvous, up to
 * the stage's retry.maxAttempts with its backoff. Every node of a new try resumes from the last checkpoint stored.
 * Temporal's own retries are off for the node activities: a lone node retried on its own would wait at a
 * rendezvous nobody else comes to.
 */
import { ApplicationFailure, CancellationScope, condition, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { msToNumber } from '@temporalio/common/lib/time';
import type { DaptActivities } from '../activities/runtime';
import type { PlanStage } from '../schemas/plan';
import type { FanoutCall, NodeReport, NodeResult, StageDone, StageState } from '../schemas/run';
import { stageActivityOptions } from './activity-options';
import { describeFailure, scheduleToStartTimedOut } from './failures';

/**
 * How long the nodes wait for each other at the rendezvous: the time a later node may take to be started (the
 * stage's scheduleToStart, else 10 minutes) plus time to stage its inputs. A node that never starts is reported
 * by its scheduleToStart timeout first, which names it.
 */
const DEFAULT_START_S = 600;
const STAGING_S = 600;

export interface NodeGroup {
  st: PlanStage;
  s: StageState;
  call: FanoutCall;
  round: number;
  queue: string;
  /** Node reports received so far, per `<stage>/<group>`. */
  reports: Map<string, NodeReport[]>;
  now(): string;
}

export async function runOnNodes(g: NodeGroup): Promise<StageDone> {
  const { st, s, call, round } = g;
  const count = st.resources?.nodes ?? 1;
  const joinTimeoutS = (st.timeouts.scheduleToStart ? Math.ceil(msToNumber(st.timeouts.scheduleToStart as Duration) / 1000) : DEFAULT_START_S) + STAGING_S;
  const max = st.retry.maxAttempts;
  for (let attempt = 1; ; attempt++) {
    const group = `${call.runId}-${st.name}-r${round}-a${attempt}`;
    const reports = () => g.reports.get(`${st.name}/${group}`) ?? [];
    s.nodes = { count, attempt, group, arrived: [], since: g.now() };
    s.attempt = attempt;
    const node = (rank: number, address?: string) => {
      const opts = stageActivityOptions(st, g.queue, `${st.name}:node${rank}:${round}:${attempt}`);
      const acts = proxyActivities<DaptActivities>({ ...opts, retry: { ...opts.retry, maximumAttempts: 1 } });
      return acts.runStageNode({ ...call, node: { rank, count, attempt, group, joinTimeoutS, ...(address ? { address } : {}) } });
    };
    const runs: Promise<NodeResult>[] = [];
    const scope = new CancellationScope();
    try {
      const results = await scope.run(async () => {
        runs.push(node(0));
        const first = runs[0].then(() => undefined);
        await Promise.race([condition(() => reports().some((r) => r.rank === 0 && r.address)), first]);
        const address = reports().find((r) => r.rank === 0)?.address;
        if (!address) throw ApplicationFailure.nonRetryable(`node 0 of ${st.name} finished without announcing a rendezvous address`, 'NodeProtocolError');
        s.nodes = { ...s.nodes!, address };
        for (let rank = 1; rank < count; rank++) runs.push(node(rank, address));
        return Promise.all(runs);
      });
      const done = results.find((r) => r.done)?.done;
      if (!done) throw ApplicationFailure.nonRetryable(`no node of ${st.name} published the output (the trainer's rank 0 writes it)`, 'NodeProtocolError');
      s.error = undefined;
      return done;
    } catch (caught) {
      scope.cancel(); // the nodes still running: their trainers get SIGTERM, checkpoint, exit
      await Promise.allSettled(runs);
      if (CancellationScope.current().consideredCancelled) throw caught; // the run is cancelled or aborted
      // A node cancelled while the run is not (its worker shutting down) counts as a lost node: the group retries.
      const err = isCancellation(caught) ? ((await firstFailure(runs)) ?? caught) : caught;
      const nonRetryable = causes(err).some((e) => e instanceof ApplicationFailure && e.nonRetryable);
      const notStarted = scheduleToStartTimedOut(err);
      if (notStarted) {
        const missing = Array.from({ length: count }, (_, r) => r).filter((r) => !reports().some((x) => x.rank === r));
        throw ApplicationFailure.nonRetryable(
          `node(s) ${missing.join(', ')} of ${count} never started: no worker on queue ${g.queue} took them within ${st.timeouts.scheduleToStart} (timeout.scheduleToStart)`,
          'NodesNotStarted',
        );
      }
      if (nonRetryable || attempt >= max) throw err;
      s.error = `try ${attempt} of the ${count} nodes failed, retrying all from the last checkpoint: ${describeFailure(err)}`;
      await sleep(backoff(st, attempt));
    }
  }
}

/** The failure of a node that failed on its own (not because the group was cancelled after it). */
async function firstFailure(runs: Promise<NodeResult>[]): Promise<unknown> {
  for (const r of await Promise.allSettled(runs)) {
    if (r.status === 'rejected' && !isCancellation(r.reason)) return r.reason;
  }
  return undefined;
}

function causes(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

function backoff(st: PlanStage, attempt: number): number {
  const first = msToNumber(st.retry.initialInterval as Duration);
  const cap = msToNumber(st.retry.maxInterval as Duration);
  return Math.min(cap, first * st.retry.backoffCoefficient ** (attempt - 1));
}
