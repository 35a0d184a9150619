import { z } from 'zod';

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
