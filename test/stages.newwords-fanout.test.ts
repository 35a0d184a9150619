/**
 * The newwords stage as a fan-out, against a real MinIO: the lexicon and metrics equal the old single-activity
 * stage's (test/helpers/newwords-reference.ts) on corpora it read whole; the bytes do not depend on the number
 * of partitions, shard layout, document order, task order, concurrent or repeated tasks, or spilling; the whole
 * input is counted (a term that only occurs at the very end is found); `sample` keeps a deterministic,
 * order-free subset of documents.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ShardWriter } from '../activities/documents';
import { newwordsFanout, newwordsStage, sampled } from '../activities/stages/newwords/run';
import { tuning } from '../activities/stages/newwords/shape';
import type { StageFanout } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import { DOCUMENT_SCHEMA } from '../schemas/manifest';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { EN_WORDS, ZH_WORDS, rng } from './helpers/near-corpus';
import { referenceNewwords } from './helpers/newwords-reference';
import { EN_GENERAL, EN_TERMS, ZH_TERMS, writeVocab } from './helpers/newwords-corpus';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';
import { objectText } from './helpers/object-text';


let minio: TestMinio;
let vocabFile: string;
let dictFile: string;
before(async () => {
  minio = await startTestMinio('newwords-fanout');
  vocabFile = writeVocab(minio.dir);
  dictFile = path.join(minio.dir, 'dict.txt');
  fs.writeFileSync(dictFile, '词向量 10 n\nweight decay\n');
});
after(async () => {
  await minio?.stop();
});

/** Documents of random general words, with a planted term in every `every`-th slot (0: none). */
function corpus(seed: number, docs: number, every: number): { en: string[]; zh: string[] } {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const make = (words: string[], terms: string[], sep: string, end: string) =>
    Array.from({ length: docs }, () => {
      const sentences = Array.from({ length: 8 }, () => Array.from({ length: 12 }, (_, i) => (every && i % every === 3 ? pick(terms) : pick(words))).join(sep));
      return sentences.join(end);
    });
  return { en: make(EN_GENERAL, EN_TERMS, ' ', '. '), zh: make(ZH_WORDS, ZH_TERMS, '', '。') };
}

interface Doc {
  id: string;
  text: string;
}

const docsOf = (stage: string, texts: string[]): Doc[] => texts.map((text, i) => ({ id: `${stage}-${i}`, text }));

async function input(store: ArtifactStore, stage: string, docs: Doc[], shardSize = 200) {
  const writer = new ShardWriter(store, minio.dir, shardSize, stage);
  for (const d of docs) await writer.write({ id: d.id, text: d.text, source: stage, metadata: {} });
  return publishAsInput(store, stage, { files: await writer.close(), schema: DOCUMENT_SCHEMA });
}

async function lexiconText(store: ArtifactStore, key: string): Promise<string> {
  return objectText(store, key);
}

/** Runs the stage (its phases inline) on domain and general documents; the lexicon file's text and the metrics. */
async function mine(params: StageParamsInput<'newwords'>, domain: Doc[], general?: Doc[], shardSize = 200) {
  const store = await minio.freshStore();
  const inputs = [await input(store, 'domain', domain, shardSize)];
  if (general) inputs.push(await input(store, 'general', general, shardSize));
  const t = makeStageContext({ store, params: stageKinds.newwords.params.parse(params), inputs });
  try {
    const out = await newwordsStage.run!(t.ctx);
    return { out, store, lexicon: await lexiconText(store, out.files[0].key), metrics: out.metrics! };
  } finally {
    t.cleanup();
  }
}

/** Messier text: 4,000 pseudo-words and single Chinese characters, so most n-grams are rare and neighbours many. */
function messy(seed: number, docs: number): string[] {
  const r = rng(seed);
  const chars = [...new Set(ZH_WORDS.join(''))];
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: docs }, (_, i) =>
    i % 2
      ? Array.from({ length: 60 }, () => (r() < 0.1 ? pick(EN_TERMS) : pick(EN_WORDS.slice(0, 300 + Math.floor(r() * 3700))))).join(r() < 0.9 ? ' ' : ', ')
      : Array.from({ length: 150 }, () => (r() < 0.08 ? pick(ZH_TERMS) : pick(chars))).join(''),
  );
}

function shuffled<T>(xs: T[], seed: number): T[] {
  const r = rng(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * The phases as several workers would run them: every task in its own context (own work dir), all of a
 * phase's tasks at once in the given order, each task's result through JSON (the ledger), and one task per
 * phase run a second time (a retry after a crash) with the same result.
 */
async function runAsWorkers(store: ArtifactStore, params: StageParamsInput<'newwords'>, inputs: Awaited<ReturnType<typeof input>>[], order: (n: number) => number[]) {
  const parsed = stageKinds.newwords.params.parse(params);
  const contexts: ReturnType<typeof makeStageContext>[] = [];
  const ctx = () => {
    const t = makeStageContext({ store, params: parsed, inputs });
    contexts.push(t);
    return t.ctx;
  };
  const fanout = newwordsFanout as StageFanout<typeof parsed>;
  const results: unknown[][] = [];
  const sizes: Record<string, number> = {};
  try {
    for (const phase of fanout.phases) {
      const tasks = JSON.parse(JSON.stringify(await phase.plan(ctx(), results))) as unknown[];
      const out: unknown[] = new Array(tasks.length);
      await Promise.all(order(tasks.length).map(async (i) => (out[i] = JSON.parse(JSON.stringify(await phase.map(ctx(), tasks[i], i))))));
      if (tasks.length) assert.deepEqual(JSON.parse(JSON.stringify(await phase.map(ctx(), tasks[0], 0))), out[0], `${phase.name}: a task run twice gives the same result`);
      sizes[phase.name] = Math.max(...out.map((o) => JSON.stringify(o).length));
      results.push(out);
    }
    const out = await fanout.reduce(ctx(), results);
    return { lexicon: await lexiconText(store, out.files[0].key), metrics: out.metrics!, sizes };
  } finally {
    for (const t of contexts) t.cleanup();
  }
}

const d = corpus(1, 300, 6);
const g = corpus(2, 300, 0);
const DOMAIN = docsOf('domain', [...d.en, ...d.zh]);
const GENERAL = docsOf('general', [...g.en, ...g.zh]);

describe('newwords fan-out', () => {
  const cases: [string, () => StageParamsInput<'newwords'>, boolean][] = [
    ['general + base vocab', () => ({ general: 'general', baseVocab: vocabFile }), true],
    ['general + dictionary', () => ({ general: 'general', dictionary: dictFile }), true],
    ['no general, no base vocab', () => ({}), false],
    ['zh only, short candidates, low threshold', () => ({ general: 'general', language: 'zh', maxChars: 3, minFreq: 2 }), true],
    ['en only, loose filters, small topK', () => ({ language: 'en', baseVocab: vocabFile, minPmi: 0, minEntropy: 0, topK: 25 }), false],
  ];
  for (const [name, params, withGeneral] of cases) {
    test(`same lexicon and metrics as the single-activity stage: ${name}`, async () => {
      const p = params();
      const got = await mine(p, DOMAIN, withGeneral ? GENERAL : undefined);
      const want = referenceNewwords(
        DOMAIN.map((x) => x.text),
        withGeneral ? GENERAL.map((x) => x.text) : undefined,
        stageKinds.newwords.params.parse(p),
      );
      assert.ok(want.lexicon.length > 0);
      assert.equal(got.lexicon, want.lexicon);
      for (const [k, v] of Object.entries(want.metrics)) assert.deepEqual(got.metrics[k], v, `metric ${k}`);
    });
  }

  test('messy text: the same lexicon as the single-activity stage, whatever the partitions, sharding, order, workers or spills', async () => {
    const params: StageParamsInput<'newwords'> = { general: 'general', minFreq: 2, minPmi: 0.5, minEntropy: 0.5, minRatio: 1.2, topK: 400 };
    const domain = docsOf('domain', messy(3, 400));
    const general = docsOf('general', messy(4, 300));
    const want = referenceNewwords(domain.map((x) => x.text), general.map((x) => x.text), stageKinds.newwords.params.parse(params));
    assert.ok((want.metrics.words as number) > 100, `a rich lexicon (${String(want.metrics.words)} words)`);

    const one = await mine({ ...params, partitions: 1 }, domain, general);
    assert.equal(one.lexicon, want.lexicon);
    for (const [k, v] of Object.entries(want.metrics)) assert.deepEqual(one.metrics[k], v, `metric ${k}`);
    assert.deepEqual(await one.store.list('ledger/newwords/'), [], 'the reduce removes the scratch objects');

    // 7 partitions, other shard sizes, documents in another order, tasks in reverse order, all at once.
    const store = await minio.freshStore();
    const inputs = [await input(store, 'domain', shuffled(domain, 5), 37), await input(store, 'general', shuffled(general, 6), 51)];
    const reverse = (n: number) => Array.from({ length: n }, (_, i) => n - 1 - i);
    const workers = await runAsWorkers(store, { ...params, partitions: 7 }, inputs, reverse);
    assert.equal(workers.lexicon, want.lexicon);
    assert.deepEqual(workers.metrics, one.metrics);
    assert.ok(workers.sizes.count < 1000 && workers.sizes.merge < 1000 && workers.sizes.score < 1000, `task results stay small: ${JSON.stringify(workers.sizes)}`);

    // Count tables spilled every few hundred n-grams: each key in several pieces, added up by the merge.
    const spillEntries = tuning.spillEntries;
    tuning.spillEntries = 500;
    try {
      const spilled = await mine({ ...params, partitions: 3 }, domain, general, 100);
      assert.equal(spilled.lexicon, want.lexicon);
    } finally {
      tuning.spillEntries = spillEntries;
    }
  });

  test('sample: a deterministic, order-free subset of documents, scored as the stage scored that subset', async () => {
    const params: StageParamsInput<'newwords'> = { general: 'general', sample: 0.5, sampleSeed: 7 };
    const got = await mine(params, DOMAIN, GENERAL);
    const keep = (docs: Doc[]) => docs.filter((x) => sampled(x.id, 0.5, 7));
    const domain = keep(DOMAIN);
    assert.ok(domain.length > DOMAIN.length * 0.4 && domain.length < DOMAIN.length * 0.6, `about half: ${domain.length} of ${DOMAIN.length}`);
    assert.equal(got.metrics.documents, domain.length);
    const want = referenceNewwords(domain.map((x) => x.text), keep(GENERAL).map((x) => x.text), stageKinds.newwords.params.parse(params));
    assert.equal(got.lexicon, want.lexicon);
    for (const [k, v] of Object.entries(want.metrics)) assert.deepEqual(got.metrics[k], v, `metric ${k}`);

    // The same documents in another order and other shards: the same sample, the same bytes.
    const again = await mine(params, shuffled(DOMAIN, 8), shuffled(GENERAL, 9), 77);
    assert.equal(again.lexicon, got.lexicon);
    // Another seed, another subset; a larger fraction, a superset.
    assert.ok(DOMAIN.some((x) => sampled(x.id, 0.5, 7) !== sampled(x.id, 0.5, 8)), 'another seed, another subset');
    const other = await mine({ ...params, sampleSeed: 8 }, DOMAIN, GENERAL);
    assert.equal(other.metrics.documents, DOMAIN.filter((x) => sampled(x.id, 0.5, 8)).length);
    assert.ok(DOMAIN.every((x) => !sampled(x.id, 0.3, 7) || sampled(x.id, 0.6, 7)), 'samples are nested as the fraction grows');
  });

  test('the whole corpus is counted: a term that only occurs after the old 50M-character prefix is found', async () => {
    const r = rng(11);
    const syllables = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'dor', 'pi', 'nax', 'qua', 'zel', 'fo', 'bri', 'gem', 'hal'];
    // Long words keep the unit count (and the test's time) down while the text passes 50M characters.
    const words = Array.from({ length: 60 }, () => Array.from({ length: 10 }, () => syllables[Math.floor(r() * syllables.length)]).join(''));
    const vocab = path.join(minio.dir, 'long-vocab.txt');
    fs.writeFileSync(vocab, words.join('\n'));
    const docs: Doc[] = [];
    let chars = 0;
    let units = 0;
    let planted = 0;
    let before = -1;
    while (chars < 51_000_000) {
      const late = chars > 50_500_000;
      if (late && before < 0) before = chars;
      const ws = Array.from({ length: 400 }, (_, i) => (late && i % 40 === 20 ? 'zymurgy' : words[Math.floor(r() * words.length)]));
      planted += ws.filter((w) => w === 'zymurgy').length;
      units += ws.length;
      const text = ws.join(' ');
      docs.push({ id: `big-${docs.length}`, text });
      chars += text.length;
    }
    assert.ok(before > 50_000_000 && planted > 0);
    const got = await mine({ language: 'en', maxWords: 1, baseVocab: vocab, minFreq: 5 }, docs, undefined, 500);
    assert.equal(got.metrics.documents, docs.length);
    assert.deepEqual(got.metrics.units, { zh: 0, en: units });
    const entry = got.lexicon.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { word: string; freq: number })
      .find((e) => e.word === 'zymurgy');
    assert.equal(entry?.freq, planted, got.lexicon.slice(0, 300));
  });
});
