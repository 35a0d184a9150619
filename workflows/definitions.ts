/** Queries and signals of the pipeline workflow, shared by the workflow and its clients. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { NodeReport, RunStatus } from '../schemas/run';

export const statusQuery = defineQuery<RunStatus>('status');
export const batchProgressQuery = defineQuery<{ done: number; total: number }>('batchProgress');
/** Retry a parked stage with a fresh retry budget (after fixing the worker, the data, …). */
export const retryStageSignal = defineSignal<[stage: string]>('retryStage');
/** Give up on a parked stage; its dependents are skipped, the rest of the run goes on. */
export const skipStageSignal = defineSignal<[stage: string]>('skipStage');
/** End the run now: running stages are cancelled, parked ones fail. */
export const abortSignal = defineSignal<[reason?: string]>('abort');
/** Approve the promotion a waiting stage asks about; `by` is recorded as the approver. */
export const approveStageSignal = defineSignal<[stage: string, by?: string]>('approveStage');
/** A node of a multi-node stage started (node 0: with the rendezvous address it picked). Sent by the node's activity. */
export const nodeReadySignal = defineSignal<[report: NodeReport]>('nodeReady');
/** Turn down the promotion a waiting stage asks about: the current model stays. */
export const rejectStageSignal = defineSignal<[stage: string, by?: string, reason?: string]>('rejectStage');
