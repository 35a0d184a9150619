/**
 * dapt report RUN [--out FILE] [--open] [--render] [--screenshot PNG]: the run's HTML report. By default the one
 * its report stage stored (downloaded, digest checked); with --render, or when the pipeline has no report stage
 * or it has not finished, a page rendered now from the run's current status, which covers every stage.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { REPORT_FILE, gatherReport, renderReport } from '../../activities/stages/report/run';
import { ArtifactStore, sha256File } from '../../activities/store';
import { getRunPlan, getRunStatus } from '../../client/runs';
import { screenshotFile } from '../../infra/chromium';
import { runViewOf } from '../../schemas/run';
import type { DaptConfig } from '../../config';
import { UsageError } from '../context';

export interface ReportOptions {
  out?: string;
  open?: boolean;
  render?: boolean;
  stage?: string;
  title?: string;
  screenshot?: string | boolean;
}

export async function reportCommand(client: Client, cfg: DaptConfig, run: string, opts: ReportOptions): Promise<void> {
  const store = new ArtifactStore(cfg.store);
  const [plan, status] = await Promise.all([getRunPlan(client, run), getRunStatus(client, run)]);
  const reportStages = Object.values(plan.stages).filter((s) => s.kind === 'report').map((s) => s.name);
  if (opts.stage && !reportStages.includes(opts.stage)) {
    throw new UsageError(`--stage ${opts.stage}: not a report stage of ${run} (report stages: ${reportStages.join(', ') || 'none'})`);
  }
  const out = path.resolve(opts.out ?? `${run}.report.html`);
  fs.mkdirSync(path.dirname(out), { recursive: true });

  const stage = opts.stage ?? reportStages.filter((n) => status.stages[n]?.digest).pop();
  const digest = stage ? status.stages[stage]?.digest : undefined;
  if (!opts.render && digest) {
    const manifest = await store.readManifest(digest);
    const file = manifest?.files.find((f) => f.name === REPORT_FILE);
    if (!file) throw new Error(`the output ${digest} of ${stage} has no ${REPORT_FILE}`);
    await store.downloadFile(file.key, out);
    if ((await sha256File(out)) !== file.sha256) throw new Error(`${file.key}: downloaded bytes do not match the recorded sha256`);
    console.log(`report of stage ${stage} (rendered ${manifest!.producer.createdAt}): ${out}`);
  } else {
    if (!opts.render && stage) console.error(`stage ${stage} has no report (it is ${status.stages[stage]?.state}): rendering one from the run's status`);
    const data = await gatherReport(store, runViewOf(plan, status), { title: opts.title });
    fs.writeFileSync(out, renderReport(data));
    console.log(`report rendered from the ${status.state} run's status: ${out}`);
  }
  if (opts.screenshot) {
    const png = typeof opts.screenshot === 'string' ? path.resolve(opts.screenshot) : out.replace(/\.html?$/, '') + '.png';
    await screenshotFile(out, png);
    console.log(`screenshot: ${png}`);
  }
  if (opts.open) openFile(out);
}

/** The platform's opener, detached: the command does not wait for the browser. */
function openFile(file: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [file]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', file]] : ['xdg-open', [file]];
  const child = spawn(cmd, args, { detached: true, stdio: 'ignore' });
  child.on('error', (e) => console.error(`could not open ${file} with ${cmd}: ${e.message}`));
  child.unref();
}
