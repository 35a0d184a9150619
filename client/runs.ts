/**
 * Client-side operations on runs: start a plan, read its status (the workflow's own view merged with the live
 * heartbeats of its running activities), signal parked stages, cancel, list. The CLI and tests use these.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { Plan } from '../schemas/plan';
import type { RunInput, RunStatus } from '../schemas/run';
import { temporalConnectOptions, workflowQueue, type DaptConfig } from '../config';
import { connectionError } from '../worker/errors';
import type { pipelineWorkflow } from '../workflows';
import {
  abortSignal,
  approveStageSignal,
  batchProgressQuery,
  rejectStageSignal,
  retryStageSignal,
  skipStageSignal,
  statusQuery,
} from '../workflows/definitions';

export const PIPELINE_ATTR = defineSearchAttributeKey('DaptPipeline', SearchAttributeType.KEYWORD);

export async function connectClient(config: DaptConfig): Promise<Client> {
  try {
    const connection = await Connection.connect({ ...temporalConnectOptions(config), connectTimeout: '5s' });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (e) {
    throw connectionError('Temporal', config.temporal.address, e);
  }
}

/** Sortable by start time, unique enough to never collide: 20261127-014210-3fa9c2. */
export function newRunId(now = new Date()): string {
  const t = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${t}-${randomBytes(3).toString('hex')}`;
}

export interface StartedRun {
  workflowId: string;
  runId: string;
  uiUrl: string;
}

export async function startRun(
  client: Client,
  config: DaptConfig,
  plan: Plan,
  opts: { noCache?: boolean; runId?: string; fanoutBatchSize?: number } = {},
): Promise<StartedRun> {
  const runId = opts.runId ?? newRunId();
  const workflowId = `${plan.name}-${runId}`;
  const input: RunInput = { plan, runId, noCache: opts.noCache, queuePrefix: config.queuePrefix, fanoutBatchSize: opts.fanoutBatchSize };
  await client.workflow.start<typeof pipelineWorkflow>('pipelineWorkflow', {
    workflowId,
    taskQueue: workflowQueue(config),
    args: [input],
    memo: { pipeline: plan.name, planHash: plan.hash, stages: Object.keys(plan.stages).length },
    ...(config.searchAttributes ? { typedSearchAttributes: [{ key: PIPELINE_ATTR, value: plan.name }] } : {}),
  });
  return { workflowId, runId, uiUrl: `${config.uiUrl}/namespaces/${config.temporal.namespace}/workflows/${workflowId}` };
}

export interface LiveRunStatus extends RunStatus {
  workflowId: string;
  /** Temporal's view: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, … */
  execution: string;
  failure?: string;
}

/** The run's status with each running stage's latest heartbeat (progress, message) and attempt folded in. */
export async function getRunStatus(client: Client, workflowId: string): Promise<LiveRunStatus> {
  const handle = client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  const status = (await closedStatus(handle, desc.status.name)) ?? (await handle.query(statusQuery));
  const live: LiveRunStatus = { ...status, workflowId, execution: desc.status.name };
  for (const pa of desc.raw.pendingActivities ?? []) {
    const stage = (pa.activityId ?? '').split(':')[0];
    const s = live.stages[stage];
    if (!s || s.state !== 'running') continue;
    s.attempt = pa.attempt ?? s.attempt;
    const payload = pa.heartbeatDetails?.payloads?.[0];
    if (payload) {
      const p = defaultPayloadConverter.fromPayload<{ fraction?: number; message?: string }>(payload);
      // Several nodes of one stage heartbeat: the one with training progress (rank 0's) speaks for the stage.
      if (p.fraction !== undefined || s.progress === undefined) Object.assign(s, { progress: p.fraction, message: p.message });
    }
    if (pa.lastFailure?.message) s.error = `retrying after: ${pa.lastFailure.message}`;
  }
  await foldFanoutProgress(client, workflowId, live);
  return live;
}

/**
 * A finished run's status from its result or failure details, so it reads without a worker (a query needs
 * one to replay the history). Cancelled runs carry none: those fall back to the query.
 */
async function closedStatus(handle: WorkflowHandle, execution: string): Promise<RunStatus | undefined> {
  if (execution === 'COMPLETED') return (await handle.result()) as RunStatus;
  if (execution !== 'FAILED') return undefined;
  try {
    await handle.result();
  } catch (e) {
    const cause = e instanceof WorkflowFailedError ? e.cause : undefined;
    const details = cause instanceof ApplicationFailure ? cause.details?.[0] : undefined;
    if (details && typeof details === 'object' && 'stages' in details) return details as RunStatus;
  }
  return undefined;
}

/** Fan-out stages: add the tasks finished inside the running batch child workflow. */
async function foldFanoutProgress(client: Client, workflowId: string, live: LiveRunStatus): Promise<void> {
  for (const [name, s] of Object.entries(live.stages)) {
    if (s.state !== 'running' || !s.fanout || s.fanout.done >= s.fanout.total) continue;
    const prefix = `${workflowId}--${name}--`;
    for await (const wf of client.workflow.list({ query: `WorkflowId STARTS_WITH "${prefix}" AND ExecutionStatus = "Running"` })) {
      const p = await client.workflow.getHandle(wf.workflowId).query(batchProgressQuery).catch(() => undefined);
      if (p) s.fanout = { ...s.fanout, done: s.fanout.done + p.done };
    }
  }
}

export interface RunResult {
  ok: boolean;
  status: RunStatus;
  error?: string;
}

/** Wait for the run to end; never throws for a failed run (the result says so). */
export async function waitForRun(client: Client, workflowId: string): Promise<RunResult> {
  const handle: WorkflowHandle<typeof pipelineWorkflow> = client.workflow.getHandle(workflowId);
  try {
    const status = await handle.result();
    return { ok: true, status };
  } catch (e) {
    const desc = await handle.describe();
    const status = (await closedStatus(handle, desc.status.name)) ?? (await handle.query(statusQuery));
    const cause = e instanceof WorkflowFailedError ? (e.cause?.message ?? e.message) : (e as Error).message;
    return { ok: false, status, error: cause };
  }
}

export async function signalStage(client: Client, workflowId: string, action: 'retry' | 'skip', stage: string): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  const status = await handle.query(statusQuery);
  const s = status.stages[stage];
  if (!s) throw new Error(`run ${workflowId} has no stage "${stage}" (stages: ${Object.keys(status.stages).join(', ')})`);
  if (s.state !== 'parked') throw new Error(`stage "${stage}" of ${workflowId} is ${s.state}, not parked: nothing to ${action}`);
  await handle.signal(action === 'retry' ? retryStageSignal : skipStageSignal, stage);
}

/**
 * Answers a stage waiting for approval (a promote stage with `approval`). Without `stage`, the run must have
 * exactly one waiting stage. Returns the stage answered.
 */
export async function answerApproval(
  client: Client,
  workflowId: string,
  action: 'approve' | 'reject',
  opts: { stage?: string; by?: string; reason?: string } = {},
): Promise<string> {
  const handle = client.workflow.getHandle(workflowId);
  const status = await handle.query(statusQuery);
  const waiting = Object.entries(status.stages).filter(([, s]) => s.state === 'waiting').map(([n]) => n);
  let stage = opts.stage;
  if (stage) {
    const s = status.stages[stage];
    if (!s) throw new Error(`run ${workflowId} has no stage "${stage}" (stages: ${Object.keys(status.stages).join(', ')})`);
    if (s.state !== 'waiting') throw new Error(`stage "${stage}" of ${workflowId} is ${s.state}, not waiting for approval: nothing to ${action}`);
  } else {
    if (!waiting.length) throw new Error(`no stage of ${workflowId} is waiting for approval (run ${status.state})`);
    if (waiting.length > 1) throw new Error(`several stages of ${workflowId} wait for approval (${waiting.join(', ')}): name one with --stage`);
    stage = waiting[0];
  }
  if (action === 'approve') await handle.signal(approveStageSignal, stage, opts.by);
  else await handle.signal(rejectStageSignal, stage, opts.by, opts.reason);
  return stage;
}

export async function abortRun(client: Client, workflowId: string, reason?: string): Promise<void> {
  await client.workflow.getHandle(workflowId).signal(abortSignal, reason);
}

export async function cancelRun(client: Client, workflowId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).cancel();
}

export interface RunListing {
  workflowId: string;
  pipeline: string;
  status: string;
  startTime: Date;
  closeTime?: Date;
}

export async function listRuns(client: Client, opts: { pipeline?: string; limit?: number } = {}): Promise<RunListing[]> {
  const query = opts.pipeline ? `WorkflowType = "pipelineWorkflow" AND DaptPipeline = "${opts.pipeline}"` : `WorkflowType = "pipelineWorkflow"`;
  const out: RunListing[] = [];
  for await (const wf of client.workflow.list({ query })) {
    out.push({
      workflowId: wf.workflowId,
      pipeline: String((wf.memo as Record<string, unknown> | undefined)?.pipeline ?? ''),
      status: wf.status.name,
      startTime: wf.startTime,
      closeTime: wf.closeTime,
    });
    if (out.length >= (opts.limit ?? 50)) break;
  }
  return out;
}

/**
 * The plan a run was started with, from the first event of its history (the workflow's input): readable for
 * finished runs without a worker, unlike a query.
 */
export async function getRunPlan(client: Client, workflowId: string): Promise<Plan> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  const input = payload ? defaultPayloadConverter.fromPayload<RunInput>(payload) : undefined;
  if (!input?.plan?.stages) throw new Error(`${workflowId}: its first history event carries no dapt plan (not a pipeline run?)`);
  return input.plan;
}
