/**
 * Pretrain streams its training data from token shards (trainer/token_shards.py) in the worker's token cache
 * (DAPT_TOKEN_CACHE): a multi-shard corpus is tokenised once per document shard, and a later run or a resume on
 * the same worker tokenises nothing and trains on the same sequences. Real MinIO, the real trainer on CPU.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { CheckpointRef } from '../activities/model-stage/checkpoints';
import { pretrainStage } from '../activities/stages/pretrain/run';
import { sourceStage } from '../activities/stages/source/run';
import type { StageInputArtifact } from '../activities/stages/types';
import { domainDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { stageKinds } from '../schemas/stages';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio } from './helpers/stage-context';
import { buildTinyModel } from './helpers/tiny-model';

process.env.OMP_NUM_THREADS ??= '1';

let minio: TestMinio;
let baseModel: string;
let corpusFile: string;
const SHARDS = 4;

before(async () => {
  minio = await startTestMinio('pretrain-tokens');
  corpusFile = writeJsonl(path.join(minio.dir, 'corpus', 'contracts.jsonl'), domainDocs(200));
  baseModel = await buildTinyModel({ corpus: [corpusFile], out: path.join(minio.dir, 'tiny-bert') });
});
after(async () => {
  await minio?.stop();
});

function tokenFiles(dir: string): string[] {
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.tok')).sort() : [];
}

test('a multi-shard corpus is tokenised once per shard; a later run and a resume reuse the token shards', async () => {
  const cache = path.join(minio.dir, 'tokens');
  process.env.DAPT_TOKEN_CACHE = cache;
  const store = await minio.freshStore();
  const src = makeStageContext({ store, params: stageKinds.source.params.parse({ paths: [corpusFile], shardSize: 50 }) });
  const docs: StageInputArtifact = await publishAsInput(store, 'docs', await sourceStage.run!(src.ctx));
  src.cleanup();
  assert.equal(docs.manifest.files.length, SHARDS, 'a corpus of several document shards');

  const run = async (maxSteps: number, resumeFrom?: CheckpointRef) => {
    const params = stageKinds.pretrain.params.parse({
      baseModel,
      seqLen: 32,
      evalFraction: 0.1,
      masking: { strategy: 'whole-word' },
      train: { maxSteps, batchSize: 8, lr: 2e-3, warmupSteps: 2, logEvery: 1, checkpointEvery: 6, seed: 5 },
      device: 'cpu',
    });
    const t = makeStageContext({ store, params, stage: 'pretrain', inputs: [docs], resumeFrom });
    try {
      const out = await pretrainStage.run!(t.ctx);
      return { m: out.metrics!, checkpoint: t.lastCheckpoint() as CheckpointRef };
    } finally {
      t.cleanup();
    }
  };

  const first = await run(12);
  assert.equal(first.m['data.tokenShardsBuilt'], SHARDS, JSON.stringify(first.m));
  assert.equal(first.m['data.tokenShardsReused'], 0);
  const shards = tokenFiles(cache);
  assert.equal(shards.length, SHARDS, `${shards}`);

  const later = await run(12); // a later run: same documents, same tokenizer
  assert.equal(later.m['data.tokenShardsBuilt'], 0, JSON.stringify(later.m));
  assert.equal(later.m['data.tokenShardsReused'], SHARDS);
  assert.equal(later.m['train.finalLoss'], first.m['train.finalLoss'], 'the same sequences');
  assert.deepEqual(tokenFiles(cache), shards);

  const resumed = await run(18, first.checkpoint); // a retry resuming from the stored checkpoint of step 12
  assert.equal(resumed.m.resumedFromStep, 12);
  assert.equal(resumed.m['train.steps'], 18);
  assert.equal(resumed.m['data.tokenShardsBuilt'], 0, 'a resume tokenises nothing');
  assert.equal(resumed.m['data.tokenShardsReused'], SHARDS);
});
