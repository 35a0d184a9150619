/**
 * The `bench:crawl` report: environment, medians, ratio against the target and every run, as Markdown; and
 * the generated block of docs/benchmarks.md's "bench:crawl" section (the section is appended when missing,
 * and only the block between its markers is rewritten later).
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { writeGeneratedSection } from '../docs-section';

export const TARGET_RATIO = 1.0;

export interface CrawlRow {
  tool: 'dapt' | 'scrapy';
  secs: number;
  pages: number;
  docs?: number;
  responses?: number;
}

export interface CrawlSetup {
  pages: number;
  concurrency: number;
  reps: number;
  scrapyVersion: string;
  command: string;
  /** A smoke run: tiny site, no warm-up; it checks the benchmark works, its numbers mean nothing. */
  smoke?: boolean;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.*)/.exec(execFileSync('cat', ['/proc/cpuinfo'], { encoding: 'utf8' }))?.[1] ?? os.cpus()[0]?.model ?? '?';
  } catch {
    return os.cpus()[0]?.model ?? '?';
  }
}

export function renderCrawlReport(rows: CrawlRow[], s: CrawlSetup): string {
  const rate = (r: CrawlRow) => r.pages / r.secs;
  const of = (tool: CrawlRow['tool']) => rows.filter((r) => r.tool === tool);
  const med = (tool: CrawlRow['tool']) => ({ rate: median(of(tool).map(rate)), secs: median(of(tool).map((r) => r.secs)), pages: median(of(tool).map((r) => r.pages)) });
  const d = med('dapt');
  const p = med('scrapy');
  const ratio = d.rate / p.rate;
  const runs = (tool: CrawlRow['tool']) => of(tool).map((r) => `${rate(r).toFixed(0)} (${r.pages} in ${r.secs.toFixed(2)} s)`).join(', ');
  return [
    `- command: \`${s.command}\``,
    `- date: ${new Date().toISOString()}`,
    `- machine: ${os.availableParallelism()} cores (${cpuModel()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.version}; ${s.scrapyVersion}`,
    `- setup: local ${s.pages}-page site in its own process; concurrency ${s.concurrency} for both (dapt \`perHostConcurrency\`, Scrapy \`CONCURRENT_REQUESTS\` and \`_PER_DOMAIN\`); robots.txt obeyed by both; ${s.smoke ? 'no warm-up' : '1 warm-up run each'}, then ${s.reps} interleaved repetitions; medians`,
    '',
    '| crawler | median pages/s | median s | pages |',
    '| --- | --- | --- | --- |',
    `| dapt crawl stage | ${d.rate.toFixed(1)} | ${d.secs.toFixed(2)} | ${d.pages} |`,
    of('scrapy').length ? `| Scrapy | ${p.rate.toFixed(1)} | ${p.secs.toFixed(2)} | ${p.pages} |` : '| Scrapy | – | – | not run |',
    '',
    s.smoke
      ? `Smoke run (${s.pages} pages, one cold run each): not a measurement; the target (ratio ≥ ${TARGET_RATIO.toFixed(1)}) is judged on a full run.`
      : `Ratio dapt/Scrapy (pages/s): **${ratio.toFixed(2)}**, target ≥ ${TARGET_RATIO.toFixed(1)}: **${ratio >= TARGET_RATIO ? 'met' : 'not met'}**.`,
    '',
    `Every run, pages/s: dapt ${runs('dapt')}; Scrapy ${runs('scrapy') || 'not run'}.`,
  ].join('\n');
}

const INTRO = `Crawl throughput of the \`crawl\` stage against Scrapy. \`npm run bench:crawl\` starts a private MinIO and a
local site of N pages (default 2,000, about 7 KB each, every page reachable within four link hops) in a process of
its own, installs the pinned Scrapy into ~/.cache/dapt/bench-venv-crawl on first use, and crawls the site with both
at the same concurrency, in the same run. dapt runs the real stage: robots.txt, the per-page ledger in MinIO (what
makes a crawl resumable), main-text extraction with Readability (in worker threads when there is more than one
core), shards and snapshot; Scrapy runs a corpus spider (robots.txt obeyed, every link followed, url, title and the
text of \`<main>\` written to a JSON Lines feed). Times are the crawl alone, from start to output, without process
start-up.`;

export function writeCrawlSection(file: string, report: string): void {
  writeGeneratedSection(file, 'bench:crawl', report, INTRO);
}
