/**
 * The newwords stage against a real MinIO: planted domain terms (English multi-word terms, a single English
 * word the base WordPiece vocabulary splits, Chinese words) rank above general words; words the base vocab
 * or a dictionary keeps whole are dropped; the lexicon artifact is JSONL with `word` first-class.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ShardWriter } from '../activities/documents';
import { ConfigError } from '../activities/errors';
import { jiebaWithLexicon } from '../activities/chinese';
import { newwordsStage, type LexiconEntry } from '../activities/stages/newwords/run';
import type { ArtifactStore } from '../activities/store';
import { DOCUMENT_SCHEMA } from '../schemas/manifest';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { ZH_WORDS, rng } from './helpers/near-corpus';
import { EN_GENERAL, EN_TERMS, ZH_TERMS, writeVocab } from './helpers/newwords-corpus';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';
import { objectText } from './helpers/object-text';


let minio: TestMinio;
let vocabFile: string;
before(async () => {
  minio = await startTestMinio('newwords');
  vocabFile = writeVocab(minio.dir);
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

async function input(store: ArtifactStore, stage: string, texts: string[]) {
  const writer = new ShardWriter(store, minio.dir, 200, stage);
  for (const [i, text] of texts.entries()) await writer.write({ id: `${stage}-${i}`, text, source: stage, metadata: {} });
  return publishAsInput(store, stage, { files: await writer.close(), schema: DOCUMENT_SCHEMA });
}

async function mine(params: StageParamsInput<'newwords'>) {
  const store = await minio.freshStore();
  const d = corpus(1, 300, 6);
  const g = corpus(2, 300, 0);
  const inputs = [await input(store, 'domain', [...d.en, ...d.zh]), await input(store, 'general', [...g.en, ...g.zh])];
  const out = await newwordsStage.run!(makeStageContext({ store, params: stageKinds.newwords.params.parse(params), inputs }).ctx);
  const text = await objectText(store, out.files[0].key);
  const lexicon = text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LexiconEntry);
  return { out, lexicon, words: lexicon.map((e) => e.word) };
}

describe('newwords stage', () => {
  test('planted domain terms rank above general words; base-vocab words are dropped', async () => {
    const { out, lexicon, words } = await mine({ general: 'general', baseVocab: vocabFile });
    const planted = ['stochastic gradient descent', 'learning rate', 'weight decay', 'hyperparameter', '梯度下降', '词向量', '预训练'];
    for (const w of planted) assert.ok(words.includes(w), `${w} is mined (got ${words.slice(0, 12).join(', ')})`);
    assert.deepEqual(new Set(words.slice(0, planted.length)), new Set(planted), 'the planted terms are the top of the lexicon');
    assert.ok(!words.includes('transformer') && !words.includes('注意力'), 'words the base vocab keeps whole are not new');
    assert.ok(!words.includes('gradient descent') && !words.includes('梯度下'), 'fragments of a term have no freedom');
    const hyper = lexicon.find((e) => e.word === 'hyperparameter')!;
    assert.equal(hyper.pieces, 2, 'WordPiece: hyper ##parameter');
    assert.equal(hyper.pmi, null);
    const sgd = lexicon.find((e) => e.word === 'stochastic gradient descent')!;
    assert.ok(sgd.pmi! > 1 && sgd.entropy > 1 && sgd.ratio! > 2 && sgd.freq > 50, JSON.stringify(sgd));
    const m = out.metrics as { dropped: Record<string, number>; words: number; top: string[] };
    assert.ok(m.dropped.baseVocab >= 2 && m.dropped.ratio > 0, JSON.stringify(m.dropped));
    assert.equal(m.words, lexicon.length);
    assert.equal(out.schema, 'lexicon/v1');
  });

  test('a dictionary drops words; jieba keeps mined words whole with the lexicon as user dictionary', async () => {
    const dict = path.join(minio.dir, 'dict.txt');
    fs.writeFileSync(dict, '词向量 10 n\nweight decay\n');
    const { words } = await mine({ general: 'general', dictionary: dict });
    assert.ok(!words.includes('词向量') && !words.includes('weight decay'), words.join());
    assert.ok(words.includes('梯度下降') && words.includes('learning rate'), words.join());
    const jieba = jiebaWithLexicon(['预训练模型']);
    assert.ok(jieba.cut('我们的预训练模型很好', false).includes('预训练模型'));
  });

  test('a general stage that is not an input is a ConfigError', async () => {
    const store = await minio.freshStore();
    const params = stageKinds.newwords.params.parse({ general: 'nope' });
    const inputs = [await input(store, 'domain', ['some text'])];
    await assert.rejects(newwordsStage.run!(makeStageContext({ store, params, inputs }).ctx), ConfigError);
  });
});
