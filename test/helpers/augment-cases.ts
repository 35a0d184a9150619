/**
 * Corpora and parameter sets for the augment fan-out test: English with filler and topic words, a Zipf-like
 * English vocabulary of thousands of words (many ties in TF-IDF, so the tie-break by word matters), Chinese,
 * lexicon terms, a synonym table, a document without words and one whose metadata names its language.
 * `OLD_OUTPUT` in the test holds digests of what the single-activity stage (commit b753078) wrote for them.
 */
import assert from 'node:assert/strict';
import { rng } from '../../activities/rng';
import { augmentStage } from '../../activities/stages/augment/run';
import type { StageFanout, StageInputArtifact, StageOutput } from '../../activities/stages/types';
import { manifestDigest, type ArtifactStore } from '../../activities/store';
import type { StageParams, StageParamsInput } from '../../schemas/stages';
import { EN_WORDS, ZH_WORDS } from './near-corpus';
import { makeStageContext } from './stage-context';

export interface Doc {
  id: string;
  text: string;
  metadata?: Record<string, unknown>;
}

const COMMON = (
  'the of and to in that it was for on are with as his they at be this from have or by one had not but what all ' +
  'were when we there can an your which their said if do will each about how up out them then she many some so these'
).split(' ');
const TOPICS = Array.from({ length: 50 }, (_, i) => `topic${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}word`);

function sentences(words: string[], per: number, end: (i: number) => string): string {
  const out: string[] = [];
  for (let i = 0; i < words.length; i += per) {
    const s = words.slice(i, i + per).join(' ');
    out.push(s[0].toUpperCase() + s.slice(1) + end(i));
  }
  return out.join(' ');
}

export function englishDocs(n: number, seed: number, prefix = 'en'): Doc[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, d) => {
    const topic = TOPICS[d % TOPICS.length];
    const words = Array.from({ length: 40 + Math.floor(r() * 40) }, () => COMMON[Math.floor(r() * COMMON.length)]);
    for (let k = 0; k < 4; k++) words.splice(Math.floor(r() * words.length), 0, r() < 0.2 ? topic.toUpperCase() : topic);
    return { id: `${prefix}-${d}`, text: sentences(words, 16, (i) => (i % 32 === 0 ? ',' : '.')) };
  });
}

/** Words drawn Zipf-like from 4,000 pseudo-English words: most occur once or twice in the corpus. */
export function richDocs(n: number, seed: number, prefix = 'rich'): Doc[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, d) => {
    const words = Array.from({ length: 20 + Math.floor(r() * 60) }, () => EN_WORDS[Math.floor(EN_WORDS.length * r() ** 3)]);
    return { id: `${prefix}-${d}`, text: sentences(words, 11, () => (r() < 0.5 ? '.' : ';\n')) };
  });
}

export function chineseDocs(n: number, seed: number, prefix = 'zh'): Doc[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, d) => {
    const s = Array.from({ length: 3 + Math.floor(r() * 4) }, () => Array.from({ length: 8 }, () => ZH_WORDS[Math.floor(r() * ZH_WORDS.length)]).join(''));
    return { id: `${prefix}-${d}`, text: s.join('，') + '。' };
  });
}

export const TERMS = ['learning rate', 'hyperparameter', '梯度下降', '词向量'];

/** English and Chinese documents with the lexicon's terms planted. */
export function termDocs(n: number, seed: number): Doc[] {
  const r = rng(seed);
  const en = englishDocs(n, seed + 1, 'ten').map((d) => ({ ...d, text: d.text.replace(/\bthe\b/g, () => (r() < 0.5 ? 'learning rate' : 'hyperparameter')) }));
  const zh = chineseDocs(n, seed + 2, 'tzh').map((d) => ({ ...d, text: d.text.replace(/，/g, () => (r() < 0.5 ? '梯度下降，' : '，词向量')) }));
  return [...en, ...zh];
}

export const SYNONYMS = '# word<TAB>synonyms\nsaid\tstated\ttold\nmany\tnumerous\tlots of\neach\tevery\nabout\tregarding\tconcerning\nhow\tin what way\n城市\t都市\n学生\t学员\t同学\n';

export interface AugmentCase {
  name: string;
  /** Documents inputs, in order: stage name → documents. */
  inputs: [string, Doc[]][];
  lexicon: boolean;
  /** `synonyms` is filled in with the path of a file holding SYNONYMS. */
  params: StageParamsInput<'augment'>;
}

export function augmentCases(): AugmentCase[] {
  const mixed = [
    ...englishDocs(70, 1),
    ...chineseDocs(50, 2),
    { id: 'blank', text: ' \n ' },
    ...richDocs(80, 3),
    { id: 'tagged', text: englishDocs(1, 9, 'x')[0].text, metadata: { lang: 'zh-CN' } },
    ...termDocs(25, 4),
  ];
  return [
    {
      name: 'combine one, every word operation, two inputs, lexicon, synonyms',
      inputs: [
        ['docs', mixed.slice(0, 150)],
        ['more', mixed.slice(150)],
      ],
      lexicon: true,
      params: { tfidf: { ratio: 0.3 }, eda: { synonym: 0.1, insert: 0.05, swap: 0.1, delete: 0.1 }, variants: 3, seed: 7 },
    },
    {
      name: 'combine all, tfidf + swap + delete, lexicon protected',
      inputs: [['docs', mixed]],
      lexicon: true,
      params: { tfidf: { ratio: 0.4 }, eda: { swap: 0.2, delete: 0.2 }, combine: 'all', variants: 2, seed: 3 },
    },
    {
      name: 'tfidf only on a Zipf vocabulary, language en',
      inputs: [['docs', [...richDocs(300, 5), ...chineseDocs(10, 6)]]],
      lexicon: false,
      params: { tfidf: { ratio: 0.5 }, variants: 2, seed: 11, language: 'en' },
    },
    {
      name: 'EDA only (no statistics phase)',
      inputs: [['docs', mixed]],
      lexicon: false,
      params: { eda: { synonym: 0.2, swap: 0.1 }, variants: 2, seed: 5 },
    },
  ];
}

/**
 * The stage's phases as several workers would run them: every task in its own context (own work dir), a
 * phase's tasks all at once in the given order, each result through JSON (the ledger), and the first task of
 * each phase run a second time (a retry after a crash) with the same result — but for the translate task,
 * whose metrics hold its run time. Returns the output and the largest task result per phase, in JSON bytes.
 */
export async function runAsWorkers(
  store: ArtifactStore,
  params: StageParams<'augment'>,
  inputs: StageInputArtifact[],
  order: (n: number) => number[],
  opts: { run: string; resumeFrom?: unknown },
): Promise<{ out: StageOutput; sizes: Record<string, number>; logLines: string[] }> {
  const contexts: ReturnType<typeof makeStageContext>[] = [];
  const ctx = () => {
    const t = makeStageContext({ store, params, inputs, run: opts.run, resumeFrom: opts.resumeFrom });
    contexts.push(t);
    return t.ctx;
  };
  const fanout = augmentStage.fanout as (p: StageParams<'augment'>) => StageFanout<StageParams<'augment'>>;
  const { phases, reduce } = fanout(params);
  const results: unknown[][] = [];
  const sizes: Record<string, number> = {};
  const json = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
  try {
    for (const phase of phases) {
      const tasks = json(await phase.plan(ctx(), results)) as unknown[];
      const out: unknown[] = new Array(tasks.length);
      await Promise.all(order(tasks.length).map(async (i) => (out[i] = json(await phase.map(ctx(), tasks[i], i)))));
      if (tasks.length && phase.name !== 'translate') assert.deepEqual(json(await phase.map(ctx(), tasks[0], 0)), out[0], `${phase.name}: a task run twice gives the same result`);
      sizes[phase.name] = Math.max(0, ...out.map((o) => JSON.stringify(o).length));
      results.push(out);
    }
    return { out: await reduce(ctx(), results), sizes, logLines: contexts.flatMap((t) => t.logLines) };
  } finally {
    for (const t of contexts) t.cleanup();
  }
}

/** The digest the engine would give the output's manifest (content and lineage, not the producer). */
export function outputDigest(out: StageOutput, inputs: StageInputArtifact[]): string {
  return manifestDigest({
    kind: 'pairs',
    schema: out.schema,
    files: out.files,
    producer: { pipeline: 'test', run: 'run', stage: 'augment', stageKind: 'augment', attempt: 1, cacheKey: 'k', createdAt: '2020-01-01T00:00:00.000Z' },
    parents: inputs.map((i) => ({ stage: i.stage, digest: i.manifest.digest })),
    metrics: out.metrics ?? {},
  });
}
