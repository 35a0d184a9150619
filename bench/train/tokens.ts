/**
 * `npm run bench:tokens`: the pretraining data path at corpus scale through the engine (issue #12 §1/§4), on real
 * text: Debian's package descriptions (infra/real-data.sh), repeated with a distinct marker per copy until the
 * corpus holds the asked number of tokens (a copy is new content: its document shards, hence its token shards,
 * have digests of their own), a 2 × 64 BERT whose WordPiece vocabulary (30,522) is trained on the descriptions.
 *
 * Per corpus size and worker count, in a bucket of its own: source → tokenize (one task per document shard, on N
 * `dapt worker --queue cpu --concurrency 1` processes) → pretrain (a few steps on the same queue, device cpu):
 *   cold  the tokenize fan-out runs, then pretrain downloads its shards;
 *   warm  the same pipeline with another pretraining seed: source and tokenize are stage-cache hits, pretrain
 *         runs again on the stored shards (and the worker's local token cache).
 * Prints tokens per CPU-second of tokenize (the workers' CPU, their trainer children included), its wall time and
 * speedup from 1 to N workers, the pretraining's time from run start to its first progress event (cold / warm),
 * the trainer's peak RSS (VmHWM, `process.peakRssMb`) and the workers' — per corpus size, and the ratio between
 * the sizes (target ≤ 1.2×).
 *
 *   npm run bench:tokens -- [--tokens 10M,200M] [--workers 1,2] [--shard-docs 20000] [--write-docs docs/benchmarks.md]
 *   npm run bench:tokens -- --smoke        (a 300k-token corpus, 1 and 2 workers: checks the mechanics, ≈ 1–2 min)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { trainerPython } from '../../activities/model-stage/trainer-process';
import { startRun, waitForRun, type RunResult } from '../../client/runs';
import type { DaptConfig } from '../../config';
import { REPO_ROOT } from '../../infra/paths';
import { startWorkerProcess, type WorkerProcess } from '../../infra/worker-process';
import { compilePipeline, formatIssues } from '../../schemas';
import { startWorkers } from '../../worker/worker';
import { writeGeneratedSection } from '../docs-section';
import { infraDir } from '../infra-dir';
import { startBenchStack, type BenchStack } from '../local-stack';
import { CpuSampler, peakRss } from '../pipeline/dapt';

const run = promisify(execFile);
const CACHE = path.join(process.env.DAPT_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'dapt'), 'bench-tokens');
const SEQ = 128;
const STEPS = 4;

interface Options {
  tokens: number[];
  workers: number[];
  shardDocs: number;
  smoke: boolean;
  writeDocs?: string;
}

/** "10M" → 10,000,000 */
function count(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(s.trim());
  if (!m) throw new Error(`--tokens: expected sizes like 10M,200M, got "${s}"`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g']);
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      tokens: { type: 'string', default: '10M,200M' },
      workers: { type: 'string', default: '1,2' },
      'shard-docs': { type: 'string', default: '20000' },
      smoke: { type: 'boolean', default: process.env.BENCH_SMOKE === '1' },
      'write-docs': { type: 'string' },
    },
  });
  if (values.smoke) return { tokens: [300_000], workers: [1, 2], shardDocs: 1500, smoke: true };
  return {
    tokens: values.tokens.split(',').map(count).sort((a, b) => a - b),
    workers: values.workers.split(',').map(Number).sort((a, b) => a - b),
    shardDocs: Number(values['shard-docs']),
    smoke: false,
    writeDocs: values['write-docs'],
  };
}

interface Corpus {
  dir: string;
  /** documents per copy of the descriptions (the tokens are counted by the tokenize stage) */
  docsPerCopy: number;
  copies: number;
  bytes: number;
}

/** The descriptions as one text per line, read once. */
function descriptions(dataDir: string): string[] {
  const dir = path.join(dataDir, 'domain');
  const texts: string[] = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort()) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) if (line.trim()) texts.push((JSON.parse(line) as { text: string }).text);
  }
  return texts;
}

/** `copies` files of the descriptions, each document prefixed with its copy's marker; cached by size. */
function ensureCorpus(texts: string[], copies: number): Corpus {
  const dir = path.join(CACHE, `corpus-${copies}`);
  fs.mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (let c = 0; c < copies; c++) {
    const file = path.join(dir, `copy-${String(c).padStart(4, '0')}.jsonl`);
    if (!fs.existsSync(file)) {
      fs.writeFileSync(`${file}.tmp`, texts.map((t, i) => JSON.stringify({ id: `c${c}-${i}`, text: `copy${c} ${t}` })).join('\n') + '\n');
      fs.renameSync(`${file}.tmp`, file);
    }
    bytes += fs.statSync(file).size;
  }
  return { dir, docsPerCopy: texts.length, copies, bytes };
}

/** A 2 × 64 BERT with a 30,522-piece WordPiece trained on the descriptions (the smoke run: 2,000 pieces). */
async function ensureModel(dataDir: string, smoke: boolean): Promise<string> {
  const out = path.join(CACHE, smoke ? 'model-smoke' : 'model');
  if (fs.existsSync(path.join(out, 'config.json'))) return out;
  const corpus = fs.readdirSync(path.join(dataDir, 'domain')).filter((f) => f.endsWith('.jsonl')).map((f) => path.join(dataDir, 'domain', f));
  await run(await trainerPython(), ['-m', 'trainer', 'tiny-model', '--arch', 'bert', '--corpus', ...corpus, '--out', `${out}.tmp`,
    '--vocab-size', smoke ? '2000' : '30522', '--layers', '2', '--hidden', '64', '--max-positions', String(SEQ)], { cwd: REPO_ROOT, env: { ...process.env, PYTHONPATH: REPO_ROOT } });
  fs.renameSync(`${out}.tmp`, out);
  return out;
}

function spec(corpus: Corpus, model: string, shardDocs: number, seed: number) {
  const res = compilePipeline({
    name: 'bench-tokens',
    stages: {
      domain: { uses: 'source', with: { paths: [corpus.dir], shardSize: shardDocs } },
      tokenize: { uses: 'tokenize', needs: ['domain'], with: { baseModel: model, seqLen: SEQ, masking: { strategy: 'token' }, evalFraction: 0.01 } },
      pretrain: {
        uses: 'pretrain',
        needs: ['tokenize'],
        queue: 'cpu',
        with: { baseModel: model, seqLen: SEQ, masking: { strategy: 'token' }, evalFraction: 0.01, evalMaxSequences: 8, device: 'cpu',
          train: { maxSteps: STEPS, batchSize: 8, lr: 1e-4, warmupSteps: 0, logEvery: 1, checkpointEvery: 1000, seed } },
      },
    },
  });
  if (!res.ok) throw new Error(formatIssues('<bench:tokens spec>', res.issues));
  return res.plan;
}

interface Measure {
  tokens: number;
  workers: number;
  tasks: number;
  tokenizeWallS: number;
  tokenizeCpuS: number;
  /** run start → pretrain's first progress event, cold (tokenize ran) and warm (tokenize was a cache hit) */
  firstStepColdS: number;
  firstStepWarmS: number;
  trainerRssColdMb: number;
  trainerRssWarmMb: number;
  workerRssMb: number[];
}

function num(r: RunResult, stage: string, key: string): number {
  const v = r.status.stages[stage]?.metrics?.[key];
  if (typeof v !== 'number') throw new Error(`${stage}: no metric ${key} (${JSON.stringify(r.status.stages[stage]?.metrics ?? {}).slice(0, 400)})`);
  return v;
}

function firstStep(r: RunResult, started: number): number {
  const s = r.status.stages.pretrain;
  return (Date.parse(s.startedAt!) - started) / 1000 + num(r, 'pretrain', 'secondsToFirstProgress');
}

let bucket = 0;
async function measure(o: { client: Client; base: DaptConfig; dir: string; corpus: Corpus; model: string; shardDocs: number; workers: number; log: (m: string) => void }): Promise<Measure> {
  const config: DaptConfig = { ...o.base, store: { ...o.base.store, bucket: `tokens-${++bucket}` } };
  const procs: WorkerProcess[] = [];
  // The workflow worker's control activities (stage cache lookups) must read the bucket the stages write.
  const workflows = await startWorkers({ config, queues: [], log: () => {} });
  try {
    for (let i = 0; i < o.workers; i++) {
      procs.push(await startWorkerProcess({ config, queues: ['cpu'], concurrency: 1, workflows: false, logFile: path.join(o.dir, `worker-${bucket}-${i}.log`), env: { OMP_NUM_THREADS: '1' } }));
    }
    const sampler = new CpuSampler(procs.map((p) => p.pid), true);
    sampler.start();
    const go = async (seed: number) => {
      const t0 = Date.now();
      const handle = await startRun(o.client, config, spec(o.corpus, o.model, o.shardDocs, seed), { runId: `w${o.workers}-s${seed}-${bucket}` });
      const res = await waitForRun(o.client, handle.workflowId);
      if (!res.ok) throw new Error(`run ${handle.workflowId} failed: ${res.error}`);
      return { res, t0 };
    };
    const cold = await go(1);
    const warm = await go(2);
    sampler.stop();
    const tk = cold.res.status.stages.tokenize;
    const [start, end] = [Date.parse(tk.startedAt!), Date.parse(tk.endedAt!)];
    if (warm.res.status.stages.tokenize.state !== 'cached') throw new Error(`warm run: tokenize was not a cache hit (${JSON.stringify(warm.res.status.stages).slice(0, 3000)})`);
    const m: Measure = {
      tokens: num(cold.res, 'tokenize', 'tokens'),
      workers: o.workers,
      tasks: tk.fanout?.total ?? 0,
      tokenizeWallS: (end - start) / 1000,
      tokenizeCpuS: sampler.at(end) - sampler.at(start),
      firstStepColdS: firstStep(cold.res, cold.t0),
      firstStepWarmS: firstStep(warm.res, warm.t0),
      trainerRssColdMb: num(cold.res, 'pretrain', 'process.peakRssMb'),
      trainerRssWarmMb: num(warm.res, 'pretrain', 'process.peakRssMb'),
      workerRssMb: procs.map((p) => peakRss(p.pid) / 2 ** 20),
    };
    o.log(`  ${(m.tokens / 1e6).toFixed(1)}M tokens, ${o.workers} worker(s): tokenize ${m.tasks} tasks ${m.tokenizeWallS.toFixed(1)} s / ${m.tokenizeCpuS.toFixed(1)} CPU s; first step cold ${m.firstStepColdS.toFixed(1)} s, warm ${m.firstStepWarmS.toFixed(1)} s; trainer peak RSS ${m.trainerRssColdMb.toFixed(0)} / ${m.trainerRssWarmMb.toFixed(0)} MiB`);
    return m;
  } finally {
    await Promise.all(procs.map((p) => p.stop().catch((e: unknown) => console.error(`worker ${p.pid}:`, e))));
    await workflows.shutdown().catch((e: unknown) => console.error('workflow worker:', e));
  }
}

function report(ms: Measure[], o: { command: string; machine: string; load: string; minutes: number; corpusNote: string }): string {
  const f1 = (x: number) => x.toFixed(1);
  const lines = [
    `- command: \`${o.command}\``,
    `- date: ${new Date().toISOString()}; machine: ${o.machine}; ${o.minutes.toFixed(1)} minutes; load average before ${o.load}, after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`,
    `- corpus: ${o.corpusNote}`,
    '',
    '| corpus tokens | workers | tokenize tasks | tokenize s | tokenize CPU s | M tokens per CPU-second | speedup vs 1 worker | first step cold s | first step warm s | trainer peak RSS cold / warm MiB | worker peak RSS MiB |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const m of ms) {
    const one = ms.find((x) => x.tokens === m.tokens && x.workers === 1);
    lines.push(`| ${(m.tokens / 1e6).toFixed(1)}M | ${m.workers} | ${m.tasks} | ${f1(m.tokenizeWallS)} | ${f1(m.tokenizeCpuS)} | ${(m.tokens / 1e6 / m.tokenizeCpuS).toFixed(3)} | ${one && one !== m ? `${(one.tokenizeWallS / m.tokenizeWallS).toFixed(2)}×` : '—'} | ${f1(m.firstStepColdS)} | ${f1(m.firstStepWarmS)} | ${m.trainerRssColdMb.toFixed(0)} / ${m.trainerRssWarmMb.toFixed(0)} | ${m.workerRssMb.map((x) => x.toFixed(0)).join(', ')} |`);
  }
  const sizes = [...new Set(ms.map((m) => m.tokens))];
  if (sizes.length > 1) {
    const [small, large] = [sizes[0], sizes[sizes.length - 1]];
    const peak = (t: number, k: 'trainerRssColdMb' | 'trainerRssWarmMb') => Math.max(...ms.filter((m) => m.tokens === t).map((m) => m[k]));
    lines.push('', `Trainer peak RSS, ${(large / 1e6).toFixed(0)}M vs ${(small / 1e6).toFixed(0)}M tokens (${(large / small).toFixed(0)}× the corpus): cold ${(peak(large, 'trainerRssColdMb') / peak(small, 'trainerRssColdMb')).toFixed(2)}×, warm ${(peak(large, 'trainerRssWarmMb') / peak(small, 'trainerRssWarmMb')).toFixed(2)}× (target ≤ 1.2×).`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const opts = parseOptions();
  process.env.DAPT_LOG_LEVEL ??= 'ERROR';
  const log = (m: string) => console.log(m);
  const started = performance.now();
  const machine = `${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM`;
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const dataDir = await infraDir('real-data.sh');
  const texts = descriptions(dataDir);
  const model = await ensureModel(dataDir, opts.smoke);
  const smokeTexts = opts.smoke ? texts.slice(0, 3000) : texts;
  // Tokens per copy, estimated from a first tokenize run would cost a run: 1.3 pieces per whitespace word is what
  // the descriptions give with their own WordPiece (the run prints the real count).
  const wordsPerCopy = smokeTexts.reduce((a, t) => a + t.split(/\s+/).length, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-tokens-'));
  let stack: BenchStack | undefined;
  const ms: Measure[] = [];
  let corpusNote = '';
  try {
    stack = await startBenchStack(dir, { bucket: 'tokens', queuePrefix: 'tokens-' });
    const { client, config: base } = stack;
    for (const target of opts.tokens) {
      const copies = Math.max(1, Math.round(target / (wordsPerCopy * 1.3)));
      const corpus = opts.smoke ? ensureCorpus(smokeTexts, 1) : ensureCorpus(texts, copies);
      log(`${(target / 1e6).toFixed(1)}M tokens asked: ${copies} cop${copies === 1 ? 'y' : 'ies'} of ${corpus.docsPerCopy.toLocaleString('en')} descriptions (${(corpus.bytes / 2 ** 20).toFixed(0)} MiB of JSONL)`);
      corpusNote = `Debian bookworm package descriptions (${corpus.docsPerCopy.toLocaleString('en')} per copy, real-data.sh), copies with a marker each; ${opts.shardDocs.toLocaleString('en')} documents per shard; a 2 × 64 BERT, WordPiece ${opts.smoke ? '2,000' : '30,522'} trained on the descriptions; seq ${SEQ}, token masking, pretrain ${STEPS} steps × 8 sequences`;
      for (const workers of opts.workers) {
        ms.push(await measure({ client, base, dir, corpus, model, shardDocs: opts.shardDocs, workers, log }));
      }
    }
  } finally {
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const command = `npm run bench:tokens -- ${opts.smoke ? '--smoke' : `--tokens ${opts.tokens.map((t) => `${t / 1e6}M`).join(',')} --workers ${opts.workers.join(',')} --shard-docs ${opts.shardDocs}`}`;
  const text = report(ms, { command, machine, load, minutes: (performance.now() - started) / 60_000, corpusNote });
  console.log(`\n${text}`);
  if (opts.smoke) {
    for (const m of ms) {
      if (!(m.tokens > 0 && m.tokenizeCpuS > 0 && m.trainerRssColdMb > 0 && m.firstStepWarmS > 0)) throw new Error(`smoke: ${JSON.stringify(m)}`);
    }
    console.log('bench:tokens smoke: ok');
  }
  if (opts.writeDocs) writeGeneratedSection(opts.writeDocs, 'bench:tokens', text);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
