/**
 * `npm run bench:extract`: main-text extraction quality and speed of dapt's extractor (html-text.ts, what the
 * `extract` stage runs) against trafilatura, in the same run, on two page sets:
 *   - generated pages with known main text (bench/extract/pages.ts);
 *   - real pages: the Dragnet data set (bench/extract/dragnet.ts), its test ids by default. Where the data is
 *     not there (`$DAPT_DRAGNET_DIR`, else ../shared/data/dragnet beside the repository) this part is skipped
 *     with a note, not an error.
 * trafilatura is installed by this script into its own venv (~/.cache/dapt/bench-venv-extract, pinned).
 * `--smoke` (or BENCH_SMOKE=1): 10 generated and 10 real pages, one timed pass, trafilatura only if its venv
 * exists already.
 *
 *   npm run bench:extract -- [--pages 250] [--reps 3] [--seed 1] [--real test|train|both|none] [--real-pages N]
 *                            [--dragnet DIR] [--baseline GIT-REV] [--no-trafilatura] [--smoke] [--write-docs docs/benchmarks.md]
 * On the real pages dapt runs twice, with the extract stage's default (comments dropped) and with `comments:
 * append`, and trafilatura with include_comments False and True; `--baseline REV` adds dapt's extractor as it was
 * at that revision, timed in the same run (the speed ratio is the honest number on a shared machine).
 *
 * Scores: generated pages: bag-of-words precision/recall/F1 against the known main text, micro-averaged over
 * all words and macro-averaged over pages; real pages: word 4-gram shingle precision/recall/F1 as the Dragnet
 * README prescribes (score.ts `shingleMatch`). Time: extraction only (no process start): a warm-up pass over all
 * pages, then `--reps` timed passes, each page's fastest time kept (GC pauses and a busy machine's noise removed;
 * passes sweep the whole set, so a page is never timed right after itself).
 * `run()` takes the same options as an object, so a smoke run can call it with small sizes
 * (`{ pages: 10, reps: 1, realPages: 10 }`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { extractMainText, type ExtractOptions, type ExtractedText } from '../../activities/stages/html-text';
import { dragnetDir, loadDragnet, type RealPage, type Split } from './dragnet';
import { generatePages, type Page } from './pages';
import { render, renderReal, writeDocs, type RealRow, type Row } from './report';
import { fromCounts, fromShingles, prf, shingleMatch } from './score';

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

/** The marker the Dragnet gold files put between the article and its comments. */
const COMMENTS_MARKER = '!@#$%^&*()  COMMENTS';

export interface Options {
  /** Generated pages (0: none). */
  pages: number;
  reps: number;
  seed: number;
  /** Which Dragnet split(s) to measure; `none` skips the real pages. */
  real: Split | 'both' | 'none';
  /** At most this many real pages per split (the first ones of the split file). */
  realPages: number;
  dragnet?: string;
  /** Also run dapt's extractor as it was at this git revision on the real pages (score and time per page, same run). */
  baseline?: string;
  /** Measure trafilatura too: `true` sets up its venv when missing, `'installed'` only uses one already there. */
  trafilatura: boolean | 'installed';
  writeDocs?: string;
}

type HtmlPage = Pick<Page, 'id' | 'html'>;
type Extractor = (html: string, options?: ExtractOptions) => ExtractedText;

/** The text the extract stage writes: with `comments: 'append'`, the comments after the article. */
const stageText = (x: ExtractedText) => (x.comments ? `${x.text}\n\n${x.comments}` : x.text);

/** A warm-up pass over all pages (JIT), then `reps` timed passes; each page's fastest time is kept. */
function runOurs(pages: HtmlPage[], reps: number, options: ExtractOptions = {}, extract: Extractor = extractMainText): Result[] {
  const results = pages.map((p) => ({ id: p.id, text: stageText(extract(p.html, options)), ms: Infinity }));
  for (let r = 0; r < reps; r++) {
    pages.forEach((p, i) => {
      const t0 = performance.now();
      extract(p.html, options);
      results[i].ms = Math.min(results[i].ms, performance.now() - t0);
    });
  }
  return results;
}

/**
 * The extractor as it was at a git revision (its modules, activities/stages/html-*.ts at that revision, written by
 * `git show` into a temporary folder under node_modules/.cache, so that their packages resolve), to time and score
 * it in the same run.
 */
function extractorAt(rev: string, dir: string): Extractor {
  const cache = path.join(__dirname, '..', '..', 'node_modules', '.cache');
  fs.mkdirSync(cache, { recursive: true });
  const into = fs.mkdtempSync(path.join(cache, 'dapt-bench-extract-baseline-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: path.join(__dirname, '..', '..') });
  const files = git('ls-tree', '--name-only', `${rev}:activities/stages/`).toString().split('\n').filter((f) => /^html-.*\.ts$/.test(f));
  for (const f of files) fs.writeFileSync(path.join(into, f), git('show', `${rev}:activities/stages/${f}`));
  fs.writeFileSync(path.join(dir, 'baseline-path'), into);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(path.join(into, 'html-text.ts')) as { extractMainText: Extractor }).extractMainText;
}

function runTrafilatura(py: string, pages: HtmlPage[], reps: number, dir: string, comments = false): { results: Result[]; version: string } {
  const input = path.join(dir, 'pages.jsonl');
  const output = path.join(dir, 'trafilatura.jsonl');
  fs.writeFileSync(input, pages.map((p) => JSON.stringify({ id: p.id, html: p.html })).join('\n') + '\n');
  const version = execFileSync(py, [path.join(__dirname, 'trafilatura_run.py'), input, output, String(reps), comments ? 'comments' : 'no-comments']).toString().trim();
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

/** Summaries of dapt and trafilatura on the real pages of one or both splits. */
function realRows(o: Options, py: string | undefined, dir: string): { rows: RealRow[]; reason?: string } {
  const found = dragnetDir(o.dragnet);
  if (!found.dir) return { rows: [], reason: found.reason };
  const rows: RealRow[] = [];
  const before = o.baseline ? extractorAt(o.baseline, dir) : undefined;
  for (const split of o.real === 'both' ? (['train', 'test'] as const) : o.real === 'none' ? [] : [o.real]) {
    const pages = loadDragnet(found.dir, split, o.realPages);
    if (before) rows.push(summarizeReal(`dapt at ${o.baseline}`, split, pages, runOurs(pages, o.reps, {}, before)));
    rows.push(summarizeReal('dapt (default: comments dropped)', split, pages, runOurs(pages, o.reps)));
    rows.push(summarizeReal('dapt, comments: append', split, pages, runOurs(pages, o.reps, { comments: true })));
    if (py) {
      for (const comments of [false, true]) {
        const theirs = runTrafilatura(py, pages, o.reps, dir, comments);
        rows.push(summarizeReal(`trafilatura ${theirs.version}, include_comments=${comments ? 'True' : 'False'}`, split, pages, theirs.results));
      }
    }
  }
  return { rows };
}

/** Shingle P/R/F1 (whole gold file, and the gold's article part before its comments) and time per page. */
function summarizeReal(extractor: string, split: Split, pages: RealPage[], results: Result[]): RealRow {
  const byId = new Map(results.map((r) => [r.id, r]));
  const whole = { tp: 0, fp: 0, fn: 0 };
  const article = { tp: 0, fp: 0, fn: 0 };
  for (const p of pages) {
    const text = byId.get(p.id)?.text ?? '';
    for (const [sum, gold] of [[whole, p.gold], [article, p.gold.split(COMMENTS_MARKER)[0]]] as const) {
      const s = shingleMatch(text, gold);
      [sum.tp, sum.fp, sum.fn] = [sum.tp + s.tp, sum.fp + s.fp, sum.fn + s.fn];
    }
  }
  const ms = results.map((r) => r.ms).sort((a, b) => a - b);
  const a = fromShingles(article.tp, article.fp, article.fn);
  return {
    extractor,
    split,
    pages: pages.length,
    ...fromShingles(whole.tp, whole.fp, whole.fn),
    articleF1: a.f1,
    articleRecall: a.recall,
    msMean: ms.reduce((x, y) => x + y, 0) / ms.length,
    msMedian: ms[Math.floor(ms.length / 2)],
    msP95: ms[Math.floor(ms.length * 0.95)],
  };
}

/** The whole benchmark; returns the Markdown block (also written into the docs with `writeDocs`). */
export function run(o: Options): string {
  // The venv is created (pip, network) only when asked for; `trafilatura: 'installed'` uses it only if present.
  const py = !o.trafilatura ? undefined : o.trafilatura === 'installed' && !fs.existsSync(path.join(VENV, 'bin', 'python')) ? undefined : ensureTrafilatura();
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  const env = `${os.cpus().length} cores (${cpu}), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM; Node ${process.version}; single-threaded both`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-extract-'));
  const parts: string[] = [];
  try {
    if (o.pages > 0) {
      const pages = generatePages(o.pages, o.seed);
      const rows = [summarize('dapt (Readability + linkedom)', pages, runOurs(pages, o.reps))];
      if (py) {
        const theirs = runTrafilatura(py, pages, o.reps, dir);
        rows.push(summarize(`trafilatura ${theirs.version}`, pages, theirs.results));
      }
      const flags = [`--real ${o.real}`, ...(o.baseline ? [`--baseline ${o.baseline}`] : []), ...(o.trafilatura ? [] : ['--no-trafilatura'])].map((x) => ` ${x}`).join('');
      parts.push(render(rows, pages, o.reps, env, flags));
    }
    if (o.real !== 'none') {
      const { rows, reason } = realRows(o, py, dir);
      parts.push(renderReal(rows, o.reps, reason));
      const load = os.loadavg().map((x) => x.toFixed(1)).join(', ');
      for (const split of new Set(rows.map((r) => r.split))) {
        const [was, now] = [`dapt at ${o.baseline}`, 'dapt (default: comments dropped)'].map((e) => rows.find((r) => r.split === split && r.extractor === e));
        if (was && now) parts.push(`Time per page, ${split} ids, dapt now / dapt at ${o.baseline}: mean ${(now.msMean / was.msMean).toFixed(2)}×, median ${(now.msMedian / was.msMedian).toFixed(2)}× (same run; load average ${load} at the end).`);
      }
    }
    if (!py) parts.push('Note: trafilatura was not measured in this run.');
  } finally {
    const baseline = path.join(dir, 'baseline-path');
    if (fs.existsSync(baseline)) fs.rmSync(fs.readFileSync(baseline, 'utf8'), { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const block = parts.join('\n\n');
  if (o.writeDocs) writeDocs(o.writeDocs, block);
  return block;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      pages: { type: 'string', default: '250' },
      reps: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      real: { type: 'string', default: 'test' },
      'real-pages': { type: 'string' },
      dragnet: { type: 'string' },
      baseline: { type: 'string' },
      'no-trafilatura': { type: 'boolean', default: false },
      'write-docs': { type: 'string' },
      smoke: { type: 'boolean', default: false },
    },
  });
  if (!['test', 'train', 'both', 'none'].includes(values.real)) throw new Error(`--real must be test, train, both or none, not ${values.real}`);
  // --smoke (test/bench.smoke.test.ts): 10 generated and 10 real pages, one timed pass, trafilatura only when installed already.
  const smoke = values.smoke || process.env.BENCH_SMOKE === '1';
  const block = run({
    pages: smoke ? 10 : Number(values.pages),
    reps: smoke ? 1 : Number(values.reps),
    seed: Number(values.seed),
    real: values.real as Options['real'],
    realPages: smoke ? 10 : values['real-pages'] === undefined ? Infinity : Number(values['real-pages']),
    dragnet: values.dragnet,
    baseline: values.baseline,
    trafilatura: values['no-trafilatura'] ? false : smoke ? 'installed' : true,
    writeDocs: values['write-docs'],
  });
  console.log(block);
}

if (require.main === module) main();
