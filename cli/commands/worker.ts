/** dapt worker: serve the workflow queue and the chosen resource queues until SIGINT/SIGTERM. */
import { QUEUES } from '../../schemas/common';
import type { DaptConfig } from '../../worker/config';
import { startWorkers } from '../../worker/worker';

export async function workerCommand(cfg: DaptConfig, opts: { queue: string[]; concurrency?: string; workflows?: boolean }): Promise<void> {
  const queues = opts.queue.flatMap((q) => (q === 'all' ? [QUEUES.cpu, QUEUES.gpu] : q.split(',')));
  const w = await startWorkers({
    config: cfg,
    queues,
    concurrency: opts.concurrency ? Number(opts.concurrency) : undefined,
    workflows: opts.workflows,
  });
  console.error(`dapt worker ${process.pid}: polling ${w.queues.join(', ')} on ${cfg.temporal.address}`);
  const stop = (sig: string) => {
    console.error(`dapt worker: ${sig}, finishing running activities…`);
    void w.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  await w.done;
  console.error('dapt worker: stopped');
}
