/**
 * `npm run bench:data [-- --docs 1000000] [--only dapt,rensa] [--stage] [--smoke]`: MinHash + LSH near-dedupe on a generated
 * corpus, dapt against datasketch and rensa (Python, installed pinned into ~/.cache/dapt/bench-venv), with the
 * same shingles, permutations, bands and verification, each in its own process, in one run. Prints a markdown
 * table for docs/benchmarks.md: docs/s per core (documents per CPU-second), peak RSS, agreement of the flags.
 * --stage adds the whole dedupe stage (store I/O, gzip JSONL) on the same documents (./stage.ts).
 * --smoke (test/bench.smoke.test.ts): 2,000 documents, dapt and the stage, and the Python implementations only
 * where their pinned venv is installed already (a smoke run installs nothing).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_LSH } from './config';
import { writeCorpus } from './corpus';

const CACHE = path.join(os.homedir(), '.cache', 'dapt');
const VENV = path.join(CACHE, 'bench-venv');
const PINS = ['datasketch==2.0.0', 'rensa==0.5.0'];
const IMPLS = ['dapt', 'datasketch', 'rensa'] as const;

interface Result {
  impl: string;
  docs: number;
  signatureSeconds: number;
  lshSeconds: number;
  seconds: number;
  cpuSeconds: number;
  maxRssBytes: number;
  duplicates: number;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

function venvReady(): boolean {
  const py = path.join(VENV, 'bin', 'python');
  return fs.existsSync(py) && spawnSync(py, ['-c', 'import datasketch, rensa, importlib.metadata as m; assert m.version("datasketch") == "2.0.0" and m.version("rensa") == "0.5.0"']).status === 0;
}

function ensureVenv(): string {
  const py = path.join(VENV, 'bin', 'python');
  if (!venvReady()) {
    process.stderr.write(`installing ${PINS.join(', ')} into ${VENV}\n`);
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '--quiet', ...PINS], { stdio: 'inherit' });
  }
  return py;
}

function runImpl(impl: string, corpus: string, flags: string, py: string): Result {
  const { numPerm, bands, ngram, threshold } = BENCH_LSH;
  const [cmd, args] =
    impl === 'dapt'
      ? [process.execPath, ['--import', 'tsx', path.join(__dirname, 'minhash-js.ts'), corpus, flags]]
      : [py, [path.join(__dirname, 'minhash_py.py'), impl, corpus, flags, String(numPerm), String(bands), String(ngram), String(threshold)]];
  process.stderr.write(`running ${impl}…\n`);
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as Result;
}

async function main(): Promise<void> {
  const smoke = process.argv.includes('--smoke');
  const docs = Number(arg('docs', smoke ? '2000' : '100000'));
  let only = arg('only', IMPLS.join(',')).split(',');
  if (smoke && !venvReady()) {
    process.stderr.write(`smoke run: datasketch and rensa left out (not installed in ${VENV}; a full run installs them)\n`);
    only = only.filter((i) => i === 'dapt');
  }
  const dir = path.join(CACHE, 'bench-data');
  fs.mkdirSync(dir, { recursive: true });
  const corpus = path.join(dir, `corpus-${docs}.txt`);
  if (!fs.existsSync(corpus)) {
    process.stderr.write(`generating ${docs} documents → ${corpus}\n`);
    await writeCorpus(corpus + '.tmp', docs);
    fs.renameSync(corpus + '.tmp', corpus);
  }
  const py = only.some((i) => i !== 'dapt') ? ensureVenv() : '';
  const results = IMPLS.filter((i) => only.includes(i)).map((impl) => ({ ...runImpl(impl, corpus, path.join(dir, `flags-${impl}-${docs}.bin`), py), flags: fs.readFileSync(path.join(dir, `flags-${impl}-${docs}.bin`)) }));
  const base = results.find((r) => r.impl === 'dapt');
  const gib = (b: number) => (b / 2 ** 30).toFixed(2);
  const lines = [
    `${docs.toLocaleString('en')} documents, ${BENCH_LSH.numPerm} permutations = ${BENCH_LSH.bands} bands × ${BENCH_LSH.rows} rows, word ${BENCH_LSH.ngram}-gram shingles, candidates verified at Jaccard ≥ ${BENCH_LSH.threshold}; ${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}.`,
    '',
    '| implementation | docs/s per core | wall s (signatures + LSH) | CPU s | peak RSS GiB | duplicates flagged | flags agreeing with dapt |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => {
      const agree = base ? r.flags.reduce((n, f, i) => n + (f === base.flags[i] ? 1 : 0), 0) / r.docs : NaN;
      return `| ${r.impl} | ${Math.round(r.docs / r.cpuSeconds).toLocaleString('en')} | ${r.seconds.toFixed(1)} (${r.signatureSeconds.toFixed(1)} + ${r.lshSeconds.toFixed(1)}) | ${r.cpuSeconds.toFixed(1)} | ${gib(r.maxRssBytes)} | ${r.duplicates.toLocaleString('en')} | ${(100 * agree).toFixed(2)}% |`;
    }),
  ];
  if (base) {
    for (const r of results.filter((x) => x !== base)) {
      lines.push('', `dapt vs ${r.impl}: ${(r.cpuSeconds / base.cpuSeconds).toFixed(2)}× docs/s per core, ${(r.seconds / base.seconds).toFixed(2)}× wall.`);
    }
  }
  if (process.argv.includes('--stage') || smoke) {
    process.stderr.write('running the dedupe stage against MinIO…\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'stage.ts'), corpus, String(docs)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    const r = JSON.parse(out.trim().split('\n').pop()!) as Result;
    lines.push('', `${r.impl}: ${Math.round(r.docs / r.cpuSeconds).toLocaleString('en')} docs per CPU-second, ${r.seconds.toFixed(1)} s wall, ${r.duplicates.toLocaleString('en')} duplicates.`);
  }
  const table = lines.join('\n');
  fs.writeFileSync(path.join(dir, `results-${docs}.md`), table + '\n');
  process.stdout.write(table + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
