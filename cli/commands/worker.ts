/** dapt worker: serve the workflow queue and the chosen resource queues until SIGINT/SIGTERM. */
import { QUEUES } from '../../schemas/common';
import type { DaptConfig } from '../../config';
import { startWorkers } from '../../worker/worker';
import { UsageError } from '../context';

export async function workerCommand(
  cfg: DaptConfig,
  opts: { queue: string[]; concurrency?: string; workflows?: boolean; metricsPort?: string },
): Promise<void> {
  const queues = opts.queue.flatMap((q) => (q === 'all' ? [QUEUES.cpu, QUEUES.gpu] : q.split(',')));
  const port = opts.metricsPort ?? process.env.DAPT_METRICS_PORT;
  const metricsPort = port === undefined || port === '' ? undefined : Number(port);
  if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort < 65536)) {
    throw new UsageError(`--metrics-port (or DAPT_METRICS_PORT): expected a port number, got "${port}"`);
  }
  const w = await startWorkers({
    config: cfg,
    queues,
    concurrency: opts.concurrency ? Number(opts.concurrency) : undefined,
    workflows: opts.workflows,
    metricsPort,
  });
  console.error(`dapt worker ${process.pid}: polling ${w.queues.join(', ')} on ${cfg.temporal.address} (profile ${cfg.profile.name})`);
  if (w.gpus) console.error(`dapt worker: GPUs ${w.gpus.join(',') || 'none (GPU stages run on CPU, 1 slot)'}; each attempt is pinned to the GPUs it leases`);
  if (w.metrics) console.error(`dapt worker: Prometheus metrics on port ${w.metrics.port} (/metrics)`);
  const stop = (sig: string) => {
    console.error(`dapt worker: ${sig}, finishing running activities…`);
    void w.shutdown();
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  await w.done;
  console.error('dapt worker: stopped');
}
