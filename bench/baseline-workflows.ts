/**
 * The benchmark's baseline: minimal hand-written Temporal workflows that make the same activity calls as
 * dapt's interpreter (same activities, same payloads, same activity options and queues) with none of its
 * machinery: no status bookkeeping, no park/retry handling, no cancellation scope, no child workflows.
 * Bundled on its own (bench/baseline.ts); deterministic code only, like workflows/.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { DaptActivities } from '../activities/runtime';
import type { ArtifactRef } from '../schemas/manifest';
import type { PlanStage } from '../schemas/plan';
import type { FanoutCall, StageCall } from '../schemas/run';
import { CONTROL_OPTIONS, stageActivityOptions } from '../workflows/activity-options';

export interface BaselineQueues {
  /** Where prepareStage runs (dapt: the workflow queue). */
  control: string;
  /** Where the stage's own activities run (dapt: queuePrefix + stage.queue). */
  stage: string;
}

export interface BaselineDagInput {
  pipeline: string;
  runId: string;
  /** The plan's stages grouped by level (plan.levels); every need of a stage is in an earlier level. */
  levels: PlanStage[][];
  queues: BaselineQueues;
  /**
   * Diagnostic variant (`--explain`): cache keys computed up front by the caller, so stages skip prepareStage
   * and make one activity call each. Only valid where the keys do not depend on upstream outputs.
   */
  cacheKeys?: Record<string, string>;
}

export interface BaselineFanoutInput {
  pipeline: string;
  runId: string;
  stage: PlanStage;
  queues: BaselineQueues;
}

export interface BaselineFanoutResult {
  count: number;
  reused: number;
  metrics: Record<string, unknown>;
}

/** Per level: all its stages at once, each prepareStage then runStage; then the next level. */
export async function baselineDagWorkflow(input: BaselineDagInput): Promise<{ stages: number }> {
  const control = proxyActivities<DaptActivities>({ ...CONTROL_OPTIONS, taskQueue: input.queues.control });
  const refs = new Map<string, ArtifactRef>();
  let stages = 0;
  for (const level of input.levels) {
    const done = await Promise.all(
      level.map(async (stage): Promise<ArtifactRef> => {
        // The same inputs dapt passes: the needs' refs in needs order, artifacts of kind "none" left out.
        const inputs = stage.needs.map((n) => refs.get(n)).filter((r): r is ArtifactRef => !!r && r.kind !== 'none');
        const call: StageCall = { pipeline: input.pipeline, runId: input.runId, stage, inputs, noCache: false };
        let cacheKey = input.cacheKeys?.[stage.name];
        if (cacheKey === undefined) {
          const prep = await control.prepareStage(call);
          if (prep.hit) return prep.hit;
          cacheKey = prep.cacheKey;
        }
        const acts = proxyActivities<DaptActivities>(stageActivityOptions(stage, input.queues.stage, `${stage.name}:run:0`));
        const { ref } = await acts.runStage({ ...call, cacheKey });
        return ref;
      }),
    );
    done.forEach((ref) => refs.set(ref.stage, ref));
    stages += done.length;
  }
  return { stages };
}

/** prepareStage; per phase, planFanout and every task through a sliding window of stage.concurrency; reduceFanout. */
export async function baselineFanoutWorkflow(input: BaselineFanoutInput): Promise<BaselineFanoutResult> {
  const { stage } = input;
  const control = proxyActivities<DaptActivities>({ ...CONTROL_OPTIONS, taskQueue: input.queues.control });
  const call: StageCall = { pipeline: input.pipeline, runId: input.runId, stage, inputs: [], noCache: false };
  const prep = await control.prepareStage(call);
  const fcall: FanoutCall = { ...call, cacheKey: prep.cacheKey };
  const acts = (what: string) => proxyActivities<DaptActivities>(stageActivityOptions(stage, input.queues.stage, `${stage.name}:${what}`));

  // Every phase the stage kind has, in order, as dapt's interpreter does: each planFanout stores that phase's task
  // list in the ledger (planned from the earlier phases' results) and answers how many phases there are;
  // reduceFanout reads every phase's list, so a phase with no tasks must still be planned.
  let count = 0;
  let reused = 0;
  for (let phase = 0, phases = 1; phase < phases; phase++) {
    const planned = await acts(`plan:${phase}`).planFanout(fcall, phase);
    phases = planned.phases;
    count += planned.count;
    const inflight = new Set<Promise<void>>();
    for (let next = 0; next < planned.count || inflight.size; ) {
      while (inflight.size < stage.concurrency && next < planned.count) {
        const i = next++;
        const p: Promise<void> = acts(`task:${phase}:${i}`)
          .runFanoutTask(fcall, phase, i)
          .then((r) => {
            if (r.reused) reused++;
          })
          .finally(() => inflight.delete(p));
        inflight.add(p);
      }
      await Promise.race(inflight);
    }
  }
  const done = await acts('reduce:0').reduceFanout(fcall);
  return { count, reused, metrics: done.metrics };
}
