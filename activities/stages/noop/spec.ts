import { z } from 'zod';
import { ARTIFACT_TYPES, QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * A stage that does nothing useful, configurably: it can sleep, fail on its first attempts, fail for good,
 * or fan out into many tasks. The engine's own tests and benchmarks are written with it.
 */
export const NoopParams = z
  .object({
    sleepMs: z.number().int().nonnegative().default(0),
    failAttempts: z.number().int().nonnegative().default(0).describe('fail this many attempts, then succeed'),
    failMode: z.enum(['retryable', 'config']).default('retryable'),
    tasks: z.number().int().nonnegative().default(0).describe('> 0: fan out into this many tasks, then reduce'),
    moreTasks: z.number().int().nonnegative().default(0).describe('tasks of a second fan-out phase, planned from the first'),
    produces: z.enum(ARTIFACT_TYPES).default('none'),
    touchOnCancel: z.string().optional().describe('file written when the stage sees a cancellation'),
    failWhenFileExists: z.string().optional().describe('fail (retryably) while this file exists'),
    failTasksFrom: z.number().int().nonnegative().default(0).describe('with failWhenFileExists: only tasks from this index fail'),
  })
  .strict();

/** The `noop` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const noopKind = stageKind({
  description: 'Engine test stage: sleeps, fails on purpose or fans out; produces no data',
  params: NoopParams,
  accepts: ['*'],
  produces: 'none',
  version: '1',
  defaultQueue: QUEUES.cpu,
  fanout: (p) => p.tasks > 0,
});
