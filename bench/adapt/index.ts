/**
 * `npm run bench:adapt`: the adaptation ablation on a real few-label task (bench/adapt/protocol.py says what the
 * arms are): base, base + general-text continued pretraining (the control), adapted (DAPT + TAPT), adapted +
 * pseudo-labels, adapted + pseudo-labels + UDA; each arm's mean ± std over seeds and its paired difference to the
 * base with a 95% interval.
 *
 *   npm run bench:adapt -- [--size cpu|cpu-hour] [--seeds 1,2,3,4,5] [--arms base,adapted] [--options JSON] [--out DIR] [--write-docs docs/benchmarks.md]
 *     --base-model general-bert: a small BERT pretrained here on general text (infra/general-base.sh) instead of the
 *       example's MiniLM base, with its own size (--size general-bert) and that general text for the control arm
 *     --pretrain-steps N: every pretrained arm's steps instead of the size's (equal budgets across arms)
 *     --options: finetune options every arm gets alike, e.g. '{"adversarial": {"method": "fgm"}}'
 *     --techniques '{"fgm": {"adversarial": {"method": "fgm"}}, "rdrop": {"rdrop": {}}}' [--technique-on base,adapted]:
 *       the toolbox's techniques, each one more arm <ref>+<name> fine-tuned with its options, in the same run
 *     --pretrain-techniques '{"dict": {"dictionary": {"path": "{bundle}/glossary.jsonl"}}}': pretraining techniques, each
 *       one more arm adapted+<name> pretrained with that config laid over adapted's (the bundle has FOLDOC's glossary)
 *   npm run bench:adapt -- --smoke                 # test/bench.smoke.test.ts: generated task, tiny model, 2 seeds
 *   npm run bench:adapt -- --bundle-only DIR [--size gpu]   # everything the GPU run reads, in one folder
 *   npm run bench:adapt -- --render OUT [--write-docs docs/benchmarks.md]   # chart (and docs table) of a finished run
 *
 * Data: infra/real-data.sh (Debian package descriptions → Section, 16 labels per class; fortune cookies as
 * general text); base: infra/warm-base.sh (all-MiniLM-L6-v2, its MLM head warmed up on general text). This script makes the bundle protocol.py reads (the data, the base
 * model, and the UDA pairs of the unlabeled task text made by the augment stage's own word operations), then runs
 * protocol.py with the trainer's venv. The GPU run is bench/adapt/gpu.sh over such a bundle.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { REPO_ROOT } from '../../infra/paths';
import { trainerPython } from '../../activities/model-stage/trainer-process';
import { augmentWords, type WordAugmenter } from '../../activities/stages/augment/run';
import { AugmentParams } from '../../activities/stages/augment/spec';
import { defaultJieba } from '../../activities/chinese';
import { rng, shuffled } from '../../activities/rng';
import { intervalChart } from '../../activities/stages/report/svg';
import { writeGeneratedSection } from '../docs-section';
import { infraDir } from '../infra-dir';

const run = promisify(execFile);

/** UDA's unlabeled pairs: EDA swap + delete (the augment stage's code; no model needed, so the bundle stays small). */
const PAIR_PARAMS = AugmentParams.parse({ language: 'en', eda: { swap: 0.1, delete: 0.1 }, combine: 'all' });

function readJsonl(file: string): Record<string, unknown>[] {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function writeJsonl(file: string, rows: unknown[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** {text, augmented} per unlabeled text, deterministic per row. */
export function udaPairs(texts: string[], seed = 0): { text: string; augmented: string }[] {
  const a: WordAugmenter = { segmenter: defaultJieba(), models: {} };
  return texts.map((text, i) => ({ text, augmented: augmentWords(text, 'en', ['swap', 'delete'], PAIR_PARAMS, a, rng(seed * 1_000_003 + i)).text }));
}

/** A small generated task for --smoke and the protocol test: 3 classes, each with its own cue words. */
export function writeSmokeData(dir: string): void {
  const r = rng(13);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const filler = ['the', 'package', 'provides', 'a', 'simple', 'tool', 'for', 'users', 'with', 'support', 'and', 'files'];
  const cues = [['audio', 'sound', 'mixer'], ['mail', 'inbox', 'smtp'], ['game', 'player', 'level']];
  const sentence = (c: number) => Array.from({ length: 8 }, (_, i) => (i % 3 === 1 ? pick(cues[c]) : pick(filler))).join(' ') + '.';
  const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ text: sentence(i % 3), label: ['sound', 'mail', 'games'][i % 3] }));
  writeJsonl(path.join(dir, 'task', 'train.jsonl'), rows(24));
  writeJsonl(path.join(dir, 'task', 'dev.jsonl'), rows(9));
  writeJsonl(path.join(dir, 'task', 'test.jsonl'), rows(30));
  writeJsonl(path.join(dir, 'task', 'unlabeled.jsonl'), rows(30).map(({ text }) => ({ text })));
  writeJsonl(path.join(dir, 'domain', 'domain.jsonl'), Array.from({ length: 60 }, (_, i) => ({ id: `d${i}`, text: `${sentence(i % 3)} ${sentence((i + 1) % 3)}` })));
  writeJsonl(path.join(dir, 'general', 'general.jsonl'), Array.from({ length: 60 }, (_, i) => ({ id: `g${i}`, text: Array.from({ length: 12 }, () => pick(filler)).join(' ') + '.' })));
}

export const BASE_MODELS = ['minilm', 'general-bert'] as const;
export type BaseModel = (typeof BASE_MODELS)[number];

export interface BundleOptions {
  out: string;
  smoke?: boolean;
  /** domain documents to take (the GPU size takes more) */
  domainDocs?: number;
  generalDocs?: number;
  data?: string;
  base?: string;
  /**
   * minilm: the example's base (all-MiniLM-L6-v2 with a warmed MLM head), general text the fortune cookies.
   * general-bert: a small BERT pretrained here from random weights on general text (infra/general-base.sh), and
   * that same general text (fortune cookies + WordNet glosses) for the control arm: a base that never saw the domain.
   */
  baseModel?: BaseModel;
  /**
   * For a machine that gets the bundle through a size limit (the device machine takes 64 MiB): the base's
   * weights stored as float16 (the GPU run trains in bf16 autocast anyway) and the documents gzipped.
   */
  compact?: boolean;
}

/** The base model's safetensors rewritten as float16, in place (the trainer loads them as float32 again). */
async function halveWeights(dir: string): Promise<void> {
  const script = `import sys, torch
from safetensors.torch import load_file, save_file
p = sys.argv[1]
t = load_file(p)
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in t.items()}, p, metadata={"format": "pt"})`;
  await run(await trainerPython(), ['-c', script, path.join(dir, 'model.safetensors')], { cwd: REPO_ROOT });
}

/** The folder protocol.py reads: base/, domain/, general/, task/, pairs.jsonl, bundle.json. Copies, no links. */
export async function makeBundle(o: BundleOptions): Promise<string> {
  fs.rmSync(o.out, { recursive: true, force: true });
  fs.mkdirSync(o.out, { recursive: true });
  let source: Record<string, unknown>;
  if (o.smoke) {
    writeSmokeData(o.out);
    const python = await trainerPython();
    await run(python, ['-m', 'trainer', 'tiny-model', '--arch', 'bert', '--corpus', path.join(o.out, 'domain', 'domain.jsonl'), path.join(o.out, 'general', 'general.jsonl'),
      '--out', path.join(o.out, 'base'), '--vocab-size', '200', '--hidden', '32', '--layers', '1', '--max-positions', '64'], { cwd: REPO_ROOT, env: { ...process.env, PYTHONPATH: REPO_ROOT } });
    source = { data: 'generated (bench/adapt/index.ts writeSmokeData)', base: 'tiny random BERT (python -m trainer tiny-model)' };
  } else {
    const data = o.data ?? (await infraDir('real-data.sh'));
    const generalBert = o.baseModel === 'general-bert';
    const base = o.base ?? (await infraDir(generalBert ? 'general-base.sh' : 'warm-base.sh'));
    fs.cpSync(base, path.join(o.out, 'base'), { recursive: true, dereference: true, filter: (f) => !path.basename(f).startsWith('.') });
    for (const f of ['train.jsonl', 'dev.jsonl', 'test.jsonl', 'unlabeled.jsonl']) fs.cpSync(path.join(data, 'task', f), path.join(o.out, 'task', f));
    if (o.compact) await halveWeights(path.join(o.out, 'base'));
    const take = (sub: string, n: number) => {
      const rows: Record<string, unknown>[] = [];
      for (const f of fs.readdirSync(path.join(data, sub)).filter((x) => x.endsWith('.jsonl')).sort()) {
        if (rows.length >= n) break;
        rows.push(...readJsonl(path.join(data, sub, f)).slice(0, n - rows.length));
      }
      const file = path.join(o.out, sub, `${sub}.jsonl`);
      writeJsonl(file, rows.map((x) => ({ id: x.id, text: x.text })));
      if (o.compact) {
        fs.writeFileSync(`${file}.gz`, zlib.gzipSync(fs.readFileSync(file), { level: 9 }));
        fs.rmSync(file);
      }
      return rows.length;
    };
    // a real glossary for the dictionary-enhanced pretraining arm (infra/glossary.sh: FOLDOC from Debian's archive)
    const glossary = await infraDir('glossary.sh');
    fs.cpSync(path.join(glossary, 'glossary.jsonl'), path.join(o.out, 'glossary.jsonl'));
    // its terms as a lexicon for the n-gram adapter arm: domain terms a person wrote down, where a pipeline would
    // use the newwords stage's mined lexicon ({word} records: FOLDOC has terms such as "{IDF}")
    writeJsonl(path.join(o.out, 'glossary-terms.jsonl'), readJsonl(path.join(o.out, 'glossary.jsonl')).map((x) => ({ word: String(x.term).replace(/\s+/g, ' ') })));
    const meta = JSON.parse(fs.readFileSync(path.join(data, 'meta.json'), 'utf8')) as Record<string, unknown>;
    let generalDocs: number;
    if (generalBert) {
      // the base's own pretraining text, all of it: the control continues on what the base already knows
      const wordnet = await infraDir('wordnet.sh');
      const rows = [...readJsonl(path.join(data, 'general', 'fortunes.jsonl')), ...readJsonl(path.join(wordnet, 'glosses.jsonl'))];
      // the base's two sources mixed into one file
      writeJsonl(path.join(o.out, 'general', 'general.jsonl'), shuffled(rows.length, rng(5)).map((i) => ({ id: rows[i].id, text: rows[i].text })));
      generalDocs = rows.length;
    } else generalDocs = take('general', o.generalDocs ?? 8000);
    source = { data, base, baseModel: o.baseModel ?? 'minilm', meta, glossary, domainDocs: take('domain', o.domainDocs ?? 8000), generalDocs, ...(o.compact ? { compact: 'base weights float16, documents gzipped' } : {}) };
  }
  const unlabeled = readJsonl(path.join(o.out, 'task', 'unlabeled.jsonl')).map((x) => String(x.text));
  writeJsonl(path.join(o.out, 'pairs.jsonl'), udaPairs(unlabeled));
  fs.writeFileSync(path.join(o.out, 'bundle.json'), JSON.stringify({ ...source, pairs: { count: unlabeled.length, augment: 'eda swap 0.1 + delete 0.1' } }, null, 2));
  return o.out;
}

interface ProtocolResults {
  arms: string[];
  comparison: Record<string, Record<string, { difference: number; lower: number; upper: number; confidence: number }>>;
}

/** Every arm's macro-F1 difference to the base with its interval: the report's interval chart. */
export function ablationChart(r: ProtocolResults): string {
  const rows = r.arms.filter((a) => r.comparison[a]?.macroF1).map((a) => ({ label: a, ...r.comparison[a].macroF1 }));
  const pct = rows.length ? `${rows[0].confidence * 100}%` : '';
  return intervalChart({ id: 'bench-adapt', rows, xLabel: `macro-F1 − base's (dot) and its ${pct} paired-bootstrap interval (line)` });
}

/** OUT/ablation.svg from OUT/results.json, and with `docs` the table in that file's bench:adapt block. */
function render(out: string, docs?: string): void {
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')) as ProtocolResults & { size: string; seeds: number[]; seconds: number; machine: string; sizes: Record<string, number> };
  fs.writeFileSync(path.join(out, 'ablation.svg'), ablationChart(results));
  console.log(`bench:adapt: the ablation as one chart: ${path.join(out, 'ablation.svg')}`);
  if (!docs) return;
  const table = fs.readFileSync(path.join(out, 'table.md'), 'utf8');
  const sizes = Object.entries(results.sizes).map(([k, v]) => `${k} ${v}`).join(', ');
  writeGeneratedSection(docs, 'bench:adapt', `Size \`${results.size}\` (${sizes}); seeds ${results.seeds.join(', ')}; ${results.machine}; ${results.seconds} s.\n\n${table.trim()}`);
}

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      smoke: { type: 'boolean', default: false },
      size: { type: 'string' },
      seeds: { type: 'string' },
      arms: { type: 'string' },
      options: { type: 'string' },
      techniques: { type: 'string' },
      'technique-on': { type: 'string' },
      'pretrain-techniques': { type: 'string' },
      'pretrain-steps': { type: 'string' },
      out: { type: 'string' },
      data: { type: 'string' },
      base: { type: 'string' },
      'base-model': { type: 'string', default: 'minilm' },
      'bundle-only': { type: 'string' },
      'domain-docs': { type: 'string' },
      'write-docs': { type: 'string' },
      render: { type: 'string' },
    },
  });
  if (a.render) return render(path.resolve(a.render), a['write-docs']);
  const baseModel = a['base-model'] as BaseModel;
  if (!BASE_MODELS.includes(baseModel)) throw new Error(`--base-model: expected ${BASE_MODELS.join(' or ')}, got "${a['base-model']}"`);
  // each base has its own CPU size: the small general-bert trains ~10x faster per token and wants other learning rates
  const size = a.smoke ? 'smoke' : (a.size ?? (baseModel === 'general-bert' ? 'general-bert' : 'cpu'));
  const sizes = ['smoke', 'cpu', 'cpu-hour', 'gpu', 'general-bert'];
  if (!sizes.includes(size)) throw new Error(`--size: expected ${sizes.slice(1).join(', ')}, got "${size}"`);
  const pretrainSteps = a['pretrain-steps'];
  if (pretrainSteps !== undefined && !/^[1-9]\d*$/.test(pretrainSteps)) throw new Error(`--pretrain-steps: expected a positive whole number of steps, got "${pretrainSteps}"`);
  const domainDocs = a['domain-docs'] ? Number(a['domain-docs']) : size === 'gpu' || baseModel === 'general-bert' ? 34_000 : 8000;
  if (a['bundle-only']) {
    const dir = await makeBundle({ out: path.resolve(a['bundle-only']), smoke: a.smoke, domainDocs, data: a.data, base: a.base, baseModel, compact: size === 'gpu' && baseModel === 'minilm' });
    console.log(`bench:adapt: bundle for --size ${size} in ${dir}; run it with bash bench/adapt/gpu.sh ${dir} OUT`);
    return;
  }
  const out = path.resolve(a.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'dapt-bench-adapt-')));
  const bundle = await makeBundle({ out: path.join(out, 'bundle'), smoke: a.smoke, domainDocs, data: a.data, base: a.base, baseModel });
  const seeds = a.seeds ?? (a.smoke ? '1,2' : '1,2,3,4,5');
  const args = [path.join(__dirname, 'protocol.py'), '--bundle', bundle, '--out', out, '--size', size, '--seeds', seeds, '--device', 'cpu'];
  if (a.arms) args.push('--arms', a.arms);
  if (a.options) args.push('--options', a.options);
  if (a.techniques) args.push('--techniques', a.techniques);
  if (a['technique-on']) args.push('--technique-on', a['technique-on']);
  if (a['pretrain-techniques']) args.push('--pretrain-techniques', a['pretrain-techniques']);
  if (pretrainSteps) args.push('--pretrain-steps', pretrainSteps);
  const python = await trainerPython();
  const code = await new Promise<number | null>((resolve) => {
    spawn(python, args, { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, PYTHONPATH: REPO_ROOT } }).once('close', resolve);
  });
  if (code !== 0) throw new Error(`bench/adapt/protocol.py exited with ${code}`);
  render(out, a['write-docs']);
  if (a.smoke) console.log('bench:adapt smoke: ok');
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
