/**
 * Runs a phased fan-out inside one activity: every phase's tasks one after another, then the reduce. The
 * engine runs the same phases as parallel activities; this is the single-activity form of the same stage.
 */
import type { StageContext, StageFanout, StageOutput } from './stages/types';

export async function runPhasesInline<P>(ctx: StageContext<P>, fanout: StageFanout<P>): Promise<StageOutput> {
  const results: unknown[][] = [];
  for (const phase of fanout.phases) {
    const tasks = await phase.plan(ctx, results);
    const out: unknown[] = [];
    for (let i = 0; i < tasks.length; i++) {
      ctx.signal.throwIfAborted();
      out.push(await phase.map(ctx, tasks[i], i));
      ctx.progress({ message: `${phase.name}: ${i + 1}/${tasks.length}` });
    }
    results.push(out);
  }
  return fanout.reduce(ctx, results);
}
