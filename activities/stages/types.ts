/**
 * The contract between the engine and a stage implementation. A stage is either `single` (one activity) or a
 * `fanout` (plan tasks → map each, possibly in parallel and on several workers → reduce). Implementations only
 * see a StageContext; they do not know about Temporal, retries or where they run.
 */
import type { ArtifactFileT, ManifestT } from '../../schemas/manifest';
import type { ApprovalOutcome, NodeRole, Proposal } from '../../schemas/run';
import type { RunView } from '../../schemas/run';
import type { StageKindName, StageParams } from '../../schemas/stages';
import type { ArtifactStore } from '../store';

export interface StageInputArtifact {
  stage: string;
  manifest: ManifestT;
}

export interface Progress {
  /** 0..1 when known. */
  fraction?: number;
  message?: string;
  /** Small JSON state from which a retry resumes (a crawl frontier, a shard index). */
  checkpoint?: unknown;
}

export interface StageContext<P = Record<string, unknown>> {
  pipeline: string;
  run: string;
  stage: string;
  attempt: number;
  /** The stage's cache key: stable across attempts and reruns of the same work (ledger keys). */
  cacheKey?: string;
  params: P;
  /** Stages that describe their run (the report) only: the DAG and each stage's state when this one started. */
  runView?: RunView;
  inputs: StageInputArtifact[];
  store: ArtifactStore;
  /** A fresh local directory for this attempt, removed afterwards. */
  workDir: string;
  /** Aborted when the run is cancelled or the attempt timed out. */
  signal: AbortSignal;
  /** Report progress; the runtime heartbeats it to Temporal (throttled). */
  progress(p: Progress): void;
  /** The checkpoint of the previous attempt's last heartbeat, if any. */
  resumeFrom<T>(): T | undefined;
  log(msg: string): void;
  /** On a GPU worker: the GPUs leased to this attempt (CUDA_VISIBLE_DEVICES ids); undefined = no pinning. */
  gpus?: string[];
  /** A gated stage's run step: what the human (or the timeout) answered; absent when nobody was asked. */
  approval?: ApprovalOutcome;
  /** One node of an attempt on several machines (resources.nodes; kinds with multiNode): see StageNode. */
  node?: StageNode;
}

/** This activity's place in a multi-node attempt (workflows/multi-node.ts). */
export interface StageNode extends NodeRole {
  /** Tells the workflow this node started; node 0 passes the rendezvous address it picked (the others wait for it). */
  announce(address?: string): Promise<void>;
}

/** What a fingerprint may look at besides the params: state in the store that the output depends on. */
export interface FingerprintEnv {
  store: ArtifactStore;
  pipeline: string;
}

export interface StageOutput {
  /** A node of a multi-node attempt that holds no part of the output (another node publishes it): nothing to publish. */
  nodeOnly?: true;
  files: ArtifactFileT[];
  /** Record schema of the files, e.g. document/v1. */
  schema: string;
  metrics?: Record<string, unknown>;
}

/**
 * One step of a fan-out: plan small JSON task descriptors (T), then map each (in parallel, possibly on many
 * workers) to a small JSON result (R). `Prev` types the earlier phases' results.
 */
export interface FanoutPhase<P, T = unknown, R = unknown, Prev extends unknown[][] = unknown[][]> {
  name: string;
  /** `previous[k][i]` is the result of task i of phase k (earlier phases only). */
  plan(ctx: StageContext<P>, previous: Prev): Promise<T[]>;
  map(ctx: StageContext<P>, task: T, index: number): Promise<R>;
}

/** A fan-out's phases as `[task, result]` type pairs, in order: what `StageFanout<P, Phases>` checks its phases against. */
export type PhaseTypes = [unknown, unknown][];

/** Phase k plans from the results of phases 0..k-1. */
type PhaseList<P, Ts extends PhaseTypes, Prev extends unknown[][] = []> = Ts extends [[infer T, infer R], ...infer Rest extends PhaseTypes]
  ? [FanoutPhase<P, T, R, Prev>, ...PhaseList<P, Rest, [...Prev, R[]]>]
  : [];

/** `results[k]`: the results of phase k's tasks. */
export type PhaseResults<Ts extends PhaseTypes> = { [K in keyof Ts]: Ts[K] extends [unknown, infer R] ? R[] : never };

/**
 * A stage implementation's fan-out as the engine runs it: its phases in order (each phase's tasks in parallel,
 * each task's result kept in the ledger), then `reduce` (the kind's `fanout(params)` in its spec.ts decides
 * whether a given stage runs as one). A fixed list of phases is better declared as a `TypedFanout`.
 */
export interface StageFanout<P> {
  phases: FanoutPhase<P>[];
  /** `results[k][i]`: task i of phase k. */
  reduce(ctx: StageContext<P>, results: unknown[][]): Promise<StageOutput>;
}

/** A fan-out whose phases are type-checked end to end: each phase's tasks and results, and what it plans from. */
export interface TypedFanout<P, Ts extends PhaseTypes> {
  phases: PhaseList<P, Ts>;
  reduce(ctx: StageContext<P>, results: PhaseResults<Ts>): Promise<StageOutput>;
}

export interface StageImpl<P> {
  run?(ctx: StageContext<P>): Promise<StageOutput>;
  /** The phases, or a choice of phases by params (dedupe: exact or near). */
  fanout?: StageFanout<P> | ((params: P) => StageFanout<P>);
  /** Extra cache-key material, e.g. the sizes and mtimes of local input files, or a pointer in the store. */
  fingerprint?(params: P, env?: FingerprintEnv): Promise<unknown>;
  /**
   * Stages with an approval gate: the first step, deciding whether a human needs to be asked before `run`
   * (which then sees the answer in `ctx.approval`).
   */
  propose?(ctx: StageContext<P>): Promise<Proposal>;
}

export type StageImpls = { [K in StageKindName]: StageImpl<StageParams<K>> };
