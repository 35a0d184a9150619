/**
 * The augment stage against a real MinIO (and once through the real engine): deterministic pairs under a seed,
 * UDA's TF-IDF replacement keeping keywords and replacing about `ratio` of the words, EDA's synonym operations
 * drawing only from the synonym lexicon, Chinese re-joined from whole jieba words, lexicon terms protected,
 * errors that name the file and line, and back-translation through the trainer with a tiny random T5.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ShardWriter } from '../activities/documents';
import { ConfigError, InputError } from '../activities/errors';
import { augmentStage, type AugmentCheckpoint } from '../activities/stages/augment/run';
import { splitWords, wordKey } from '../activities/stages/augment/tokens';
import { defaultJieba } from '../activities/chinese';
import type { StageInputArtifact } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import { startRun, waitForRun } from '../client/runs';
import { rng } from '../activities/rng';
import { compilePipeline } from '../schemas';
import { DOCUMENT_SCHEMA, type ManifestT } from '../schemas/manifest';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { PairRecord, PAIR_SCHEMA, type PairRecordT } from '../activities/stages/augment/spec';
import { runAsWorkers } from './helpers/augment-cases';
import { ZH_WORDS } from './helpers/near-corpus';
import { plan } from './helpers/plans';
import { startStack } from './helpers/stack';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';
import { buildTinyModel } from './helpers/tiny-model';
import { decompressedBuffer } from '../activities/shard-codec';

process.env.OMP_NUM_THREADS ??= '1';

/** Filler words every document uses: low IDF, so TF-IDF replacement should pick them. */
const COMMON = (
  'the of and to in that it was for on are with as his they at be this from have or by one had not but what all ' +
  'were when we there can an your which their said if do will each about how up out them then she many some so these'
).split(' ');
/** Topic keywords: each belongs to a few documents and is repeated there (high TF-IDF). */
const TOPICS = Array.from({ length: 50 }, (_, i) => `topic${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}word`);

function englishDocs(n: number, seed = 1): { id: string; text: string }[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, d) => {
    const topic = TOPICS[d % TOPICS.length];
    const words = Array.from({ length: 60 }, () => COMMON[Math.floor(r() * COMMON.length)]);
    for (let k = 0; k < 4; k++) words.splice(Math.floor(r() * words.length), 0, topic);
    const sentences: string[] = [];
    for (let i = 0; i < words.length; i += 16) {
      const s = words.slice(i, i + 16).join(' ');
      sentences.push(s[0].toUpperCase() + s.slice(1) + (i % 32 === 0 ? ',' : '.'));
    }
    return { id: `en-${d}`, text: sentences.join(' ') };
  });
}

function chineseDocs(n: number, seed = 2): { id: string; text: string }[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, d) => {
    const sentences = Array.from({ length: 5 }, () => Array.from({ length: 8 }, () => ZH_WORDS[Math.floor(r() * ZH_WORDS.length)]).join(''));
    return { id: `zh-${d}`, text: sentences.join('，') + '。' };
  });
}

let minio: TestMinio;
before(async () => {
  minio = await startTestMinio('augment');
});
after(async () => {
  await minio?.stop();
});

async function documentsInput(store: ArtifactStore, stage: string, docs: { id: string; text: string; metadata?: Record<string, unknown> }[], shardSize = 50): Promise<StageInputArtifact> {
  const writer = new ShardWriter(store, minio.dir, shardSize, `${stage}-${shardSize}`);
  for (const d of docs) await writer.write({ id: d.id, text: d.text, source: stage, metadata: d.metadata ?? {} });
  return publishAsInput(store, stage, { files: await writer.close(), schema: DOCUMENT_SCHEMA });
}

async function lexiconInput(store: ArtifactStore, words: string[]): Promise<StageInputArtifact> {
  const file = path.join(minio.dir, `lexicon-${Date.now()}.jsonl`);
  fs.writeFileSync(file, words.map((word) => JSON.stringify({ word, score: 1 })).join('\n') + '\n');
  const manifest = await store.writeManifest({
    kind: 'lexicon',
    schema: 'lexicon/v1',
    files: [await store.putFile(file, 'lexicon.jsonl', words.length)],
    producer: { pipeline: 'test', run: 'run-1', stage: 'newwords', stageKind: 'newwords', attempt: 1, cacheKey: 'newwords', createdAt: new Date().toISOString() },
    parents: [],
    metrics: {},
  });
  return { stage: 'newwords', manifest };
}

async function readPairs(store: ArtifactStore, files: ManifestT['files']): Promise<PairRecordT[]> {
  const out: PairRecordT[] = [];
  for (const f of files) {
    const text = (await decompressedBuffer(Buffer.concat(await (await store.getStream(f.key)).toArray()))).toString('utf8');
    for (const line of text.split('\n').filter(Boolean)) out.push(PairRecord.parse(JSON.parse(line)));
  }
  return out;
}

async function augment(store: ArtifactStore, inputs: StageInputArtifact[], params: StageParamsInput<'augment'>) {
  const t = makeStageContext({ store, params: stageKinds.augment.params.parse(params), inputs });
  try {
    const out = await augmentStage.run!(t.ctx);
    return { out, pairs: await readPairs(store, out.files) };
  } finally {
    t.cleanup();
  }
}

/** Word-aligned comparison of an original and an augmented text that kept the word count (replacements only). */
function aligned(pair: PairRecordT): { from: string; to: string }[] {
  const jieba = defaultJieba();
  const a = splitWords(pair.text, pair.lang, jieba);
  const b = splitWords(pair.augmented, pair.lang, jieba);
  assert.equal(b.words.length, a.words.length, `same word count: ${pair.text} → ${pair.augmented}`);
  assert.deepEqual(b.seps, a.seps, 'punctuation and spaces are kept');
  return a.words.map((w, i) => ({ from: w, to: b.words[i] }));
}

describe('augment stage', () => {
  test('same documents + seed → byte-identical pairs, the same pairs whatever the input sharding; another seed → other pairs', async () => {
    const store = await minio.freshStore();
    const docs = englishDocs(120);
    const params = { tfidf: { ratio: 0.3 }, eda: { swap: 0.1, delete: 0.1 }, variants: 3, seed: 7, shardSize: 100 };
    const a = await augment(store, [await documentsInput(store, 'docs', docs, 50)], params);
    const again = await augment(store, [await documentsInput(store, 'docs', docs, 50)], params);
    assert.deepEqual(again.out.files.map((f) => f.sha256), a.out.files.map((f) => f.sha256), 'shard files are identical');
    // Pairs shards follow the input shards (one apply task per input shard): other sharding, other files, the same pairs.
    const b = await augment(store, [await documentsInput(store, 'docs', docs, 37)], params);
    assert.deepEqual(b.pairs, a.pairs, 'the same pairs, in the same order');
    assert.deepEqual(b.out.metrics, a.out.metrics);
    assert.equal(a.pairs.length, 360);
    assert.equal(a.out.schema, PAIR_SCHEMA);

    // Reversed input order: each pair is the same record (the generator is per document id and variant).
    const reversed = await augment(store, [await documentsInput(store, 'docs', [...docs].reverse(), 50)], params);
    const key = (p: PairRecordT) => `${p.id}/${p.variant}`;
    const byKey = new Map(a.pairs.map((p) => [key(p), JSON.stringify(p)]));
    for (const p of reversed.pairs) assert.equal(JSON.stringify(p), byKey.get(key(p)));

    const other = await augment(store, [await documentsInput(store, 'docs', docs, 50)], { ...params, seed: 8 });
    const differing = other.pairs.filter((p, i) => p.augmented !== a.pairs[i].augmented).length;
    assert.ok(differing > 0.9 * a.pairs.length, `another seed changes the pairs (${differing} of ${a.pairs.length} differ)`);
    // Variants of one document differ from each other and from the original.
    const variants = new Set(a.pairs.filter((p) => p.id === 'en-0').map((p) => p.augmented));
    assert.equal(variants.size, 3);
    assert.ok(a.pairs.every((p) => p.augmented !== p.text));
  });

  test('pair records are well formed: one per document and variant, the original text, the operations done', async () => {
    const store = await minio.freshStore();
    const docs = [...englishDocs(20), { id: 'blank', text: ' \n ' }];
    const { out, pairs } = await augment(store, [await documentsInput(store, 'docs', docs)], { tfidf: { ratio: 0.2 }, eda: { swap: 0.1 }, variants: 2, combine: 'one' });
    assert.equal(pairs.length, 40, 'a document without words gives no pair');
    const texts = new Map(docs.map((d) => [d.id, d.text]));
    for (const p of pairs) {
      assert.equal(p.text, texts.get(p.id));
      assert.equal(p.lang, 'en');
      assert.equal(Object.keys(p.ops).length, 1, `combine one: one operation per pair (${JSON.stringify(p.ops)})`);
      assert.ok(p.ops.tfidf! > 0 || p.ops.swap! > 0);
    }
    // Per document, the two variants rotate over the two operations.
    for (const d of docs.slice(0, 20)) assert.deepEqual(new Set(pairs.filter((p) => p.id === d.id).flatMap((p) => Object.keys(p.ops))), new Set(['tfidf', 'swap']));
    const m = out.metrics as { documents: number; pairs: number; skippedEmpty: number; operations: string[] };
    assert.deepEqual([m.documents, m.pairs, m.skippedEmpty, m.operations], [20, 40, 1, ['tfidf', 'swap']]);
  });

  test('TF-IDF replacement: about `ratio` of the words change, keywords survive far more often than filler words', async () => {
    const store = await minio.freshStore();
    const docs = englishDocs(200);
    for (const ratio of [0.15, 0.4]) {
      const { pairs, out } = await augment(store, [await documentsInput(store, 'docs', docs)], { tfidf: { ratio }, variants: 2 });
      let words = 0;
      let changed = 0;
      const survived = { topic: [0, 0], common: [0, 0] };
      for (const p of pairs) {
        for (const { from, to } of aligned(p)) {
          words++;
          if (to !== from) changed++;
          const kind = TOPICS.includes(from) ? 'topic' : 'common';
          survived[kind][0] += to === from ? 1 : 0;
          survived[kind][1]++;
        }
      }
      const fraction = changed / words;
      assert.ok(Math.abs(fraction - ratio) < 0.02, `ratio ${ratio}: ${fraction.toFixed(4)} of the words changed`);
      const topic = survived.topic[0] / survived.topic[1];
      const common = survived.common[0] / survived.common[1];
      assert.ok(topic > 0.98, `keywords survive: ${topic.toFixed(3)}`);
      assert.ok(common < 1 - 0.9 * ratio, `filler words are replaced: ${common.toFixed(3)} survive`);
      assert.equal((out.metrics as { editsPerWord: Record<string, number> }).editsPerWord.tfidf, Math.round(fraction * 1e4) / 1e4);
    }
  });

  test('replacement words come from the corpus vocabulary; capitalisation is kept', async () => {
    const store = await minio.freshStore();
    const { pairs } = await augment(store, [await documentsInput(store, 'docs', englishDocs(60))], { tfidf: { ratio: 0.5 } });
    const vocab = new Set([...COMMON, ...TOPICS]);
    for (const p of pairs) {
      for (const { from, to } of aligned(p)) {
        assert.ok(vocab.has(wordKey(to)), `${to} is a corpus word`);
        if (from[0] !== from[0].toLowerCase()) assert.ok(to[0] === to[0].toUpperCase(), `${from} → ${to} keeps its capital`);
      }
    }
  });

  test('EDA synonym replacement uses only the lexicon\'s synonyms; insertion inserts synonyms', async () => {
    const store = await minio.freshStore();
    const synonyms = path.join(minio.dir, 'synonyms.tsv');
    const table: Record<string, string[]> = { said: ['stated', 'told'], many: ['numerous', 'lots of'], each: ['every'], about: ['regarding', 'concerning'], how: ['in what way'] };
    fs.writeFileSync(synonyms, '# word<TAB>synonyms\n' + Object.entries(table).map(([w, s]) => [w, ...s].join('\t')).join('\n') + '\n');
    const docs = englishDocs(80);
    const { pairs } = await augment(store, [await documentsInput(store, 'docs', docs)], { eda: { synonym: 0.1 }, synonyms, variants: 2 });
    let replaced = 0;
    for (const p of pairs) {
      const from = splitWords(p.text, 'en', defaultJieba()).words;
      // Multi-word synonyms ("lots of") split into several words: compare the text with the synonyms put back.
      let rebuilt = p.augmented;
      for (const [w, syns] of Object.entries(table)) for (const s of syns) rebuilt = rebuilt.replace(new RegExp(`\\b${s}\\b`, 'gi'), (m) => (m[0] === m[0].toUpperCase() ? w[0].toUpperCase() + w.slice(1) : w));
      assert.equal(rebuilt, p.text, 'every change is a synonym of the lexicon');
      replaced += p.ops.synonym ?? 0;
      assert.ok((p.ops.synonym ?? 0) <= Math.max(1, Math.floor(0.1 * from.length)));
    }
    assert.ok(replaced > pairs.length, `synonyms were used (${replaced} replacements in ${pairs.length} pairs)`);

    const ins = await augment(store, [await documentsInput(store, 'docs', docs)], { eda: { insert: 0.05 }, synonyms });
    const allSynonyms = new Set(Object.values(table).flat());
    let inserted = 0;
    for (const p of ins.pairs) {
      const added = splitWords(p.augmented, 'en', defaultJieba()).words;
      inserted += p.ops.insert ?? 0;
      const counts = (ws: string[]) => ws.reduce((m, w) => m.set(w, (m.get(w) ?? 0) + 1), new Map<string, number>());
      const a = counts(splitWords(p.text, 'en', defaultJieba()).words);
      for (const [w, n] of counts(added)) if (n > (a.get(w) ?? 0)) assert.ok([...allSynonyms].some((s) => s.split(' ').includes(w)), `inserted ${w} is a synonym`);
    }
    assert.ok(inserted > ins.pairs.length, `${inserted} synonyms inserted into ${ins.pairs.length} texts`);
  });

  test('Chinese: jieba words are replaced whole and re-joined without spaces', async () => {
    const store = await minio.freshStore();
    const docs = chineseDocs(120);
    const { pairs } = await augment(store, [await documentsInput(store, 'docs', docs)], { tfidf: { ratio: 0.3 }, variants: 2 });
    const jieba = defaultJieba();
    const vocab = new Set(docs.flatMap((d) => splitWords(d.text, 'zh', jieba).words));
    let changed = 0;
    let words = 0;
    for (const p of pairs) {
      assert.equal(p.lang, 'zh');
      assert.ok(!/\s/.test(p.augmented), 'no spaces inserted');
      const steps = wholeWordReplacements(p.text, p.augmented, vocab);
      assert.ok(steps, `${p.augmented} is ${p.text} with whole words replaced by corpus words`);
      changed += steps.changed;
      words += steps.words;
    }
    assert.ok(Math.abs(changed / words - 0.3) < 0.05, `${(changed / words).toFixed(3)} of the words replaced`);
  });

  test('language: metadata lang first, else the script; a mixed corpus gets per-language statistics', async () => {
    const store = await minio.freshStore();
    const docs = [...englishDocs(30), ...chineseDocs(30), { id: 'tagged', text: englishDocs(1, 9)[0].text, metadata: { lang: 'zh-CN' } }];
    const { pairs, out } = await augment(store, [await documentsInput(store, 'docs', docs)], { tfidf: { ratio: 0.3 } });
    assert.equal(pairs.find((p) => p.id === 'tagged')!.lang, 'zh', 'the metadata says zh');
    assert.equal(pairs.filter((p) => p.lang === 'zh').length, 31);
    for (const p of pairs.filter((x) => x.id.startsWith('en-'))) assert.ok(!/\p{Script=Han}/u.test(p.augmented), 'English words are replaced by English words');
    assert.deepEqual((out.metrics as { languages: unknown }).languages, { en: 30, zh: 31 });
  });

  test('lexicon terms are protected from replacement, swap and deletion (and are lost without protection)', async () => {
    const store = await minio.freshStore();
    const terms = ['learning rate', 'hyperparameter', '梯度下降', '词向量'];
    const r = rng(3);
    const en = englishDocs(60).map((d) => ({ ...d, text: d.text.replace(/\bthe\b/g, () => (r() < 0.5 ? 'learning rate' : 'hyperparameter')) }));
    const zh = chineseDocs(60).map((d) => ({ ...d, text: d.text.replace(/，/g, () => (r() < 0.5 ? '梯度下降，' : '，词向量')) }));
    const inputs = [await documentsInput(store, 'docs', [...en, ...zh]), await lexiconInput(store, terms)];
    const occurrences = (text: string, t: string) => text.split(t).length - 1;
    const lost = async (protectLexicon: boolean) => {
      const { pairs, out } = await augment(store, inputs, { tfidf: { ratio: 0.4 }, eda: { delete: 0.3, swap: 0.2 }, combine: 'all', variants: 2, protectLexicon });
      let n = 0;
      for (const p of pairs) for (const t of terms) n += Math.max(0, occurrences(p.text, t) - occurrences(p.augmented, t));
      return { n, out };
    };
    const withProtection = await lost(true);
    assert.equal(withProtection.n, 0, 'no term occurrence is lost');
    assert.equal((withProtection.out.metrics as { protectedTerms: number }).protectedTerms, 4);
    const without = await lost(false);
    assert.ok(without.n > 100, `without protection, ${without.n} term occurrences are lost`);
  });

  test('bad synonym files and empty input are errors naming the file and line', async () => {
    const store = await minio.freshStore();
    const inputs = [await documentsInput(store, 'docs', englishDocs(5))];
    const run = (params: StageParamsInput<'augment'>) => augment(store, inputs, params);
    const missing = path.join(minio.dir, 'nope.tsv');
    await assert.rejects(run({ eda: { synonym: 0.1 }, synonyms: missing }), (e: Error) => e instanceof ConfigError && e.message.includes(missing));
    const tsv = path.join(minio.dir, 'bad.tsv');
    fs.writeFileSync(tsv, 'said\tstated\nmany\tnumerous\nbroken line without tab\n');
    await assert.rejects(run({ eda: { synonym: 0.1 }, synonyms: tsv }), (e: Error) => e instanceof ConfigError && e.message.includes(`${tsv}:3:`));
    const json = path.join(minio.dir, 'bad.json');
    fs.writeFileSync(json, '{\n  "said": ["stated"],\n  "many": ["numerous",\n}\n');
    await assert.rejects(run({ eda: { synonym: 0.1 }, synonyms: json }), (e: Error) => e instanceof ConfigError && e.message.includes(`${json}:4`));
    fs.writeFileSync(json, '{\n  "said": ["stated"],\n  "many": "numerous"\n}\n');
    await assert.rejects(run({ eda: { synonym: 0.1 }, synonyms: json }), (e: Error) => e instanceof ConfigError && e.message.includes(`${json}:3: "many" must map to a list of strings`));

    const empty = [await documentsInput(store, 'empty', [{ id: 'a', text: '  ' }])];
    await assert.rejects(augment(store, empty, { tfidf: { ratio: 0.2 } }), (e: Error) => e instanceof InputError && /no text to augment.*empty/.test(e.message));
    await assert.rejects(augment(store, [], { tfidf: { ratio: 0.2 } }), ConfigError);

    // Local paths, nested ones included, are resolved against the pipeline file's folder; s3:// is left alone.
    const compiled = compilePipeline(
      { name: 'p', stages: { docs: { uses: 'source', with: { paths: ['corpus'] } }, aug: { uses: 'augment', needs: ['docs'], with: { eda: { synonym: 0.1 }, synonyms: 'syn.tsv', backTranslation: { forward: 'models/en-de', backward: 's3://models/de-en/' } } } } },
      { baseDir: '/pipelines/legal' },
    );
    assert.ok(compiled.ok);
    const aug = compiled.plan.stages.aug.params as { synonyms: string; backTranslation: { forward: string; backward: string } };
    assert.deepEqual([aug.synonyms, aug.backTranslation.forward, aug.backTranslation.backward], ['/pipelines/legal/syn.tsv', '/pipelines/legal/models/en-de', 's3://models/de-en/']);

    // Params that cannot work are rejected by the schema, before anything runs.
    assert.equal(stageKinds.augment.params.safeParse({}).success, false, 'no operation enabled');
    assert.equal(stageKinds.augment.params.safeParse({ eda: { synonym: 0.1 } }).success, false, 'synonyms needed');
  });
});

/**
 * Whether `augmented` is `original` with some of its jieba words replaced by corpus words (a search over the
 * original's word positions); returns the number of words and of replaced ones.
 */
function wholeWordReplacements(original: string, augmented: string, vocab: Set<string>): { words: number; changed: number } | undefined {
  const w = splitWords(original, 'zh', defaultJieba());
  if (!augmented.startsWith(w.lead)) return undefined;
  const memo = new Map<string, number | undefined>();
  const walk = (i: number, at: number): number | undefined => {
    if (i === w.words.length) return at === augmented.length ? 0 : undefined;
    const key = `${i}:${at}`;
    if (memo.has(key)) return memo.get(key);
    let best: number | undefined;
    for (const cand of [w.words[i], ...vocab]) {
      if (!augmented.startsWith(cand + w.seps[i], at)) continue;
      const rest = walk(i + 1, at + cand.length + w.seps[i].length);
      if (rest !== undefined) {
        best = rest + (cand === w.words[i] ? 0 : 1);
        break;
      }
    }
    memo.set(key, best);
    return best;
  };
  const changed = walk(0, w.lead.length);
  return changed === undefined ? undefined : { words: w.words.length, changed };
}

/** The tiny T5 the engine test builds, reused by the retry test after it. */
let tinyT5: string | undefined;

describe('augment through the engine', () => {
  test('source → augment on a real Temporal + MinIO stack; back-translation through the trainer with a tiny T5', async (t) => {
    const stack = await startStack('augment');
    t.after(() => stack.stop());
    const dir = path.join(stack.dir, 'corpus');
    fs.mkdirSync(dir, { recursive: true });
    const docs = [...englishDocs(12), ...chineseDocs(6)];
    fs.writeFileSync(path.join(dir, 'docs.jsonl'), docs.map((d) => JSON.stringify({ text: d.text })).join('\n') + '\n');
    const t5 = await buildTinyModel({ arch: 't5', corpus: [path.join(dir, 'docs.jsonl')], out: path.join(stack.dir, 'tiny-t5'), vocabSize: 300, hidden: 32, layers: 1 });
    fs.cpSync(t5, path.join(minio.dir, 'tiny-t5'), { recursive: true });
    tinyT5 = path.join(minio.dir, 'tiny-t5');

    const cfg = stack.config('augment');
    await stack.workers(cfg, ['cpu']);
    const backTranslation = { forward: t5, backward: t5, maxLength: 12, batchSize: 8, device: 'cpu', temperature: 0.9 };
    const spec = (bt: Record<string, unknown>) =>
      plan({
        name: 'augment-e2e',
        defaults: { retry: { maxAttempts: 2, initialInterval: '200ms' } },
        stages: {
          docs: { uses: 'source', with: { paths: [dir] } },
          augment: { uses: 'augment', needs: ['docs'], with: { tfidf: { ratio: 0.3 }, backTranslation: bt, variants: 2, seed: 3 } },
        },
      });
    const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, spec(backTranslation))).workflowId);
    assert.equal(res.ok, true, `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 3000)}`);
    const st = res.status.stages.augment;
    // A fan-out: stats and apply per input shard, merge per partition, rank and translate one task each.
    assert.ok((st.fanout?.total ?? 0) >= 5, `augment ran as a fan-out: ${JSON.stringify(st.fanout)}`);
    const manifest = (await stack.store(cfg).readManifest(st.digest!))!;
    assert.equal(manifest.kind, 'pairs');
    assert.equal(manifest.schema, PAIR_SCHEMA);
    const pairs = await readPairs(stack.store(cfg), manifest.files);
    assert.equal(pairs.length, 2 * docs.length);
    const bt = pairs.filter((p) => p.ops.backTranslation === 1);
    assert.equal(bt.length, docs.length, 'combine one: one of the two variants of each document is back-translated');
    assert.equal(st.metrics!.backTranslated, docs.length);
    assert.equal((st.metrics!.translate as { texts: number }).texts, docs.length, 'the trainer translated one text per request');

    // A model directory that does not exist fails the stage at once, naming the path.
    const missing = path.join(stack.dir, 'no-such-model');
    const bad = await waitForRun(stack.client, (await startRun(stack.client, cfg, spec({ ...backTranslation, backward: missing }))).workflowId);
    assert.equal(bad.ok, false);
    assert.equal(bad.status.stages.augment.attempt, 1, 'a config error is not retried');
    assert.match(JSON.stringify(bad.status.stages.augment), new RegExp(`backTranslation.backward: model directory ${missing.replace(/[/.]/g, '\\$&')} does not exist`));
  });

  test('a retry restores the back-translations of the previous attempt instead of translating again', async (t) => {
    if (!tinyT5) return t.skip('needs the tiny T5 of the engine test');
    const store = await minio.freshStore();
    const inputs = [await documentsInput(store, 'docs', [...englishDocs(6), ...chineseDocs(3)], 4)];
    const params = (forward: string) =>
      stageKinds.augment.params.parse({ tfidf: { ratio: 0.2 }, variants: 2, backTranslation: { forward, backward: tinyT5, maxLength: 12, device: 'cpu', temperature: 0.9 } });
    const first = makeStageContext({ store, params: params(tinyT5) });
    first.ctx.inputs = inputs;
    const out1 = await augmentStage.run!(first.ctx);
    const checkpoint = first.lastCheckpoint() as AugmentCheckpoint;
    assert.equal(checkpoint.backTranslation?.attempt, 1);
    assert.equal(checkpoint.backTranslation?.output.records, 9);
    first.cleanup();

    // Attempt 2 never stages the models (the forward one is gone now) and writes the same pairs.
    const missing = path.join(minio.dir, 'gone-model');
    const second = makeStageContext({ store, params: params(missing), attempt: 2, resumeFrom: checkpoint, inputs });
    const out2 = await augmentStage.run!(second.ctx);
    assert.ok(second.logLines.some((l) => /9 back-translations restored from attempt 1/.test(l)), second.logLines.join('\n'));
    assert.deepEqual(out2.files.map((f) => f.sha256), out1.files.map((f) => f.sha256));
    assert.deepEqual((out2.metrics as { translate: unknown }).translate, (out1.metrics as { translate: unknown }).translate);
    second.cleanup();

    // As a fan-out on several workers, apply tasks in reverse order: the translate task restores, each apply task
    // reads its shard's range of the translations, and the output is the same.
    const workers = await runAsWorkers(store, params(missing), inputs, (n) => Array.from({ length: n }, (_, i) => n - 1 - i), { run: 'workers', resumeFrom: checkpoint });
    assert.ok(workers.logLines.some((l) => /9 back-translations restored from attempt 1/.test(l)), workers.logLines.join('\n'));
    assert.deepEqual(Object.keys(workers.sizes), ['stats', 'merge', 'rank', 'translate', 'apply']);
    assert.deepEqual(workers.out.files.map((f) => f.sha256), out1.files.map((f) => f.sha256));
    assert.equal(out1.files.length, 3, 'one pairs shard per input shard');
    assert.deepEqual(workers.out.metrics, out1.metrics);

    // A checkpoint of other texts is not used: the trainer runs (and here fails on the missing model, naming it).
    const other = { backTranslation: { ...checkpoint.backTranslation!, input: '0'.repeat(64) } };
    const third = makeStageContext({ store, params: params(missing), attempt: 3, resumeFrom: other, inputs });
    await assert.rejects(augmentStage.run!(third.ctx), (e: Error) => e instanceof ConfigError && e.message.includes(`backTranslation.forward: model directory ${missing} does not exist`));
    third.cleanup();
  });
});
