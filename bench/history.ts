/**
 * Where a run's time goes, read from Temporal's own histories (the run's workflow and its child workflows):
 * how many events and workflow tasks it took, and for every activity how long it waited in the queue, ran,
 * and how long the workflow took to schedule it after the previous activity finished ("react").
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import { tsToMs } from '@temporalio/common';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/** "ActivityTaskScheduled" for an event carrying activityTaskScheduledEventAttributes, and so on. */
function eventKind(e: HistoryEvent): string {
  for (const [k, v] of Object.entries(e)) {
    if (v && k.endsWith('EventAttributes')) return k[0].toUpperCase() + k.slice(1, -'EventAttributes'.length);
  }
  return 'Unknown';
}

const num = (x: unknown): number => Number(x ?? 0);

interface ActivityTiming {
  type: string;
  scheduled: number;
  started?: number;
  completed?: number;
  /** ms from the latest earlier activity completion (or the workflow start) to this activity's scheduling. */
  react: number;
}

interface WorkflowTaskTiming {
  scheduled: number;
  started?: number;
  completed?: number;
}

interface ChildTiming {
  initiated: number;
  started?: number;
  completed?: number;
}

/** One child workflow's own view: when it began, scheduled its first and last activity, and ended. */
interface ChildSpan {
  first: number;
  firstScheduled: number;
  lastScheduled: number;
  last: number;
}

export interface Trace {
  histories: number;
  events: number;
  eventKinds: Record<string, number>;
  workflowTasks: WorkflowTaskTiming[];
  activities: ActivityTiming[];
  children: ChildTiming[];
  childSpans: ChildSpan[];
  /** Sum over histories of (last event − first event). */
  spanMs: number;
}

/** The run's workflow and, recursively, every child workflow it started. */
export async function traceRun(client: Client, workflowId: string): Promise<Trace> {
  const trace: Trace = { histories: 0, events: 0, eventKinds: {}, workflowTasks: [], activities: [], children: [], childSpans: [], spanMs: 0 };
  const pending = [workflowId];
  while (pending.length) {
    const id = pending.shift()!;
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    trace.histories++;
    trace.events += events.length;
    const byId = new Map<number, ActivityTiming | WorkflowTaskTiming | ChildTiming>();
    let lastDone = events.length ? tsToMs(events[0].eventTime) : 0;
    for (const e of events) {
      const kind = eventKind(e);
      const t = tsToMs(e.eventTime);
      trace.eventKinds[kind] = (trace.eventKinds[kind] ?? 0) + 1;
      switch (kind) {
        case 'WorkflowTaskScheduled': {
          const w: WorkflowTaskTiming = { scheduled: t };
          byId.set(num(e.eventId), w);
          trace.workflowTasks.push(w);
          break;
        }
        case 'WorkflowTaskStarted':
          (byId.get(num(e.workflowTaskStartedEventAttributes?.scheduledEventId)) as WorkflowTaskTiming).started = t;
          break;
        case 'WorkflowTaskCompleted':
          (byId.get(num(e.workflowTaskCompletedEventAttributes?.scheduledEventId)) as WorkflowTaskTiming).completed = t;
          break;
        case 'ActivityTaskScheduled': {
          const a: ActivityTiming = { type: e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?', scheduled: t, react: t - lastDone };
          byId.set(num(e.eventId), a);
          trace.activities.push(a);
          break;
        }
        case 'ActivityTaskStarted':
          (byId.get(num(e.activityTaskStartedEventAttributes?.scheduledEventId)) as ActivityTiming).started = t;
          break;
        case 'ActivityTaskCompleted':
          (byId.get(num(e.activityTaskCompletedEventAttributes?.scheduledEventId)) as ActivityTiming).completed = t;
          lastDone = t;
          break;
        case 'StartChildWorkflowExecutionInitiated': {
          const c: ChildTiming = { initiated: t };
          byId.set(num(e.eventId), c);
          trace.children.push(c);
          break;
        }
        case 'ChildWorkflowExecutionStarted': {
          const a = e.childWorkflowExecutionStartedEventAttributes;
          (byId.get(num(a?.initiatedEventId)) as ChildTiming).started = t;
          if (a?.workflowExecution?.workflowId) pending.push(a.workflowExecution.workflowId);
          break;
        }
        case 'ChildWorkflowExecutionCompleted':
          (byId.get(num(e.childWorkflowExecutionCompletedEventAttributes?.initiatedEventId)) as ChildTiming).completed = t;
          lastDone = t;
          break;
      }
    }
    if (!events.length) continue;
    const [first, last] = [tsToMs(events[0].eventTime), tsToMs(events[events.length - 1].eventTime)];
    trace.spanMs += last - first;
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => tsToMs(e.eventTime));
    if (id !== workflowId && scheduled.length) {
      trace.childSpans.push({ first, firstScheduled: scheduled[0], lastScheduled: scheduled[scheduled.length - 1], last });
    }
  }
  return trace;
}

export function median(xs: number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export interface TraceSummary {
  histories: number;
  events: number;
  workflowTasks: number;
  /** Median ms from WorkflowTaskScheduled to WorkflowTaskCompleted. */
  wftMedianMs: number;
  activities: number;
  /** Per activity type: count and median queue (scheduled→started), exec (started→completed), react ms. */
  byType: Record<string, { n: number; queue: number; exec: number; react: number }>;
  /**
   * Child workflows, median ms: initiated→started and started→completed as the parent sees them; lead (child
   * start → its first activity scheduled); tail (its last activity scheduled → its end: the window drains);
   * gap (a child completed → the parent initiated the next one).
   */
  children: { n: number; startMs: number; runMs: number; leadMs: number; tailMs: number; gapMs: number };
  /** Activities in flight on average (queued or running) over the run's wall time. */
  meanInFlight: number;
}

export function summarize(t: Trace, wallMs: number): TraceSummary {
  const byType: TraceSummary['byType'] = {};
  for (const type of [...new Set(t.activities.map((a) => a.type))]) {
    const as = t.activities.filter((a) => a.type === type);
    byType[type] = {
      n: as.length,
      queue: median(as.map((a) => (a.started ?? a.scheduled) - a.scheduled)),
      exec: median(as.map((a) => (a.completed ?? a.started ?? a.scheduled) - (a.started ?? a.scheduled))),
      react: median(as.map((a) => a.react)),
    };
  }
  const busy = sum(t.activities.map((a) => (a.completed ?? a.scheduled) - a.scheduled));
  return {
    histories: t.histories,
    events: t.events,
    workflowTasks: t.workflowTasks.length,
    wftMedianMs: median(t.workflowTasks.map((w) => (w.completed ?? w.scheduled) - w.scheduled)),
    activities: t.activities.length,
    byType,
    children: {
      n: t.children.length,
      startMs: median(t.children.map((c) => (c.started ?? c.initiated) - c.initiated)),
      runMs: median(t.children.map((c) => (c.completed ?? c.initiated) - (c.started ?? c.initiated))),
      leadMs: median(t.childSpans.map((c) => c.firstScheduled - c.first)),
      tailMs: median(t.childSpans.map((c) => c.last - c.lastScheduled)),
      gapMs: median(t.children.slice(1).map((c, i) => c.initiated - (t.children[i].completed ?? c.initiated))),
    },
    meanInFlight: busy / wallMs,
  };
}
