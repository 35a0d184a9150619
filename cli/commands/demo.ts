/**
 * dapt demo: everything on one machine. Brings the local stack up (installing servers on first use), generates
 * an example's data (examples/prepare.ts; biomed-en by default), serves its site for the crawl stage, runs
 * workers in this process, watches the run, prints base vs adapted and downloads the run's HTML report.
 */
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { InvalidArgumentError } from 'commander';
import type { FinetuneMetrics } from '../../activities/stages/evaluate/run';
import { cancelRun, getRunStatus, startRun } from '../../client/runs';
import { domainDocs, generalDocs, writeJsonl } from '../../examples/demo/domain-corpus';
import { serveDemoSite } from '../../examples/demo/site';
import { EXAMPLES, examplePages, linkBaseModel, pipelineFile, prepareExample } from '../../examples/prepare';
import { devUp } from '../../infra/dev';
import { loadPlan } from '../../schemas';
import { QUEUES } from '../../schemas/common';
import type { Plan } from '../../schemas/plan';
import type { RunStatus } from '../../schemas/run';
import { loadConfig } from '../../config';
import { startWorkers } from '../../worker/worker';
import { clientFor, closeClient, UsageError } from '../context';
import { reportCommand } from './report';
import { watchRun } from './runs';

/** The data pipeline alone (no task, no report): examples/demo.yaml, as the scale test runs it. */
const MINIMAL = 'demo';

export interface DemoOptions {
  cache?: boolean;
  example?: string;
  prepareOnly?: boolean;
  seed?: number;
  scale?: number;
}

export async function demoCommand(opts: DemoOptions): Promise<number> {
  const example = opts.example ?? 'biomed-en';
  if (example !== MINIMAL && !EXAMPLES[example]) {
    throw new UsageError(`--example ${example}: expected one of ${[...Object.keys(EXAMPLES), MINIMAL].join(', ')}`);
  }
  const file = example === MINIMAL ? path.resolve(__dirname, '../../examples/demo.yaml') : pipelineFile(example);
  const dataDir =
    example === MINIMAL
      ? await prepareDemoData(path.resolve(path.dirname(file), 'data/demo')).then(() => path.resolve(path.dirname(file), 'data/demo'))
      : await prepareExample(example, { seed: opts.seed, scale: opts.scale });
  console.log(`${example}: data in ${path.relative(process.cwd(), dataDir) || '.'}, pipeline ${path.relative(process.cwd(), file)}`);
  if (opts.prepareOnly) return 0;

  console.log('starting the local stack (first use installs Temporal and MinIO)…');
  const dev = await devUp();
  const cfg = loadConfig({
    temporal: { address: dev.temporal.address, namespace: 'default' },
    store: { ...loadConfig().store, endpoint: dev.minio.endpoint },
    uiUrl: dev.temporal.uiUrl,
  });
  const pages = example === MINIMAL ? undefined : examplePages(example);
  const site = example === MINIMAL || pages ? await serveDemoSite(0, pages) : undefined;
  process.env.DAPT_LOG_LEVEL ??= 'ERROR'; // the watch view reports failures; SDK warnings would repeat them
  const workers = await startWorkers({ config: cfg, queues: Object.values(QUEUES), log: () => {}, shutdownSignals: [] });
  try {
    const plan = await loadPlan(file, { overrides: site ? { 'crawl.seeds': [site.url] } : {} });
    const client = await clientFor(cfg);
    const run = await startRun(client, cfg, plan, { noCache: opts.cache === false });
    console.log(`run ${run.workflowId}\n  Temporal UI: ${run.uiUrl}\n  MinIO console: ${dev.minio.consoleUrl} (bucket ${cfg.store.bucket})`);
    // The demo's workers live in this process: a run left behind would wait for them and take the next demo's
    // worker slots. Ctrl-C cancels it (the trainer checkpoints on the way out); a second Ctrl-C exits at once.
    const interrupt = (signal: NodeJS.Signals) => {
      console.log(`\n${signal}: cancelling ${run.workflowId} (press Ctrl-C again to quit without waiting)`);
      void cancelRun(client, run.workflowId).catch((e: unknown) => console.error(`cancel failed: ${String(e)}`));
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    console.log('  Ctrl-C cancels the run');
    const code = await watchRun(client, run.workflowId).finally(() => {
      process.removeListener('SIGINT', interrupt);
      process.removeListener('SIGTERM', interrupt);
    });
    const status = await getRunStatus(client, run.workflowId);
    for (const line of headline(plan, status)) console.log(line);
    console.log(`inspect outputs: npx dapt artifacts ${run.workflowId}`);
    if (example !== MINIMAL) await downloadReport(client, cfg, run.workflowId, dataDir);
    return code;
  } finally {
    await closeClient();
    await workers.shutdown();
    await site?.close();
  }
}

/** Base vs adapted, from the run's perplexity, evaluate and promote stages (those that finished). */
function headline(plan: Plan, status: RunStatus): string[] {
  const lines: string[] = [];
  for (const [name, stage] of Object.entries(plan.stages)) {
    const m = status.stages[name]?.metrics;
    if (!m) continue;
    if (stage.kind === 'perplexity') {
      const { base, adapted } = (m as unknown as PerplexityMetrics).models ?? {};
      if (!base || !adapted) continue;
      const f = (set: 'domain' | 'general') => `${set} loss ${base[set].loss.toFixed(3)} → ${adapted[set].loss.toFixed(3)}`;
      const headless = (m as unknown as PerplexityMetrics).headless ?? [];
      const note = headless.length ? ` [${headless.join(', ')}: no MLM head in the checkpoint, its loss is a random head's]` : '';
      lines.push(`${name}: base → adapted ${f('domain')}; ${f('general')} (the forgetting probe)${note}`);
    } else if (stage.kind === 'evaluate') {
      const e = m as unknown as FinetuneMetrics;
      const k = e.primary;
      const ms = (x: FinetuneMetrics['models'][string]) => `${x.mean[k].toFixed(3)} ± ${(x.std[k] ?? 0).toFixed(3)}`;
      const { base, adapted } = e.models ?? {};
      if (!base?.mean || !adapted?.mean) continue;
      const seeds = base.seeds.length;
      const delta = e.delta[k];
      lines.push(
        `${name} (${e.task}, ${k}, ${seeds} seed${seeds === 1 ? '' : 's'}): base ${ms(base)} → adapted ${ms(adapted)}` +
          (delta === undefined ? '' : ` (Δ ${delta >= 0 ? '+' : ''}${delta.toFixed(3)})`),
      );
    } else if (stage.kind === 'promote') {
      const d = m as unknown as PromotionMetrics;
      lines.push(`${name}: ${d.decision}${d.reason ? ` (${d.reason})` : ''}`);
    }
  }
  return lines;
}

/** The report the run's report stage stored (or one rendered from its status when that stage did not finish). */
async function downloadReport(client: Client, cfg: ReturnType<typeof loadConfig>, run: string, dataDir: string): Promise<void> {
  const out = path.join(dataDir, 'reports', `${run}.report.html`);
  try {
    await reportCommand(client, cfg, run, { out });
    console.log(`report: ${out}`);
  } catch (e) {
    console.error(`the report could not be written: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The minimal demo's data (examples/demo.yaml): generated contract-law and general corpora and the MiniLM link. */
export async function prepareDemoData(dir: string): Promise<void> {
  writeJsonl(path.join(dir, 'domain', 'contracts.jsonl'), domainDocs(400), 20);
  writeJsonl(path.join(dir, 'general', 'everyday.jsonl'), generalDocs(200));
  await linkBaseModel(path.join(dir, 'base-model'));
}

export function demoSeed(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer ≥ 0');
  return n;
}

export function demoScale(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number > 0');
  return n;
}

type PerplexityMetrics = { models: Record<'base' | 'adapted', Record<'domain' | 'general', { loss: number }>>; headless?: string[] };
type PromotionMetrics = { decision: string; reason?: string };
