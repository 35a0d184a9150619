/**
 * The select stage against a real MinIO: a general corpus of generated everyday documents with planted
 * domain documents (semiconductor lithography), a small seed corpus of other domain documents; the planted
 * ones must rank on top. Also: threshold mode, the keyword boost, scores and histogram in the output, and
 * the needs-stage naming errors.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ShardWriter } from '../activities/documents';
import { ConfigError } from '../activities/errors';
import { selectStage } from '../activities/stages/select/run';
import type { StageInputArtifact } from '../activities/stages/types';
import type { ArtifactStore } from '../activities/store';
import type { DocumentRecordT } from '../schemas/manifest';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio, readOutput } from './helpers/stage-context';
import { rng } from '../activities/rng';

const GENERAL = ('the a of and to in is was for on with as by at from that this it are be have their new city people year time day ' +
  'football match team season goal coach players fans recipe bake oven flour sugar butter garden flowers soil rain weather holiday ' +
  'beach hotel travel train music concert band album film actor story school teacher children market price shop family house').split(' ');
const DOMAIN = ('wafer lithography photoresist exposure mask reticle euv scanner overlay etch deposition node nanometer yield defect ' +
  'metrology resist stepper dose focus pattern transistor fab cleanroom silicon anneal dielectric gate pitch').split(' ');


/** A document of `words` words; `domainShare` of them drawn from the domain vocabulary. */
function makeDoc(r: () => number, words: number, domainShare: number): string {
  const pick = (v: string[]) => v[Math.floor(r() * v.length)];
  return Array.from({ length: words }, () => (r() < domainShare ? pick(DOMAIN) : pick(GENERAL))).join(' ');
}

let minio: TestMinio;
let store: ArtifactStore;
let general: StageInputArtifact;
let seed: StageInputArtifact;
const planted = new Set<string>();

before(async () => {
  minio = await startTestMinio('stages-select');
  store = await minio.freshStore();
  const r = rng(7);
  const write = async (name: string, docs: DocumentRecordT[]) => {
    const w = new ShardWriter(store, makeStageContext({ store, params: {} }).ctx.workDir, 100, name);
    for (const d of docs) await w.write(d);
    return publishAsInput(store, name, { files: await w.close(), schema: 'document/v1' });
  };
  const gen: DocumentRecordT[] = [];
  for (let i = 0; i < 300; i++) {
    const domain = i % 15 === 7; // 20 planted, spread through the corpus
    const id = `g${i}`;
    if (domain) planted.add(id);
    gen.push({ id, text: makeDoc(r, 80 + Math.floor(r() * 300), domain ? 0.25 : 0), source: 'general', metadata: {} });
  }
  general = await write('general', gen);
  seed = await write('seed', Array.from({ length: 10 }, (_, i) => ({ id: `s${i}`, text: makeDoc(r, 150, 0.5), source: 'seed', metadata: {} })));
});

after(async () => {
  await minio?.stop();
});

async function select(params: StageParamsInput<'select'>, inputs = [general, seed]) {
  const out = await selectStage.run!(makeStageContext({ store, params: stageKinds.select.params.parse(params), inputs }).ctx);
  return { out, docs: await readOutput(store, out) };
}

describe('select stage', () => {
  test('planted domain documents rank above general ones; scores and histogram recorded', async () => {
    const { out, docs } = await select({ seed: 'seed', topK: 20 });
    assert.equal(docs.length, 20);
    assert.deepEqual(docs.map((d) => d.id).filter((id) => !planted.has(id)), [], 'every kept document is a planted one');
    assert.ok(docs.every((d) => typeof d.metadata.selectScore === 'number' && d.metadata.selectScore >= (out.metrics!.minKeptScore as number)));
    const ids = docs.map((d) => Number(d.id.slice(1)));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'written in input order');
    const h = out.metrics!.histogram as { counts: number[]; kept: number[]; edges: number[] };
    assert.equal(h.counts.reduce((a, b) => a + b), 300);
    assert.equal(h.kept.reduce((a, b) => a + b), 20);
    assert.equal(h.edges.length, 21);
    const top = out.metrics!.topFeatures as { ngram: string; weight: number }[];
    assert.ok(top.slice(0, 5).every((f) => f.ngram.split(' ').some((w) => DOMAIN.includes(w))), JSON.stringify(top.slice(0, 5)));

    // The same cut as a threshold keeps the same documents.
    const byThreshold = await select({ seed: 'seed', threshold: out.metrics!.minKeptScore as number });
    assert.deepEqual(byThreshold.docs.map((d) => d.id), docs.map((d) => d.id));
  });

  test('a keyword lexicon lifts a general document that mentions its terms', async () => {
    const plain = await select({ seed: 'seed', topK: 300 });
    const rank = (docs: DocumentRecordT[], id: string) => [...docs].sort((a, b) => (b.metadata.selectScore as number) - (a.metadata.selectScore as number)).findIndex((d) => d.id === id);
    const target = plain.docs.find((d) => !planted.has(d.id) && / oven /.test(d.text))!;
    const boosted = await select({ seed: 'seed', topK: 300, keywords: ['OVEN'], keywordBoost: 5 });
    assert.ok(rank(boosted.docs, target.id) < rank(plain.docs, target.id), 'ranked higher with the lexicon');
  });

  test('the seed and general inputs are named by needs-stages', async () => {
    await assert.rejects(select({ seed: 'domain', topK: 1 }), (e: Error) => e instanceof ConfigError && /"domain" is not among the stage's needs \(general, seed\)/.test(e.message));
    await assert.rejects(select({ seed: 'seed', topK: 1 }, [seed]), ConfigError);
    const swapped = await select({ seed: 'general', general: ['seed'], topK: 3 });
    assert.ok(swapped.docs.every((d) => d.source === 'seed'));
    assert.equal(stageKinds.select.params.safeParse({ seed: 'seed' }).success, false, 'topK or threshold is required');
  });
});
