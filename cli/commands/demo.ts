/**
 * dapt demo: everything on one machine. Brings the local stack up (installing servers on first use),
 * generates the demo corpus, serves the demo site, runs workers in this process and watches the run.
 */
import path from 'node:path';
import { startRun } from '../../client/runs';
import { writeDemoCorpus } from '../../examples/demo/corpus';
import { serveDemoSite } from '../../examples/demo/site';
import { devUp } from '../../infra/dev';
import { loadPlan } from '../../schemas';
import { loadConfig } from '../../worker/config';
import { startWorkers } from '../../worker/worker';
import { clientFor, closeClient } from '../context';
import { watchRun } from './runs';

export async function demoCommand(opts: { cache?: boolean }): Promise<number> {
  const file = path.resolve(__dirname, '../../examples/demo.yaml');
  console.log('starting the local stack (first use installs Temporal and MinIO)…');
  const dev = await devUp();
  const cfg = loadConfig({
    temporal: { address: dev.temporal.address, namespace: 'default' },
    store: { ...loadConfig().store, endpoint: dev.minio.endpoint },
    uiUrl: dev.temporal.uiUrl,
  });
  writeDemoCorpus(path.resolve(path.dirname(file), 'data/demo-corpus'));
  const site = await serveDemoSite();
  const workers = await startWorkers({ config: cfg, queues: ['cpu', 'gpu'], log: () => {} });
  try {
    const plan = await loadPlan(file, { overrides: { 'crawl.seeds': [site.url] } });
    const client = await clientFor(cfg);
    const run = await startRun(client, cfg, plan, { noCache: opts.cache === false });
    console.log(`run ${run.workflowId}\n  Temporal UI: ${run.uiUrl}\n  MinIO console: ${dev.minio.consoleUrl} (bucket ${cfg.store.bucket})`);
    const code = await watchRun(client, run.workflowId);
    console.log(`inspect outputs: npx dapt artifacts ${run.workflowId}`);
    return code;
  } finally {
    await closeClient();
    await workers.shutdown();
    await site.close();
  }
}
