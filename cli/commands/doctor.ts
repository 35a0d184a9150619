/** dapt doctor: is this configuration ready to run pipelines? One line per check; exit 1 if any failed. */
import { loadPlan } from '../../schemas';
import { formatChecks, runDoctor } from '../../client/doctor';
import type { DaptConfig } from '../../config';

export async function doctorCommand(cfg: DaptConfig, opts: { queue?: string[]; pipeline?: string[]; trainer?: boolean }): Promise<number> {
  const queues = (opts.queue ?? []).flatMap((q) => q.split(',')).filter(Boolean);
  // A pipeline's own queues (and fallbacks) are what its run will need.
  for (const file of opts.pipeline ?? []) {
    const plan = await loadPlan(file, { checkPaths: false }); // its queues are wanted here, not its files
    for (const st of Object.values(plan.stages)) queues.push(st.queue, ...(st.fallbackQueue ? [st.fallbackQueue] : []));
  }
  const checks = await runDoctor(cfg, { queues: queues.length ? queues : undefined, trainer: opts.trainer });
  console.log(formatChecks(checks));
  const failed = checks.filter((c) => !c.ok).length;
  if (failed) console.log(`${failed} check(s) failed`);
  return failed ? 1 : 0;
}
