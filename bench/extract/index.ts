/**
 * `npm run bench:extract`: main-text extraction quality and speed of dapt's extractor (html-text.ts, what the
 * `extract` stage runs) against trafilatura on the same generated pages (bench/extract/pages.ts), in the same
 * run. trafilatura is installed by this script into its own venv (~/.cache/dapt/bench-venv-extract, pinned).
 *
 *   npm run bench:extract -- [--pages 250] [--reps 3] [--seed 1] [--write-docs docs/benchmarks.md]
 *
 * Scores: bag-of-words precision/recall/F1 against the known main text, micro-averaged over all words and
 * macro-averaged over pages; time: extraction only (no process start): a warm-up pass over all pages, then
 * `--reps` timed passes, each page's fastest time kept (GC pauses and a busy machine's noise removed; passes
 * sweep the whole set, so a page is never timed right after itself).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { extractMainText } from '../../activities/stages/html-text';
import { generatePages, type Page } from './pages';
import { render, writeDocs, type Row } from './report';
import { fromCounts, prf } from './score';

const VENV = path.join(os.homedir(), '.cache', 'dapt', 'bench-venv-extract');
const PIP_PINS = ['trafilatura==2.3.1', 'lxml_html_clean==0.4.6'];

interface Result {
  id: string;
  text: string;
  ms: number;
}

function ensureTrafilatura(): string {
  const py = path.join(VENV, 'bin', 'python');
  const ok = () => {
    try {
      return execFileSync(py, ['-c', 'import trafilatura; print(trafilatura.__version__)'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() === '2.3.1';
    } catch {
      return false;
    }
  };
  if (!ok()) {
    if (!fs.existsSync(py)) execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(path.join(VENV, 'bin', 'pip'), ['install', '-q', ...PIP_PINS], { stdio: 'inherit' });
  }
  return py;
}

/** A warm-up pass over all pages (JIT), then `reps` timed passes; each page's fastest time is kept. */
function runOurs(pages: Page[], reps: number): Result[] {
  const results = pages.map((p) => ({ id: p.id, text: extractMainText(p.html).text, ms: Infinity }));
  for (let r = 0; r < reps; r++) {
    pages.forEach((p, i) => {
      const t0 = performance.now();
      extractMainText(p.html);
      results[i].ms = Math.min(results[i].ms, performance.now() - t0);
    });
  }
  return results;
}

function runTrafilatura(py: string, pages: Page[], reps: number, dir: string): { results: Result[]; version: string } {
  const input = path.join(dir, 'pages.jsonl');
  const output = path.join(dir, 'trafilatura.jsonl');
  fs.writeFileSync(input, pages.map((p) => JSON.stringify({ id: p.id, html: p.html })).join('\n') + '\n');
  const version = execFileSync(py, [path.join(__dirname, 'trafilatura_run.py'), input, output, String(reps)]).toString().trim();
  const results = fs.readFileSync(output, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Result);
  return { results, version };
}

function summarize(extractor: string, pages: Page[], results: Result[]): Row {
  const byId = new Map(results.map((r) => [r.id, r]));
  let [tp, ne, ng] = [0, 0, 0];
  const f1s: number[] = [];
  const perTemplate: Record<string, number[]> = {};
  for (const p of pages) {
    const s = prf(byId.get(p.id)?.text ?? '', p.gold);
    [tp, ne, ng] = [tp + s.tp, ne + s.nExtracted, ng + s.nGold];
    f1s.push(s.f1);
    (perTemplate[p.template] ??= []).push(s.f1);
  }
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    extractor,
    ...fromCounts(tp, ne, ng),
    macroF1: mean(f1s),
    byTemplate: Object.fromEntries(Object.entries(perTemplate).map(([k, v]) => [k, mean(v)])),
    msMean: mean(ms),
    msMedian: ms[Math.floor(ms.length / 2)],
    msP95: ms[Math.floor(ms.length * 0.95)],
  };
}

function main(): void {
  const { values } = parseArgs({
    options: { pages: { type: 'string', default: '250' }, reps: { type: 'string', default: '3' }, seed: { type: 'string', default: '1' }, 'write-docs': { type: 'string' }, smoke: { type: 'boolean', default: false } },
  });
  // --smoke (test/bench.smoke.test.ts): 10 pages, one timed pass, trafilatura only when installed already.
  const smoke = values.smoke;
  const pages = generatePages(smoke ? 10 : Number(values.pages), Number(values.seed));
  const py = smoke ? (fs.existsSync(path.join(VENV, 'bin', 'python')) ? ensureTrafilatura() : undefined) : ensureTrafilatura();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-extract-'));
  try {
    const reps = smoke ? 1 : Number(values.reps);
    const ours = runOurs(pages, reps);
    const theirs = py ? runTrafilatura(py, pages, reps, dir) : undefined;
    const rows = [summarize('dapt (Readability + linkedom)', pages, ours), ...(theirs ? [summarize(`trafilatura ${theirs.version}`, pages, theirs.results)] : [])];
    const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
    const env = `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; Node ${process.version}; single-threaded both`;
    const block = render(rows, pages, reps, env);
    console.log(block);
    if (values['write-docs']) writeDocs(values['write-docs'], block);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
