/**
 * `npm run bench:crawl`: crawl throughput of dapt's crawl stage against Scrapy on the same local site (a separate
 * process, bench/crawl/site.ts) at the same concurrency, in the same run: a warm-up of each, then `--reps`
 * interleaved repetitions (alternating which goes first); pages/s medians and their ratio (target ≥ 1.0).
 * dapt runs the real stage (robots.txt, ledger in MinIO, extraction, shards, snapshot) on a private MinIO.
 *
 *   npm run bench:crawl -- [--pages 2000] [--concurrency 16] [--reps 3] [--write-docs docs/benchmarks.md]
 *   npm run bench:crawl -- --smoke   # test/bench.smoke.test.ts: 40 pages, one run each, no warm-up; Scrapy only
 *                                    # when it is installed already (a smoke run installs nothing)
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { crawlStage } from '../../activities/stages/crawl/run';
import { ArtifactStore } from '../../activities/store';
import { startMinio } from '../../infra/servers';
import { stageKinds } from '../../schemas/stages';
import { renderCrawlReport, writeCrawlSection, type CrawlRow } from './report';
import { ensureScrapy, installedScrapy, runScrapy } from './scrapy';

const { values } = parseArgs({
  options: {
    pages: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    reps: { type: 'string' },
    'write-docs': { type: 'string' },
    smoke: { type: 'boolean', default: false },
  },
});
const SMOKE = values.smoke;
if (SMOKE && values['write-docs']) throw new Error('--smoke measures nothing worth writing: drop --write-docs');
const PAGES = Number(values.pages ?? (SMOKE ? 40 : 2000));
const CONCURRENCY = Number(values.concurrency);
const REPS = Number(values.reps ?? (SMOKE ? 1 : 3));

async function startSite(): Promise<{ origin: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'site.ts'), String(PAGES)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (c: Buffer) => resolve((JSON.parse(c.toString()) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`site exited with ${code}`)));
  });
  return { origin: `http://127.0.0.1:${port}`, stop: () => child.stdin.end() };
}

async function runDapt(store: ArtifactStore, seed: string, run: string, workRoot: string): Promise<CrawlRow> {
  const params = stageKinds.crawl.params.parse({
    seeds: [seed], maxPages: PAGES, maxDepth: 10, perHostConcurrency: CONCURRENCY, allowPrivateNetworks: true, shardSize: 1000,
  });
  const workDir = fs.mkdtempSync(path.join(workRoot, 'dapt-'));
  const started = performance.now();
  const out = await crawlStage.run!({
    pipeline: 'bench', run, stage: 'crawl', attempt: 1, params, inputs: [], store, workDir,
    signal: new AbortController().signal, progress: () => {}, resumeFrom: () => undefined, log: () => {},
  });
  const secs = (performance.now() - started) / 1000;
  const pages = out.metrics!.pages as number;
  return { tool: 'dapt', secs, pages, docs: out.metrics!.documents as number };
}

async function main(): Promise<void> {
  const scrapyVersion = SMOKE ? installedScrapy() : ensureScrapy();
  if (!scrapyVersion) process.stderr.write('smoke run: Scrapy left out (not installed; a full run installs it)\n');
  const workRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-crawl-'));
  const minio = await startMinio({ dataDir: path.join(workRoot, 'minio'), logFile: path.join(workRoot, 'minio.log') });
  const site = await startSite();
  try {
    const store = new ArtifactStore({ endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, bucket: 'bench-crawl' });
    await store.ensureBucket();
    const seed = `${site.origin}/`;
    let runs = 0;
    const dapt = () => runDapt(store, seed, `r${++runs}`, workRoot);
    const scrapy = async (): Promise<CrawlRow> => ({ tool: 'scrapy', ...(await runScrapy(seed, CONCURRENCY, workRoot)) });
    const tools = scrapyVersion ? [dapt, scrapy] : [dapt];
    if (!SMOKE) {
      process.stderr.write('warm-up\n');
      for (const f of tools) await f();
    }
    const rows: CrawlRow[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const order = rep % 2 === 0 ? tools : [...tools].reverse();
      for (const f of order) {
        const row = await f();
        rows.push(row);
        process.stderr.write(`rep ${rep + 1}: ${row.tool} ${row.pages} pages in ${row.secs.toFixed(2)} s\n`);
        if (SMOKE && row.pages < PAGES) throw new Error(`${row.tool} crawled ${row.pages} of the site's ${PAGES} pages`);
      }
    }
    const argv = process.argv.slice(2).filter((a, i, all) => a !== '--write-docs' && all[i - 1] !== '--write-docs');
    const report = renderCrawlReport(rows, {
      pages: PAGES, concurrency: CONCURRENCY, reps: REPS, scrapyVersion: scrapyVersion ?? 'Scrapy not run', command: ['npm run bench:crawl', '--', ...argv].join(' '), smoke: SMOKE,
    });
    process.stdout.write(`${report}\n`);
    if (values['write-docs']) writeCrawlSection(values['write-docs'], report);
  } finally {
    site.stop();
    await minio.stop();
    fs.rmSync(workRoot, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`);
  process.exit(1);
});
