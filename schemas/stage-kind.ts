/**
 * What a stage kind declares about itself (activities/stages/<kind>/spec.ts): data the compiler and the engine
 * read without running the stage.
 */
import type { z } from 'zod';
import type { ArtifactType } from './common';

export interface StageKind<P extends z.ZodType = z.ZodType> {
  description: string;
  params: P;
  /** Input artifact types; '*' accepts anything; [] means the stage is a source (its needs only order it). */
  accepts: readonly (ArtifactType | '*')[];
  produces: ArtifactType;
  /** Bump when the implementation changes its output for the same input: it invalidates cached results. */
  version: string;
  defaultQueue: string;
  /**
   * Params holding local file paths (a string or a list): relative ones are resolved against the pipeline
   * file's folder. `s3://` references and the listed keywords are left as they are.
   */
  localPaths?: { params: string[]; keywords?: string[] };
  /** The stage describes its own run (the report): the workflow hands it the DAG and the stages' states so far. */
  observesRun?: boolean;
  /**
   * Whether these params make the stage a fan-out (plan tasks → run each → reduce). Document stages that map
   * shard by shard (activities/shard-map.ts) always are: one task per input shard.
   */
  fanout: (params: z.output<P>) => boolean;
  /**
   * The stage can run one attempt on several worker machines (`resources.nodes`): one activity per node, which the
   * implementation sees as StageContext.node.
   */
  multiNode?: boolean;
  /** false: the stage has effects outside its artifact (a published pointer), so it runs every time. */
  cacheable?: boolean;
  /** A human approval gate these params ask for: the workflow waits between the stage's propose and run. */
  approval?: (params: z.output<P>) => PlanApproval | undefined;
}

/** How long an approval gate waits, and what silence means. */
export interface PlanApproval {
  timeout: string;
  onTimeout: 'reject';
}

export function stageKind<P extends z.ZodType>(k: StageKind<P>): StageKind<P> {
  return k;
}
