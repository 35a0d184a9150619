/** Payload contracts between the client, the pipeline workflow and the activities. References only, never data. */
import type { ArtifactRef } from './manifest';
import type { Plan, PlanStage } from './plan';

export interface RunInput {
  plan: Plan;
  runId: string;
  noCache?: boolean;
  /** Prepended to the plan's logical queue names (isolates tests and teams on one cluster). */
  queuePrefix?: string;
  /** Tasks per fan-out child workflow (keeps each history small). */
  fanoutBatchSize?: number;
}

/** What an activity needs to run one stage: the stage's plan entry and its inputs' references. */
export interface StageCall {
  pipeline: string;
  runId: string;
  stage: PlanStage;
  inputs: ArtifactRef[];
  noCache: boolean;
  /** For stages that describe their run (PlanStage.observesRun): the DAG and every stage's state so far. */
  run?: RunView;
  /** A gated stage's run: what the human (or the timeout) decided. */
  approval?: ApprovalOutcome;
}

/** The answer to an approval request. */
export interface ApprovalOutcome {
  decision: 'approved' | 'rejected' | 'timeout';
  by?: string;
  reason?: string;
  at: string;
}

/** A gated stage's first step: whether there is anything to ask a human about, and what to show them. */
export interface Proposal {
  needsApproval: boolean;
  summary: string;
}

export interface PreparedStage {
  cacheKey: string;
  /** Set on a verified cache hit: the stage need not run. */
  hit?: ArtifactRef;
}

export interface StageDone {
  ref: ArtifactRef;
  attempt: number;
  metrics: Record<string, unknown>;
  /** The document shards the stage read, when it read any: `dapt status` shows its throughput from them. */
  input?: { records: number; bytes: number };
}

export interface FanoutCall extends StageCall {
  cacheKey: string;
}

/**
 * One node of a stage that runs an attempt on several machines (resources.nodes): which node, which try of the
 * group (each try is a fresh rendezvous), and where to meet. Node 0 picks the rendezvous address and announces it
 * (nodeReadySignal); the workflow starts the other nodes with it.
 */
export interface NodeRole {
  rank: number;
  count: number;
  /** The group's try (1, 2, …): the stage's attempt number on every node of it. */
  attempt: number;
  /** Names this try's rendezvous (torchrun's --rdzv-id). */
  group: string;
  /** host:port of node 0's rendezvous store; absent on node 0, which picks it. */
  address?: string;
  /** How long the nodes wait at the rendezvous for each other. */
  joinTimeoutS: number;
}

export interface NodeCall extends FanoutCall {
  node: NodeRole;
}

/** A node's part: the node that held the trainer's rank 0 published the stage output; the others only trained. */
export interface NodeResult {
  done?: StageDone;
}

/** What a node tells the workflow: that it started, and node 0 where the rendezvous is. */
export interface NodeReport {
  stage: string;
  group: string;
  rank: number;
  address?: string;
}

export interface FanoutBatchInput {
  call: FanoutCall;
  phase: number;
  from: number;
  to: number;
  concurrency: number;
  activityQueue: string;
  retry: PlanStage['retry'];
  timeouts: PlanStage['timeouts'];
}

export type StageStateName = 'pending' | 'running' | 'waiting' | 'cached' | 'succeeded' | 'failed' | 'parked' | 'skipped' | 'cancelled';

export interface StageState {
  state: StageStateName;
  attempt: number;
  startedAt?: string;
  endedAt?: string;
  digest?: string;
  cacheKey?: string;
  error?: string;
  /** Why a stage was skipped, e.g. "needs failed: crawl". */
  reason?: string;
  /** Tasks over all phases planned so far; `phase` is the running phase's name. */
  fanout?: { total: number; done: number; reused?: number; phase?: string };
  /** Live from the running attempt's heartbeat (filled in by the client). */
  progress?: number;
  message?: string;
  metrics?: Record<string, unknown>;
  /** The document shards a succeeded stage read (records, bytes as stored): docs/s and MB/s over startedAt → endedAt. */
  input?: { records: number; bytes: number };
  /** Set when no worker on the stage's queue started it within timeout.scheduleToStart and it moved to its fallbackQueue. */
  fallback?: { from: string; to: string; reason: string; at: string };
  /** A stage on several nodes: this try's rendezvous and which nodes have started (`dapt status` shows who is missing). */
  nodes?: { count: number; attempt: number; group: string; arrived: number[]; address?: string; since: string };
  /** state `waiting`: the approval request (its summary is also the stage's message); then its outcome. */
  approval?: { requestedAt: string; deadline: string; summary: string; outcome?: ApprovalOutcome };
}

export type RunStateName = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface RunStatus {
  pipeline: string;
  runId: string;
  planHash: string;
  state: RunStateName;
  startedAt: string;
  endedAt?: string;
  stages: Record<string, StageState>;
}

/** Signals a parked stage waits for (a waiting stage waits for approve / reject). */
export type ParkDecision = 'retry' | 'skip';

/** A stage of a RunView: its place in the DAG and its state, without live or bulky fields (metrics are in the manifests). */
export interface RunViewStage extends Omit<StageState, 'metrics' | 'progress' | 'message' | 'approval'> {
  kind: string;
  needs: string[];
  produces: string;
}

/** A run as a report sees it: the plan's DAG joined with each stage's state. Small, plain data. */
export interface RunView {
  pipeline: string;
  runId: string;
  planHash: string;
  state: RunStateName;
  startedAt: string;
  endedAt?: string;
  stages: Record<string, RunViewStage>;
}

/** Joins a plan and a status into a RunView (pure: the workflow and the CLI both use it). */
export function runViewOf(plan: Pick<Plan, 'stages'>, status: RunStatus): RunView {
  const stages: Record<string, RunViewStage> = {};
  for (const [name, st] of Object.entries(plan.stages)) {
    const { metrics: _m, progress: _p, message: _msg, approval: _a, ...state } = status.stages[name] ?? { state: 'pending', attempt: 0 };
    stages[name] = { ...state, kind: st.kind, needs: [...st.needs], produces: st.produces };
  }
  const { pipeline, runId, planHash, state, startedAt, endedAt } = status;
  return { pipeline, runId, planHash, state, startedAt, ...(endedAt ? { endedAt } : {}), stages };
}
