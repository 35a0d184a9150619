/**
 * One batch of a fan-out stage as a child workflow: a sliding window of task activities. Batching keeps each
 * workflow history small (a few events per task), so fan-outs of thousands of tasks stay far below
 * Temporal's history limits.
 */
import { proxyActivities, setHandler } from '@temporalio/workflow';
import type { DaptActivities } from '../activities/runtime';
import type { FanoutBatchInput } from '../schemas/run';
import { stageActivityOptions } from './activity-options';
import { batchProgressQuery } from './definitions';

export async function fanoutBatchWorkflow(input: FanoutBatchInput): Promise<{ done: number; reused: number }> {
  const { call, from, to } = input;
  let done = 0;
  let reused = 0;
  setHandler(batchProgressQuery, () => ({ done, total: to - from }));

  const runTask = async (i: number): Promise<void> => {
    const acts = proxyActivities<DaptActivities>(
      stageActivityOptions(input, input.activityQueue, `${call.stage.name}:task:${input.phase}:${i}`),
    );
    const r = await acts.runFanoutTask(call, input.phase, i);
    done++;
    if (r.reused) reused++;
  };

  const inflight = new Set<Promise<void>>();
  let next = from;
  while (next < to || inflight.size) {
    while (inflight.size < input.concurrency && next < to) {
      const p: Promise<void> = runTask(next++).finally(() => inflight.delete(p));
      inflight.add(p);
    }
    await Promise.race(inflight);
  }
  return { done, reused };
}
