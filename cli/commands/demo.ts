/**
 * dapt demo: everything on one machine. Brings the local stack up (installing servers on first use), prepares an
 * example's data (debian-en by default: real data fetched once by infra/real-data.sh; the generated examples
 * through examples/prepare.ts, serving their site for the crawl stage), runs workers in this process, watches
 * the run, prints base vs adapted and downloads the run's HTML report.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { InvalidArgumentError } from 'commander';
import type { FinetuneMetrics } from '../../activities/stages/evaluate/run';
import { cancelRun, getRunStatus, startRun } from '../../client/runs';
import { domainDocs, generalDocs, writeJsonl } from '../../examples/demo/domain-corpus';
import { serveDemoSite } from '../../examples/demo/site';
import { EXAMPLES, examplePages, linkBaseModel, pipelineFile, prepareExample, prepareRealExample, REAL_EXAMPLES } from '../../examples/prepare';
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
/** The default example: real data and a base model with a real (warmed) MLM head. */
export const DEFAULT_EXAMPLE = 'debian-en';

export interface DemoOptions {
  cache?: boolean;
  example?: string;
  prepareOnly?: boolean;
  seed?: number;
  scale?: number;
}

export async function demoCommand(opts: DemoOptions): Promise<number> {
  const example = opts.example ?? DEFAULT_EXAMPLE;
  const real = Boolean(REAL_EXAMPLES[example]);
  if (example !== MINIMAL && !real && !EXAMPLES[example]) {
    throw new UsageError(`--example ${example}: expected one of ${[...Object.keys(REAL_EXAMPLES), ...Object.keys(EXAMPLES), MINIMAL].join(', ')}`);
  }
  if (real && (opts.seed !== undefined || opts.scale !== undefined)) {
    throw new UsageError(`--seed and --scale draw generated data; ${example} runs on real data (examples: ${Object.keys(EXAMPLES).join(', ')})`);
  }
  const file = example === MINIMAL ? path.resolve(__dirname, '../../examples/demo.yaml') : pipelineFile(example);
  const dataDir =
    example === MINIMAL
      ? await prepareDemoData(path.resolve(path.dirname(file), 'data/demo')).then(() => path.resolve(path.dirname(file), 'data/demo'))
      : real
        ? await prepareRealExample(example)
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
  const pages = example === MINIMAL || real ? undefined : examplePages(example);
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
    for (const line of headline(plan, status, path.dirname(file))) console.log(line);
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
export function headline(plan: Plan, status: RunStatus, pipelineDir: string): string[] {
  const lines: string[] = [];
  for (const [name, stage] of Object.entries(plan.stages)) {
    const m = status.stages[name]?.metrics;
    if (!m) continue;
    if (stage.kind === 'perplexity') {
      const { base, adapted } = (m as unknown as PerplexityMetrics).models ?? {};
      if (!base || !adapted) continue;
      const acc = (x: { accuracy?: number }) => (x.accuracy === undefined ? '' : `, masked-token accuracy ${(100 * x.accuracy).toFixed(1)}%`);
      const f = (set: 'domain' | 'general') =>
        `${set} loss ${base[set].loss.toFixed(3)} → ${adapted[set].loss.toFixed(3)}${acc(base[set])}${adapted[set].accuracy === undefined ? '' : ` → ${(100 * adapted[set].accuracy).toFixed(1)}%`}`;
      const headless = (m as unknown as PerplexityMetrics).headless ?? [];
      const note = headless.length ? ` [${headless.join(', ')}: no MLM head in the checkpoint, its loss is a random head's]` : '';
      lines.push(`${name}: base → adapted ${f('domain')}; ${f('general')} (the forgetting probe)${note}`);
    } else if (stage.kind === 'evaluate') {
      const e = m as unknown as FinetuneMetrics & { comparison?: Record<string, Record<string, Interval | undefined>> };
      const k = e.primary;
      const ms = (x: FinetuneMetrics['models'][string]) => `${x.mean[k].toFixed(3)} ± ${(x.std[k] ?? 0).toFixed(3)}`;
      const { base, adapted } = e.models ?? {};
      if (!base?.mean || !adapted?.mean) continue;
      const seeds = base.seeds.length;
      const delta = e.delta[k];
      const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
      const diff = (arm: string, what: string) => {
        const iv = e.comparison?.[arm]?.[k];
        return iv
          ? ` (Δ ${signed(iv.difference)}, ${Math.round(100 * (iv.confidence ?? 0.95))}% interval [${signed(iv.lower)}, ${signed(iv.upper)}]` +
              `${iv.lower > 0 ? `: ${what} helped` : iv.upper < 0 ? `: ${what} hurt` : ': no difference shown at this size'})`
          : arm === 'adapted' && delta !== undefined
            ? ` (Δ ${signed(delta)}; mean ± std over seeds, no interval)`
            : '';
      };
      const floor = majorityBaseline(stage.params, pipelineDir, e.labels);
      lines.push(
        `${name} (${e.task}, ${k}, ${seeds} seed${seeds === 1 ? '' : 's'}): base ${ms(base)} → adapted ${ms(adapted)}${diff('adapted', 'adaptation')}` +
          (floor ? `; majority-class baseline ${floor[k === 'macroF1' ? 'macroF1' : 'accuracy'].toFixed(3)}` : ''),
      );
      // an ablation's other arms, each against the same base
      for (const [arm, x] of Object.entries(e.models)) {
        if (arm !== 'base' && arm !== 'adapted' && x.mean) lines.push(`  ${arm}: ${ms(x)}${diff(arm, arm)}`);
      }
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

/**
 * What always predicting the test set's most frequent label scores (accuracy; macro-F1 over the task's labels),
 * so a reader sees whether the fine-tuned models learned anything. Undefined when the test set is not one
 * local JSONL file of {label} rows.
 */
export function majorityBaseline(params: Record<string, unknown>, pipelineDir: string, labels: string[] = []): { accuracy: number; macroF1: number } | undefined {
  const data = params.data as { test?: unknown; labelField?: string } | undefined;
  const test = data?.test;
  if (typeof test !== 'string' || test.startsWith('s3://') || test.endsWith('.gz')) return undefined;
  const file = path.resolve(pipelineDir, test);
  if (!fs.existsSync(file)) return undefined;
  const counts = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const label = (JSON.parse(line) as Record<string, unknown>)[data?.labelField ?? 'label'];
    if (typeof label !== 'string') return undefined; // NER rows: no single label
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  if (!n) return undefined;
  const p = Math.max(...counts.values()) / n; // precision of the majority label; its recall is 1
  const classes = Math.max(labels.length, counts.size);
  return { accuracy: p, macroF1: (2 * p) / (1 + p) / classes };
}

type Interval = { difference: number; lower: number; upper: number; confidence?: number };
type PerplexityMetrics = { models: Record<'base' | 'adapted', Record<'domain' | 'general', { loss: number; accuracy?: number }>>; headless?: string[] };
type PromotionMetrics = { decision: string; reason?: string };
