/** How a plan stage's retry policy and timeouts become Temporal activity options. */
import type { Duration } from '@temporalio/common';
import { ActivityCancellationType, type ActivityOptions, type LocalActivityOptions } from '@temporalio/workflow';
import { NON_RETRYABLE_TYPES } from '../activities/errors';
import type { PlanStage } from '../schemas/plan';

/** Plan durations are validated `ms`-style strings (schemas/common.ts). */
const d = (s: string) => s as Duration;

export function stageActivityOptions(
  st: Pick<PlanStage, 'retry' | 'timeouts'>,
  taskQueue: string,
  activityId?: string,
): ActivityOptions {
  return {
    taskQueue,
    activityId,
    startToCloseTimeout: d(st.timeouts.startToClose),
    heartbeatTimeout: d(st.timeouts.heartbeat),
    ...(st.timeouts.scheduleToStart ? { scheduleToStartTimeout: d(st.timeouts.scheduleToStart) } : {}),
    retry: {
      maximumAttempts: st.retry.maxAttempts,
      initialInterval: d(st.retry.initialInterval),
      backoffCoefficient: st.retry.backoffCoefficient,
      maximumInterval: d(st.retry.maxInterval),
      nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
    },
    // Wait for the attempt to acknowledge cancellation, so a trainer can checkpoint before the run ends.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
}

/** Engine bookkeeping (cache lookups): short local activities, patient with a store that is briefly down. */
export const CONTROL_OPTIONS: LocalActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 60 },
};
