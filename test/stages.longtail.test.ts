/**
 * The longtail stage against a real MinIO and the real trainer: newwords mines a lexicon of planted domain terms
 * against a general corpus, a tiny BERT whose tokenizer learned only general text is the base model, and a
 * glossary defines some terms. Selected: exactly the terms that are rare in general text, fragmented by that
 * tokenizer and defined — not the defined term general text uses often, not the needy term without a
 * definition. The pieces are the tokenizer's own; a bad glossary fails the stage naming its lines, publishing
 * nothing; the report lists the analysis.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ShardWriter } from '../activities/documents';
import { ConfigError } from '../activities/errors';
import { uploadDir } from '../activities/model-stage/files';
import { stageLexicon } from '../activities/model-stage/staging';
import { trainerPython } from '../activities/model-stage/trainer-process';
import { longtailStage, type LongtailEntry, type LongtailRow } from '../activities/stages/longtail/run';
import { newwordsStage } from '../activities/stages/newwords/run';
import { longtailSection } from '../activities/stages/report/sections/longtail';
import type { ReportData } from '../activities/stages/report/gather';
import type { ArtifactStore } from '../activities/store';
import type { StageInputArtifact } from '../activities/stages/types';
import { REPO_ROOT } from '../infra/paths';
import { DOCUMENT_SCHEMA } from '../schemas/manifest';
import { stageKinds } from '../schemas/stages';
import { rng } from './helpers/near-corpus';
import { EN_GENERAL, writeVocab } from './helpers/newwords-corpus';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';
import { buildTinyModel } from './helpers/tiny-model';
import { objectText } from './helpers/object-text';

const DEFINED_RARE = ['stochastic gradient descent', 'hyperparameter'];
const COMMON = 'learning rate'; // defined, but general text uses it too
const UNDEFINED = 'weight decay';

let minio: TestMinio;
let store: ArtifactStore;
let lexicon: StageInputArtifact;
let baseModel: string;
let glossary: string;

function texts(seed: number, docs: number, planted: string[], every: number): string[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  return Array.from({ length: docs }, () =>
    Array.from({ length: 6 }, () => Array.from({ length: 12 }, (_, i) => (planted.length && i % every === 3 ? pick(planted) : pick(EN_GENERAL))).join(' ')).join('. '),
  );
}

async function documents(stage: string, list: string[]) {
  const writer = new ShardWriter(store, minio.dir, 200, stage);
  for (const [i, text] of list.entries()) await writer.write({ id: `${stage}-${i}`, text, source: stage, metadata: {} });
  return publishAsInput(store, stage, { files: await writer.close(), schema: DOCUMENT_SCHEMA });
}

before(async () => {
  minio = await startTestMinio('longtail');
  store = await minio.freshStore();
  const general = [...texts(2, 30, [COMMON], 11), ...texts(3, 170, [], 11)]; // the common term in a few documents
  const domain = texts(1, 200, [...DEFINED_RARE, COMMON, UNDEFINED], 6);
  const inputs = [await documents('domain', domain), await documents('general', general)];
  const params = stageKinds.newwords.params.parse({ general: 'general', baseVocab: writeVocab(minio.dir) });
  const out = await newwordsStage.run!(makeStageContext({ store, params, inputs }).ctx);
  const manifest = await store.writeManifest({
    kind: 'lexicon',
    schema: out.schema,
    files: out.files,
    producer: { pipeline: 'test', run: 'run-1', stage: 'newwords', stageKind: 'newwords', attempt: 1, cacheKey: 'newwords', createdAt: new Date().toISOString() },
    parents: [],
    metrics: out.metrics ?? {},
  });
  lexicon = { stage: 'newwords', manifest };
  const corpus = path.join(minio.dir, 'general.jsonl');
  fs.writeFileSync(corpus, general.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  baseModel = await buildTinyModel({ corpus: [corpus], out: path.join(minio.dir, 'tiny-bert') });
  glossary = path.join(minio.dir, 'glossary.jsonl');
  fs.writeFileSync(
    glossary,
    [
      { term: 'Stochastic Gradient Descent', definition: 'an optimiser that steps along the gradient of a random batch' },
      { term: 'hyperparameter', definition: 'a setting of training chosen before it starts' },
      { term: COMMON, definition: 'the size of each optimisation step' },
      { term: 'dropout', definition: 'randomly zeroing activations while training' },
    ]
      .map((d) => JSON.stringify(d))
      .join('\n') + '\n',
  );
});
after(async () => {
  await minio?.stop();
});

async function readJsonl<T>(key: string): Promise<T[]> {
  const text = await objectText(store, key);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

/** The tokenizer's own pieces of each word, asked directly (not through the stage). */
async function piecesOf(words: string[]): Promise<string[][]> {
  const code = `import json,sys\nfrom transformers import AutoTokenizer\nt=AutoTokenizer.from_pretrained(sys.argv[1])\nprint(json.dumps([t.tokenize(w) for w in sys.argv[2:]]))`;
  const { stdout } = await promisify(execFile)(await trainerPython(), ['-c', code, baseModel, ...words], { cwd: REPO_ROOT, encoding: 'utf8' });
  return JSON.parse(stdout) as string[][];
}

describe('longtail stage', () => {
  test('selects the rare, fragmented, defined terms; the pieces are the base tokenizer\'s', async () => {
    const params = stageKinds.longtail.params.parse({ baseModel, dictionary: glossary });
    const out = await longtailStage.run!(makeStageContext({ store, params, inputs: [lexicon] }).ctx);
    assert.equal(out.schema, 'longtail/v1');
    assert.deepEqual(out.files.map((f) => f.name), ['lexicon.jsonl', 'dictionary.jsonl']);
    const entries = await readJsonl<LongtailEntry>(out.files[0].key);
    const mined = await readJsonl<{ word: string }>(lexicon.manifest.files[0].key);
    assert.deepEqual(entries.map((e) => e.word), mined.map((e) => e.word), 'the lexicon, in its order');
    const by = new Map(entries.map((e) => [e.word, e.longtail]));
    for (const w of [...DEFINED_RARE, COMMON, UNDEFINED]) assert.ok(by.has(w), `${w} was mined (got ${[...by.keys()].join(', ')})`);

    const words = [...DEFINED_RARE, COMMON, UNDEFINED];
    const pieces = await piecesOf(words);
    words.forEach((w, i) => {
      assert.deepEqual(by.get(w)!.tokens, pieces[i], `${w}: the tokenizer's pieces`);
      assert.equal(by.get(w)!.pieces, pieces[i].length);
    });
    assert.equal(by.get(COMMON)!.pieces, 2, 'general words are whole tokens');
    assert.ok(by.get('hyperparameter')!.pieces >= 3, 'a word the tokenizer never saw is cut up');

    const selected = entries.filter((e) => e.longtail.selected).map((e) => e.word).sort();
    assert.deepEqual(selected, [...DEFINED_RARE].sort(), 'exactly the defined long-tail terms');
    const common = by.get(COMMON)!;
    assert.ok(common.defined && common.generalFreq! > 20 && common.rare < 0.01, `common in general text: ${JSON.stringify(common)}`);
    const undef = by.get(UNDEFINED)!;
    assert.ok(!undef.defined && undef.score === 0 && undef.need > 0.9 && undef.generalFreq === 0, `needs knowledge, no definition: ${JSON.stringify(undef)}`);
    for (const w of DEFINED_RARE) assert.ok(by.get(w)!.score > 0.9 && by.get(w)!.domainFreq > 50, `${w}: ${JSON.stringify(by.get(w))}`);

    const dict = await readJsonl<{ term: string; definition: string; selected: boolean }>(out.files[1].key);
    assert.deepEqual(
      dict.map((d) => [d.term, d.selected]),
      [['Stochastic Gradient Descent', true], ['hyperparameter', true], [COMMON, false], ['dropout', false]],
    );
    // Pretrain (masking, vocabulary extension) and augment read its words as a newwords lexicon's; the glossary is a side file.
    const producer = { pipeline: 'test', run: 'run-1', stage: 'longtail', stageKind: 'longtail', attempt: 1, cacheKey: 'longtail', createdAt: new Date().toISOString() };
    const asInput = { stage: 'longtail', manifest: await store.writeManifest({ kind: 'lexicon', schema: out.schema, files: out.files, producer, parents: [], metrics: {} }) };
    const staged = await stageLexicon(store, asInput, path.join(minio.dir, 'staged-lexicon.jsonl'));
    assert.deepEqual(fs.readFileSync(staged.path, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { word: string }).word), mined.map((e) => e.word), 'the words, not the glossary (no "dropout")');
    const m = out.metrics as Record<string, unknown> & { table: LongtailRow[] };
    assert.equal(m.selected, 2);
    assert.equal(m.dictionaryTerms, 4);
    assert.ok((m.undefinedNeedy as number) >= 1);
    assert.deepEqual(m.table.slice(0, 2).map((r) => r.word).sort(), [...DEFINED_RARE].sort(), 'the table is best first');

    // The report lists the analysis.
    const data = {
      title: 't',
      view: { stages: { longtail: { kind: 'longtail', state: 'succeeded', needs: [] } } },
      manifests: { longtail: { metrics: out.metrics } },
      training: {},
      generatedAt: '',
      maxCurvePoints: 10,
      problems: [],
    } as unknown as ReportData;
    const html = longtailSection.render(data);
    assert.match(html, /<tr data-term="hyperparameter" class="selected">/);
    assert.match(html, new RegExp(`data-term="${UNDEFINED}"><td><code>${UNDEFINED}</code>`));
    assert.match(html, /data-key="longtail.longtail.selected" data-value="2"/);
  });

  test('a model input: only its tokenizer is downloaded, and the analysis is the same', async () => {
    const files = await uploadDir(store, baseModel);
    assert.ok(files.some((f) => f.name.endsWith('.safetensors')), 'the artifact holds weights');
    const producer = { pipeline: 'test', run: 'run-1', stage: 'pretrain', stageKind: 'pretrain', attempt: 1, cacheKey: 'pretrain', createdAt: new Date().toISOString() };
    const manifest = await store.writeManifest({ kind: 'model', schema: 'hf-model/v1', files, producer, parents: [], metrics: {} });
    const viaArtifact = makeStageContext({ store, params: stageKinds.longtail.params.parse({ dictionary: glossary }), inputs: [lexicon, { stage: 'pretrain', manifest }] });
    const out = await longtailStage.run!(viaArtifact.ctx);
    const staged = fs.readdirSync(path.join(viaArtifact.ctx.workDir, 'base-model'));
    assert.ok(staged.includes('config.json') && staged.includes('tokenizer.json'), staged.join(', '));
    assert.ok(!staged.some((f) => f.endsWith('.safetensors') || f.endsWith('.bin')), `no weights staged: ${staged.join(', ')}`);
    const local = await longtailStage.run!(makeStageContext({ store, params: stageKinds.longtail.params.parse({ baseModel, dictionary: glossary }), inputs: [lexicon] }).ctx);
    assert.deepEqual(out.files.map((f) => f.sha256), local.files.map((f) => f.sha256), 'the same lexicon and glossary bytes');
  });

  test('without a glossary nothing is selected, and the needy terms are still listed', async () => {
    const out = await longtailStage.run!(makeStageContext({ store, params: stageKinds.longtail.params.parse({ baseModel }), inputs: [lexicon] }).ctx);
    assert.deepEqual(out.files.map((f) => f.name), ['lexicon.jsonl']);
    const m = out.metrics as Record<string, number>;
    assert.equal(m.selected, 0);
    assert.ok(m.undefinedNeedy >= 3, JSON.stringify(m));
  });

  test('a bad glossary fails the stage naming its lines, before anything is published', async () => {
    const bad = path.join(minio.dir, 'bad-glossary.jsonl');
    fs.writeFileSync(bad, `${JSON.stringify({ term: 'hyperparameter', definition: 'x' })}\n{"term": 3, "definition": "y"}\n`);
    const before = (await store.list('blobs/')).length;
    await assert.rejects(
      longtailStage.run!(makeStageContext({ store, params: stageKinds.longtail.params.parse({ baseModel, dictionary: bad }), inputs: [lexicon] }).ctx),
      (e: Error) => e instanceof ConfigError && e.message.includes(`${bad}:2: field "term": expected a non-empty string, got 3`),
    );
    assert.equal((await store.list('blobs/')).length, before, 'no blob written');
    await assert.rejects(
      longtailStage.run!(makeStageContext({ store, params: stageKinds.longtail.params.parse({}), inputs: [lexicon] }).ctx),
      /baseModel: required/,
    );
  });
});
