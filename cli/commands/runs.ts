/** dapt run | status | list | cancel | retry | skip | abort */
import type { Client } from '@temporalio/client';
import { abortRun, cancelRun, getRunStatus, listRuns, signalStage, startRun, waitForRun } from '../../client/runs';
import type { Plan } from '../../schemas';
import type { DaptConfig } from '../../config';
import { makeWatcher, statusText } from '../render';

export interface RunOptions {
  watch?: boolean;
  cache?: boolean; // commander's --no-cache
  json?: boolean;
}

/** Starts the run of a compiled plan; with watch, follows it to the end. Returns the exit code (0 success, 1 failure). */
export async function runCommand(client: Client, cfg: DaptConfig, plan: Plan, opts: RunOptions): Promise<number> {
  const run = await startRun(client, cfg, plan, { noCache: opts.cache === false });
  console.log(`run ${run.workflowId} started (${Object.keys(plan.stages).length} stages)`);
  console.log(`  Temporal UI: ${run.uiUrl}`);
  if (!opts.watch) return 0;
  return watchRun(client, run.workflowId);
}

export async function watchRun(client: Client, workflowId: string, intervalMs = 1000): Promise<number> {
  const watcher = makeWatcher();
  const result = waitForRun(client, workflowId);
  let finished = false;
  void result.finally(() => (finished = true));
  while (!finished) {
    await getRunStatus(client, workflowId).then(watcher.update, () => undefined);
    await Promise.race([result, new Promise((r) => setTimeout(r, intervalMs))]);
  }
  const res = await result;
  watcher.end(await getRunStatus(client, workflowId));
  console.log(res.ok ? `run ${workflowId} succeeded` : `run ${workflowId} ${res.status.state}: ${res.error}`);
  return res.ok ? 0 : 1;
}

export async function statusCommand(client: Client, run: string, opts: { json?: boolean }): Promise<void> {
  const st = await getRunStatus(client, run);
  console.log(opts.json ? JSON.stringify(st, null, 2) : statusText(st));
}

export async function listCommand(client: Client, opts: { pipeline?: string; limit?: string }): Promise<void> {
  const runs = await listRuns(client, { pipeline: opts.pipeline, limit: opts.limit ? Number(opts.limit) : 20 });
  if (!runs.length) console.log('no runs');
  for (const r of runs) console.log(`${r.workflowId.padEnd(48)} ${r.status.padEnd(11)} ${r.startTime.toISOString()}`);
}

export async function controlCommand(client: Client, action: 'cancel' | 'retry' | 'skip' | 'abort', run: string, stage?: string, reason?: string): Promise<void> {
  if (action === 'cancel') await cancelRun(client, run);
  else if (action === 'abort') await abortRun(client, run, reason);
  else await signalStage(client, run, action, stage!);
  console.log(`${action}${stage ? ` ${stage}` : ''}: sent to ${run}`);
}
