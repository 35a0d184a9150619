/**
 * The engine's test and benchmark stage: it sleeps (cancellably), fails on chosen attempts, and fans out into
 * `tasks` trivial tasks whose results are summed by the reduce.
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StageParams } from '../../../schemas/stages';
import { ConfigError } from '../../errors';
import type { StageContext, StageImpl, StageOutput, TypedFanout } from '../types';

type P = StageParams<'noop'>;

async function act(ctx: StageContext<P>, label: string, index = 0): Promise<void> {
  const p = ctx.params;
  if (p.failWhenFileExists && index >= p.failTasksFrom && fs.existsSync(p.failWhenFileExists)) {
    throw new Error(`${label}: failing while ${p.failWhenFileExists} exists`);
  }
  if (ctx.attempt <= p.failAttempts) {
    if (p.failMode === 'config') throw new ConfigError(`${label}: failing on purpose (config error)`);
    throw new Error(`${label}: failing on purpose (attempt ${ctx.attempt} of ${p.failAttempts} planned failures)`);
  }
  if (p.sleepMs > 0) {
    try {
      await sleep(p.sleepMs, undefined, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted && p.touchOnCancel) fs.writeFileSync(p.touchOnCancel, `${label} cancelled\n`);
      throw e;
    }
  }
}

const empty = (metrics: Record<string, unknown>): StageOutput => ({ files: [], schema: 'none', metrics });

type Done = { index: number; value: number };

const noopFanout: TypedFanout<P, [[{ i: number }, Done], [{ i: number; base: number }, Done]]> = {
  phases: [
    {
      name: 'tasks',
      async plan(ctx) {
        return Array.from({ length: ctx.params.tasks }, (_, i) => ({ i }));
      },
      async map(ctx, _task, index) {
        await act(ctx, `${ctx.stage}[${index}]`, index);
        return { index, value: 1 };
      },
    },
    {
      name: 'more',
      async plan(ctx, [first]) {
        // Planned from the first phase's results, as a real multi-phase stage (signatures → buckets) would be.
        const base = first.reduce((a, r) => a + r.value, 0);
        return Array.from({ length: ctx.params.moreTasks }, (_, i) => ({ i, base }));
      },
      async map(ctx, task, index) {
        await act(ctx, `${ctx.stage}[more ${index}]`, index);
        return { index, value: task.base };
      },
    },
  ],
  async reduce(_ctx, [results, more]) {
    const sum = results.reduce((a, r) => a + r.value, 0);
    const moreSum = more.reduce((a, r) => a + r.value, 0);
    return empty({ tasks: results.length, sum, ...(more.length ? { moreTasks: more.length, moreSum } : {}) });
  },
};

export const noopStage: StageImpl<P> = {
  async run(ctx) {
    ctx.progress({ fraction: 0, message: 'started' });
    const from = Date.now();
    await act(ctx, ctx.stage);
    // On a GPU worker: which GPUs the attempt held, and when (the fleet tests check that leases never overlap).
    return empty({ attempt: ctx.attempt, ...(ctx.gpus ? { gpus: ctx.gpus, heldFrom: from, heldTo: Date.now() } : {}) });
  },
  fanout: noopFanout,
};
