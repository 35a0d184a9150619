/**
 * Which worker process runs or ran which fan-out task, read from Temporal itself: the pending activities of a
 * stage's batch child workflows, and the completion events in their histories.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { WorkerProcess } from '../../infra/worker-process';

export interface HeldTask {
  worker: WorkerProcess;
  workflowId: string;
  activityId: string;
}

/**
 * A started task of `stage`'s fan-out (in its batch child workflows) held by one of `workers`: the most recently
 * started one, which has the most work left, so it is still running when a kill lands. Tasks, not the stage's
 * plan/reduce activities on the run itself: those last milliseconds.
 */
export async function startedTaskOf(client: Client, runId: string, stage: string, workers: WorkerProcess[]): Promise<HeldTask | undefined> {
  let latest: (HeldTask & { startedMs: number }) | undefined;
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${runId}--${stage}--" AND ExecutionStatus = "Running"` })) {
    const desc = await client.workflow.getHandle(wf.workflowId).describe().catch(() => undefined);
    for (const pa of desc?.raw.pendingActivities ?? []) {
      if (pa.state !== temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED) continue;
      const worker = workers.find((w) => w.identity === pa.lastWorkerIdentity);
      const startedMs = Number(pa.lastStartedTime?.seconds ?? 0) * 1000 + Math.floor((pa.lastStartedTime?.nanos ?? 0) / 1e6);
      if (worker && (!latest || startedMs > latest.startedMs)) latest = { worker, workflowId: wf.workflowId, activityId: pa.activityId ?? '', startedMs };
    }
  }
  return latest;
}

export interface TaskCompletion {
  workflowId: string;
  activityId: string;
  attempt: number;
  identity: string;
  startedMs: number;
  completedMs: number;
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

/** Every completed activity of one workflow: the attempt and worker identity that completed it, and when. */
export async function completionsOf(client: Client, workflowId: string): Promise<TaskCompletion[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<string, string>(); // scheduled event id → activity id
  const started = new Map<string, { attempt: number; at: number }>(); // started event id → attempt, time
  const out: TaskCompletion[] = [];
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, e.activityTaskScheduledEventAttributes.activityId ?? '');
    if (e.activityTaskStartedEventAttributes) started.set(id, { attempt: e.activityTaskStartedEventAttributes.attempt ?? 0, at: ms(e.eventTime) });
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const s = started.get(String(done.startedEventId));
      out.push({
        workflowId,
        activityId: scheduled.get(String(done.scheduledEventId)) ?? '',
        attempt: s?.attempt ?? 0,
        identity: done.identity ?? '',
        startedMs: s?.at ?? 0,
        completedMs: ms(e.eventTime),
      });
    }
  }
  return out;
}

/** Every completed task of a stage's fan-out in one run (all its batch child workflows). */
export async function stageTaskCompletions(client: Client, runId: string, stage: string): Promise<TaskCompletion[]> {
  const out: TaskCompletion[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${runId}--${stage}--"` })) out.push(...(await completionsOf(client, wf.workflowId)));
  return out;
}
