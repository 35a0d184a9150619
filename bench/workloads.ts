/**
 * The two benchmark workloads as compiled dapt plans. Every stage is a `noop` with `cache: false`, so each run
 * executes every activity. Each run also gets a nonce in its params (a `touchOnCancel` path that is never
 * written: noop only touches it when an attempt is cancelled), because the stage cache key, and with it the
 * fan-out ledger, depends on kind + version + params + input digests only (activities/cache-key.ts): without
 * the nonce a second run of the fan-out would find the first run's ledger and skip every task.
 */
import path from 'node:path';
import { compilePipeline, type Plan } from '../schemas/plan';
import { formatIssues } from '../schemas/issues';
import type { StageSpecInput } from '../schemas/pipeline';

export type WorkloadName = 'A' | 'B';

export interface Workload {
  name: WorkloadName;
  title: string;
  /** What one unit is (stage or task) and how many a run has: for the per-unit column. */
  unit: 'stage' | 'task';
  units: number;
  /** A fresh plan; `nonce` must differ between runs. */
  plan(nonce: string): Plan;
}

export const DAG_LEVELS = 5;
export const DAG_WIDTH = 10;
export const FANOUT_TASKS = 500;

/** Where the never-written nonce paths point. */
function noncePath(dir: string, nonce: string): string {
  return path.join(dir, 'never-written', nonce);
}

function compile(spec: unknown): Plan {
  const res = compilePipeline(spec);
  if (!res.ok) throw new Error(formatIssues('<bench spec>', res.issues));
  return res.plan;
}

export const stageName = (level: number, i: number) => `l${level}-s${i}`;

/**
 * A: 5 levels × 10 no-op stages; every stage of level k needs every stage of level k-1, so "level by level"
 * (the baseline's schedule) and "as soon as the needs are done" (dapt's) are the same schedule. Smaller shapes
 * are for the smoke run (`--smoke`).
 */
export function dagWorkload(dir: string, levels = DAG_LEVELS, width = DAG_WIDTH): Workload {
  return {
    name: 'A',
    title: `${levels * width}-stage no-op DAG (${levels} levels × ${width})`,
    unit: 'stage',
    units: levels * width,
    plan(nonce) {
      const stages: Record<string, StageSpecInput> = {};
      for (let level = 0; level < levels; level++) {
        for (let i = 0; i < width; i++) {
          stages[stageName(level, i)] = {
            uses: 'noop',
            cache: false,
            needs: level === 0 ? [] : Array.from({ length: width }, (_, j) => stageName(level - 1, j)),
            with: { touchOnCancel: noncePath(dir, nonce) },
          };
        }
      }
      return compile({ name: 'bench-dag', stages });
    },
  };
}

/** B: one no-op stage fanned out into 500 tasks, default concurrency (16). */
export function fanoutWorkload(dir: string, tasks = FANOUT_TASKS): Workload {
  return {
    name: 'B',
    title: `1 no-op fan-out stage, ${tasks} tasks`,
    unit: 'task',
    units: tasks,
    plan(nonce) {
      return compile({
        name: 'bench-fanout',
        stages: { fan: { uses: 'noop', cache: false, with: { tasks, touchOnCancel: noncePath(dir, nonce) } } },
      });
    },
  };
}
