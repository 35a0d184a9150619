import { z } from 'zod';
import { QUEUES } from '../../../schemas/common';
import { stageKind } from '../../../schemas/stage-kind';

/**
 * One self-contained HTML page about the run: the DAG with each stage's state, timings, attempts and cache
 * hits; the data funnel with drop reasons; the vocabulary added; training curves; base vs adapted metrics; the
 * promotion decision. It sees the stages that finished before it (make it need the stages it should cover);
 * `dapt report RUN --render` renders the same page from the finished run.
 */
export const ReportParams = z
  .object({
    title: z.string().min(1).max(200).optional().describe('page title; default: "<pipeline> — run <run id>"'),
    maxCurvePoints: z.number().int().min(10).max(100_000).default(1000).describe('longer training curves are thinned evenly to this many points'),
  })
  .strict();

/** The `report` kind as the compiler and the engine see it; `version` is part of the cache key: bump it when run.ts changes its output. */
export const reportKind = stageKind({
  description: 'One self-contained HTML report of the run: DAG and timings, data funnel, vocabulary, training curves, base vs adapted metrics, promotion',
  params: ReportParams,
  accepts: ['*'],
  produces: 'report',
  version: '1',
  defaultQueue: QUEUES.cpu,
  observesRun: true,
  fanout: () => false,
  cacheable: false, // it describes its run: timings and states differ even when every input is cached
});
