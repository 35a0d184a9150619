/**
 * `npm run bench:pipeline`: a generated web corpus written as WARC (./corpus.ts: boilerplate, exact and near
 * duplicates, German/French/Chinese pages, low-quality pages, a seed domain) through warc → extract → filter →
 * dedupe (exact + near) → select, with 1 and 2 `dapt worker` processes in the same invocation (./dapt.ts), beside
 * datatrove running the same stages on the same WARC files with the same numbers of processes (./datatrove_run.py,
 * pinned into a cached venv). Prints markdown tables: documents per CPU-second ("per core") and input MB/s per
 * stage, whole-pipeline speedup 2 vs 1 workers, peak RSS per worker process.
 *
 *   npm run bench:pipeline -- [--docs 1000000 | --docs 100000,1000000] [--workers 1,2] [--largest-workers 2] [--docs-per-file N]
 *                             [--input warc|jsonl] [--no-baseline] [--baseline-workers 2] [--baseline-files N] [--write-docs docs/benchmarks.md]
 *
 * --input jsonl: the same generated pages' main text as gzip JSONL files, through the pipeline after extraction:
 * source → filter with every rule off (a pass-through: the shard I/O path alone) → dedupe (exact + near) → select,
 * no datatrove (a run that fits 1M documents on a small machine; peak RSS by corpus size). --largest-workers: the
 * worker counts at the largest --docs size only (default: --workers).
 *   npm run bench:pipeline -- --smoke
 *   npm run bench:pipeline -- --render ~/.cache/dapt/bench-pipeline/results-latest.json [--write-docs …]   (a run stopped early)
 *
 * --smoke: 200 documents in 2 WARC files of 100, one run with 2 worker processes, then the same pages as JSONL through
 * the pipeline after extraction with 1 worker, no datatrove (a smoke run installs nothing, and datatrove's seven
 * executors alone take longer than the whole smoke run); it checks that every stage ran with documents in and out
 * and that CPU and peak RSS were measured, then prints "smoke: ok" (≈ 20–30 s).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startWorkers, type RunningWorkers } from '../../worker/worker';
import { writeGeneratedSection } from '../docs-section';
import { startBenchStack, type BenchStack } from '../local-stack';
import { ensureCorpus, type Corpus } from './corpus';
import { measureDapt, pipelinePlan, stagesOf, type RunMeasure } from './dapt';
import { renderReport, type SizeResult } from './report';

const CACHE = path.join(os.homedir(), '.cache', 'dapt');
const VENV = path.join(CACHE, 'bench-venv-pipeline');
/**
 * datatrove with its WARC reader and processing extras; spaCy for its English word tokenizer (spacy.blank, no model
 * download); lxml_html_clean, which trafilatura 1.11 needs with lxml ≥ 5.2 (without it every extraction fails).
 */
export const PINS = ['datatrove[io,processing]==0.10.1', 'trafilatura==1.11.0', 'spacy==3.8.18', 'lxml_html_clean==0.4.6'];

interface Options {
  docs: number[];
  workers: number[];
  /** Worker counts at the largest size (default: workers). */
  largestWorkers: number[];
  input: 'warc' | 'jsonl';
  docsPerFile?: number;
  baseline: boolean;
  /** datatrove's process counts (default: the same as dapt's). */
  baselineWorkers: number[];
  /** datatrove reads the first N WARC files only (default: all). */
  baselineFiles?: number;
  writeDocs?: string;
  smoke: boolean;
  /** Render the report from a results file a (possibly stopped) run saved, instead of measuring. */
  render?: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      docs: { type: 'string', default: '1000000' },
      workers: { type: 'string', default: '1,2' },
      'largest-workers': { type: 'string' },
      input: { type: 'string', default: 'warc' },
      'docs-per-file': { type: 'string' },
      'no-baseline': { type: 'boolean', default: false },
      'baseline-workers': { type: 'string' },
      'baseline-files': { type: 'string' },
      'write-docs': { type: 'string' },
      smoke: { type: 'boolean', default: false },
      render: { type: 'string' },
    },
  });
  const int = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a positive integer, got "${v}"`);
    return n;
  };
  const list = (name: string, v: string) => [...new Set(v.split(',').map((x) => int(name, x.trim())))].sort((a, b) => a - b);
  if (values.smoke) return { docs: [200], workers: [2], largestWorkers: [2], input: 'warc', docsPerFile: 100, baseline: false, baselineWorkers: [], smoke: true };
  const workers = list('workers', values.workers);
  if (!workers.includes(1)) throw new Error('--workers must include 1: the 1-worker run is the baseline of the speedup');
  if (values.input !== 'warc' && values.input !== 'jsonl') throw new Error(`--input expects warc or jsonl, got "${values.input}"`);
  return {
    docs: list('docs', values.docs),
    workers,
    largestWorkers: values['largest-workers'] ? list('largest-workers', values['largest-workers']) : workers,
    input: values.input,
    docsPerFile: values['docs-per-file'] ? int('docs-per-file', values['docs-per-file']) : undefined,
    baseline: !values['no-baseline'] && values.input === 'warc',
    baselineWorkers: values['baseline-workers'] ? list('baseline-workers', values['baseline-workers']) : workers,
    baselineFiles: values['baseline-files'] ? int('baseline-files', values['baseline-files']) : undefined,
    writeDocs: values['write-docs'],
    smoke: false,
    render: values.render,
  };
}

/** WARC files of 10,000 pages (Common Crawl's are ~20–40k), fewer for small corpora so that 2 workers have tasks to share. */
const docsPerFile = (docs: number, explicit?: number) => explicit ?? Math.min(10_000, Math.max(100, Math.ceil(docs / 10)));

function ensureVenv(log: (m: string) => void): string {
  const py = path.join(VENV, 'bin', 'python');
  const check =
    'import datatrove, trafilatura, spacy, lxml_html_clean, importlib.metadata as m; ' +
    'assert (m.version("datatrove"), m.version("trafilatura"), m.version("spacy"), m.version("lxml_html_clean")) == ("0.10.1", "1.11.0", "3.8.18", "0.4.6")';
  if (!(fs.existsSync(py) && spawnSync(py, ['-c', check]).status === 0)) {
    log(`installing ${PINS.join(', ')} into ${VENV}`);
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', ...PINS], { stdio: 'inherit' });
  }
  return py;
}

function runDatatrove(py: string, corpus: Corpus, workers: number, files: number | undefined, log: (m: string) => void): RunMeasure {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-datatrove-'));
  // The first `files` WARC files of the corpus, as links in a folder of their own.
  const warcDir = path.join(work, 'warc');
  fs.mkdirSync(warcDir);
  for (const f of corpus.files.slice(0, files ?? corpus.files.length)) fs.symlinkSync(f, path.join(warcDir, path.basename(f)));
  // datatrove logs every task to stderr: keep that in a file, and show its tail if the run fails.
  const logFile = path.join(work, 'datatrove.log');
  const logFd = fs.openSync(logFile, 'w');
  try {
    let out: string;
    try {
      out = execFileSync(py, [path.join(__dirname, 'datatrove_run.py'), warcDir, path.join(work, 'out'), String(workers)], {
        encoding: 'utf8',
        maxBuffer: 1 << 22,
        stdio: ['ignore', 'pipe', logFd],
      });
    } catch (e) {
      throw new Error(`datatrove × ${workers} failed: ${String(e)}\n${fs.readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n')}`, { cause: e });
    }
    const r = JSON.parse(out.trim().split('\n').pop()!) as Omit<RunMeasure, 'peakRssBytes'> & { stages: RunMeasure['stages'] };
    const m: RunMeasure = { impl: 'datatrove', workers, wallS: r.wallS, stages: r.stages, peakRssBytes: [Math.max(...r.stages.map((s) => s.peakRssBytes ?? 0))] };
    // WarcReader follows the links; the stage's input bytes are the files'.
    const warc = m.stages.find((s) => s.stage === 'warc');
    if (warc) warc.inputBytes = corpus.files.slice(0, files ?? corpus.files.length).reduce((a, f) => a + fs.statSync(f).size, 0);
    log(`  datatrove, ${workers} process(es): ${m.wallS.toFixed(1)} s; ${m.stages.map((s) => `${s.stage} ${s.wallS.toFixed(1)} s / ${s.cpuS.toFixed(1)} CPU s`).join(', ')}`);
    return m;
  } finally {
    fs.closeSync(logFd);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

interface Saved {
  date: string;
  command: string;
  machine: string;
  loadBefore: string;
  started: number;
  sizes: SizeResult[];
  pins?: string[];
}

function writeReport(report: string, writeDocs: string | undefined): void {
  console.log(`\n${report}`);
  if (writeDocs) {
    writeGeneratedSection(writeDocs, 'bench:pipeline', report, INTRO);
    console.log(`results written to ${writeDocs}`);
  }
}

async function main(): Promise<void> {
  const opts = parseOptions();
  if (opts.render) {
    // What a run saved after each finished measurement: a run stopped early still gives its report.
    const saved = JSON.parse(fs.readFileSync(opts.render, 'utf8')) as Saved;
    const report = renderReport({
      command: `${saved.command} (stopped after the runs shown; rendered with --render)`,
      machine: saved.machine,
      loadBefore: saved.loadBefore,
      loadAfter: `${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (when rendered)`,
      minutes: (Date.parse(saved.date) - saved.started) / 60_000,
      sizes: saved.sizes,
      pins: saved.pins,
    });
    writeReport(report, opts.writeDocs);
    return;
  }
  process.env.DAPT_LOG_LEVEL ??= 'ERROR';
  const log = (m: string) => console.log(m);
  const started = Date.now();
  const cores = os.availableParallelism();
  const machine = `${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}`;
  const loadBefore = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  log(`machine: ${machine}; load average ${loadBefore}`);
  const py = opts.baseline ? ensureVenv(log) : undefined;
  const flags = [`--docs ${opts.docs.join(',')}`, `--workers ${opts.workers.join(',')}`];
  if (opts.largestWorkers.join() !== opts.workers.join()) flags.push(`--largest-workers ${opts.largestWorkers.join(',')}`);
  if (opts.input !== 'warc') flags.push(`--input ${opts.input}`);
  if (opts.docsPerFile) flags.push(`--docs-per-file ${opts.docsPerFile}`);
  if (!opts.baseline && opts.input === 'warc') flags.push('--no-baseline');
  else {
    if (opts.baselineWorkers.join() !== opts.workers.join()) flags.push(`--baseline-workers ${opts.baselineWorkers.join(',')}`);
    if (opts.baselineFiles) flags.push(`--baseline-files ${opts.baselineFiles}`);
  }
  const command = `npm run bench:pipeline -- ${opts.smoke ? '--smoke' : flags.join(' ')}`;
  const save = (sizes: SizeResult[]) =>
    savePartial({ date: new Date().toISOString(), command, machine, loadBefore, started, sizes, pins: opts.baseline ? PINS : undefined });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-pipeline-'));
  let stack: BenchStack | undefined;
  let workflows: RunningWorkers | undefined;
  const sizes: SizeResult[] = [];
  try {
    stack = await startBenchStack(dir, { bucket: 'pipeline', queuePrefix: 'pipeline-' });
    const { client, config: base } = stack;
    // Workflows only: every stage activity runs in the worker processes under test.
    workflows = await startWorkers({ config: base, queues: [], log: () => {} });

    // --smoke: the WARC pipeline, then the pipeline after extraction on the same pages.
    const passes = opts.smoke ? [{ docs: 200, input: 'warc' as const }, { docs: 200, input: 'jsonl' as const }] : opts.docs.map((docs) => ({ docs, input: opts.input }));
    for (const [p, { docs, input }] of passes.entries()) {
      const perFile = docsPerFile(docs, opts.docsPerFile);
      const corpus = ensureCorpus({ docs, docsPerFile: perFile, format: input }, log);
      log(`${docs.toLocaleString('en')} documents in ${corpus.files.length} ${input === 'jsonl' ? 'JSONL' : 'WARC'} files (${(corpus.warcBytes / 2 ** 20).toFixed(0)} MiB)`);
      const plan = pipelinePlan(corpus, { shardSize: perFile, topK: Math.max(1, Math.round(docs / 10)) });
      const runs: RunMeasure[] = [];
      // The baseline runs at the largest size only (it is several times slower per document).
      const baselineFiles = Math.min(opts.baselineFiles ?? Infinity, corpus.files.length);
      const size: SizeResult = { docs, docsPerFile: perFile, files: corpus.files.length, baselineFiles, warcBytes: corpus.warcBytes, kinds: corpus.kinds, runs, input, stages: [...stagesOf(corpus)] };
      sizes.push(size);
      // Most workers first, then the baseline, then fewer workers: a long run stopped early still has a comparison.
      const largest = p === passes.length - 1 && !opts.smoke;
      const [most, ...rest] = [...(largest ? opts.largestWorkers : opts.smoke && input === 'jsonl' ? [1] : opts.workers)].reverse();
      const steps: (() => Promise<RunMeasure> | RunMeasure)[] = [
        () => measureDapt({ client, base, dir, plan, corpus, workers: most, log }),
        ...(py && largest ? [...opts.baselineWorkers].reverse().map((w) => () => runDatatrove(py, corpus, w, baselineFiles, log)) : []),
        ...rest.map((w) => () => measureDapt({ client, base, dir, plan, corpus, workers: w, log })),
      ];
      for (const step of steps) {
        runs.push(await step());
        runs.sort((a, b) => a.impl.localeCompare(b.impl) || a.workers - b.workers);
        save(sizes);
      }
      if (opts.smoke) smokeCheck(runs);
    }
  } finally {
    await workflows?.shutdown().catch((e: unknown) => console.error('workflow worker:', e));
    await stack?.stop();
    if (!process.env.DAPT_KEEP_BENCH_DIR) fs.rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const report = renderReport({ command, machine, loadBefore, loadAfter, minutes: (Date.now() - started) / 60_000, sizes, pins: opts.baseline ? PINS : undefined });
  writeReport(report, opts.writeDocs);
}

/** Every finished run so far, in the cache folder (a long measurement stopped early keeps what it measured). */
function savePartial(saved: Saved): void {
  const file = path.join(CACHE, 'bench-pipeline', 'results-latest.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(saved, null, 1));
}

/** --smoke: every stage of every run finished with documents in and out, and the worker processes used CPU. */
function smokeCheck(runs: RunMeasure[]): void {
  for (const r of runs) {
    for (const s of r.stages) {
      if (!(s.docsIn > 0 && s.docsOut > 0 && s.cpuS >= 0)) throw new Error(`smoke: ${r.impl} × ${r.workers}: stage ${s.stage} has ${s.docsIn} in, ${s.docsOut} out, ${s.cpuS} CPU s`);
    }
    if (r.stages.reduce((a, s) => a + s.cpuS, 0) <= 0) throw new Error(`smoke: ${r.impl} × ${r.workers}: no worker CPU time was measured`);
    if (!r.peakRssBytes.every((b) => b > 0)) throw new Error(`smoke: ${r.impl} × ${r.workers}: no peak RSS measured`);
  }
  console.log('smoke: ok');
}

const INTRO =
  '`npm run bench:pipeline`: a generated web corpus as WARC files (bench/pipeline/corpus.ts: pages in three site layouts with ' +
  'navigation, cookie banners, sidebars and footers; 3 % exact and 7 % near duplicates of earlier articles; 4 % German, 3 % French, ' +
  '4 % Chinese pages; 6 % link directories, repeated spam lines and product lists; 12 % of the English articles about shipping, the ' +
  "seed domain) through warc → extract → filter → dedupe (method near: exact, then MinHash LSH) → select (DSIR, a 300-document seed " +
  'corpus through a source stage as its needs-stage), with 1 and 2 `dapt worker --queue cpu --concurrency 1` processes, beside ' +
  'datatrove running the same stages on the same WARC files with the same numbers of processes, in the same invocation. ' +
  '"docs/s per core" is the stage\'s input documents per CPU-second of the worker processes during the stage (utime + stime from ' +
  '/proc/<pid>/stat, sampled every 200 ms, between the stage\'s start and end in the run status; datatrove: each stage in a ' +
  'forked process of its own, its CPU from wait4 including its pool workers and trafilatura\'s sandbox processes); MB/s is the ' +
  "stage's input as stored (gzip WARC or JSONL files, zstd shards) per wall second, and MB of uncompressed JSONL per CPU-second where the input is JSONL; peak RSS is VmHWM per `dapt worker` process.";

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
