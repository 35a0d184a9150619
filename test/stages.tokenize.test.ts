/**
 * Tokenisation as a CPU fan-out whose token shards live in the store (issue #12 §1), through the engine with real
 * Temporal, MinIO, `dapt worker` processes and the trainer on CPU: source (6 document shards) → tokenize → pretrain.
 *  - tokenize runs one task per document shard, shared by two worker processes; its token shards hold the ids
 *    the trainer's in-process tokenisation gives for the same documents;
 *  - pretrain from the tokens tokenises nothing (it downloads the shards) and logs the losses of pretraining
 *    from the documents themselves (CPU, same seed: the same stream);
 *  - a tokenize worker SIGKILLed mid-stage: the stage completes with the same manifest digest;
 *  - the mistakes: tokens beside domain documents, vocab.extend, other encode settings (compile time), a base
 *    model with another tokenizer (stage start).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { getRunStatus, startRun, waitForRun, type RunResult } from '../client/runs';
import { trainerPython } from '../activities/model-stage/trainer-process';
import { splitDocuments } from '../activities/model-stage/staging';
import { readTokensIndex, stageTokenShards } from '../activities/model-stage/token-cache';
import { pretrainStage } from '../activities/stages/pretrain/run';
import type { StageInputArtifact } from '../activities/stages/types';
import { REPO_ROOT } from '../infra/paths';
import { isAlive } from '../infra/process';
import { compilePipeline, formatIssues } from '../schemas';
import { stageKinds } from '../schemas/stages';
import { domainDocs, generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { startedTaskOf, stageTaskCompletions } from './helpers/fanout-tasks';
import { plan } from './helpers/plans';
import { startStack, type Stack, type WorkerProcess } from './helpers/stack';
import { makeStageContext } from './helpers/stage-context';
import { buildTinyModel } from './helpers/tiny-model';

process.env.OMP_NUM_THREADS ??= '1';

const DOCS = 240;
const SHARDS = 6;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let stack: Stack;
let baseModel: string;
let domainDir: string;
let generalFile: string;

before(async () => {
  stack = await startStack('tokenize');
  domainDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'domain', 'contracts.jsonl'), domainDocs(DOCS)));
  generalFile = writeJsonl(path.join(stack.dir, 'corpus', 'general', 'everyday.jsonl'), generalDocs(120));
  baseModel = await buildTinyModel({ corpus: [generalFile], out: path.join(stack.dir, 'tiny-bert') });
});
after(async () => {
  await stack?.stop();
});

const TRAIN = { maxSteps: 16, batchSize: 8, lr: 2e-3, warmupSteps: 2, logEvery: 4, checkpointEvery: 100, seed: 7 };
const ENCODE = { seqLen: 32, evalFraction: 0.1, masking: { strategy: 'whole-word' } };

/** source → [tokenize →] pretrain; `tokens: false` pretrains from the documents. */
function spec(name: string, o: { tokens?: boolean; pretrain?: boolean; tokenize?: Record<string, unknown>; with?: Record<string, unknown>; needs?: string[] } = {}) {
  const tokens = o.tokens ?? true;
  const stages: Record<string, unknown> = { domain: { uses: 'source', with: { paths: [domainDir], shardSize: DOCS / SHARDS } } };
  if (tokens) stages.tokenize = { uses: 'tokenize', needs: ['domain'], concurrency: 4, with: { baseModel, ...ENCODE, ...o.tokenize } };
  if (o.pretrain ?? true) {
    stages.pretrain = { uses: 'pretrain', needs: o.needs ?? [tokens ? 'tokenize' : 'domain'], with: { baseModel, ...ENCODE, train: TRAIN, device: 'cpu', ...o.with } };
  }
  return { name, defaults: { timeout: { heartbeat: '4s' }, retry: { maxAttempts: 4, initialInterval: '200ms', maxInterval: '1s' } }, stages };
}

function explain(res: RunResult): string {
  return `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 3000)}`;
}

const tokenFiles = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.tok')).sort() : []);

/** What the first test leaves for the others: the tokens artifact and its stage's digest. */
let reference: { digest: string; tokens: StageInputArtifact; cfg: ReturnType<Stack['config']> } | undefined;

test('tokenize fans out over two workers; pretrain from its tokens tokenises nothing and logs the documents path\'s losses', { timeout: 600_000 }, async (t) => {
  const cfg = stack.config('two');
  await stack.workers(cfg, ['gpu']); // the workflows and pretrain in process; every cpu task in a worker process
  const procs = await Promise.all([0, 1].map((i) => stack.workerProcess(cfg, ['cpu'], { workflows: false, concurrency: 2, name: `two-${i}` })));
  const tokensCache = path.join(stack.dir, 'cache-tokens');
  process.env.DAPT_TOKEN_CACHE = tokensCache;
  const started = await startRun(stack.client, cfg, plan(spec('tokens')));
  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, true, explain(res));
  await Promise.all(procs.map((p) => p.stop()));

  // One ledger task per document shard, each completed once, by both processes between them.
  const tok = res.status.stages.tokenize;
  assert.equal(tok.fanout?.total, SHARDS);
  const tasks = (await stageTaskCompletions(stack.client, started.workflowId, 'tokenize')).filter((c) => /:task:0:\d+$/.test(c.activityId));
  assert.equal(tasks.length, SHARDS, tasks.map((c) => c.activityId).join(', '));
  assert.deepEqual([...new Set(tasks.map((c) => c.identity))].sort(), procs.map((p) => p.identity).sort(), 'both processes ran tokenize tasks');

  const store = stack.store(cfg);
  const manifest = (await store.readManifest(tok.digest!))!;
  assert.equal(manifest.kind, 'tokens');
  const index = await readTokensIndex(store, 'tokenize', manifest);
  assert.equal(index.shards.length, SHARDS);
  const tm = tok.metrics!;
  assert.equal((tm.trainDocs as number) + (tm.heldoutDocs as number), DOCS);
  assert.ok((tm.heldoutDocs as number) > 0 && (tm.tokens as number) > 0, JSON.stringify(tm));
  assert.equal(tm.tokenizer, index.tokenizer);

  const pm = res.status.stages.pretrain.metrics!;
  assert.equal(pm['data.tokenShardsBuilt'], 0, 'the trainer tokenised nothing');
  assert.equal(pm.tokenShardsDownloaded, SHARDS);
  assert.deepEqual(tokenFiles(tokensCache), index.shards.map((s) => `${s.key}.tok`).sort(), 'the shards were fetched into the token cache under their content keys');

  // The same pretraining from the documents: the trainer tokenises each shard itself.
  const docsCache = path.join(stack.dir, 'cache-docs');
  process.env.DAPT_TOKEN_CACHE = docsCache;
  const docsCfg = stack.config('docs');
  await stack.workers(docsCfg, ['cpu', 'gpu']);
  const fromDocs = await waitForRun(stack.client, (await startRun(stack.client, docsCfg, plan(spec('docs', { tokens: false })))).workflowId);
  assert.equal(fromDocs.ok, true, explain(fromDocs));
  const dm = fromDocs.status.stages.pretrain.metrics!;
  assert.equal(dm['data.tokenShardsBuilt'], SHARDS);
  for (const k of ['train.firstLoss', 'train.minLoss', 'train.finalLoss', 'eval.domain.loss', 'train.tokens', 'trainDocs', 'heldoutDocs']) {
    assert.equal(pm[k], dm[k], `${k}: from tokens ${pm[k]}, from documents ${dm[k]}`);
  }
  assert.equal(pm['train.steps'], TRAIN.maxSteps);
  for (const f of tokenFiles(docsCache)) assert.ok(fs.readFileSync(path.join(docsCache, f)).equals(fs.readFileSync(path.join(tokensCache, f))), `${f}: the same bytes on both paths`);
  t.diagnostic(`final loss ${pm['train.finalLoss']} on both paths; ${tm.tokens} tokens in ${SHARDS} shards`);
  reference = { digest: tok.digest!, tokens: { stage: 'tokenize', manifest }, cfg };
});

test('the token shards hold the ids and word flags of the trainer\'s in-process tokenisation of the same documents', { timeout: 120_000 }, async () => {
  assert.ok(reference, 'needs the first test');
  const store = stack.store(reference.cfg);
  const manifest = reference.tokens.manifest;
  const index = await readTokensIndex(store, 'tokenize', manifest);
  const dir = path.join(stack.dir, 'ids');
  fs.mkdirSync(dir, { recursive: true });
  const source = (await store.readManifest(manifest.parents[0].digest))!;
  const split = await splitDocuments(store, [source], ENCODE.evalFraction, dir, 'domain', new AbortController().signal);
  assert.equal(split.train.length, SHARDS);
  const shards = await Promise.all(index.shards.map(async (s, i) => {
    const local = path.join(dir, `${i}.tok`);
    await store.downloadFile(manifest.files.find((f) => f.name === s.name)!.key, local);
    return local;
  }));
  const code = `
import sys, numpy as np
from trainer.config import MaskingSpec
from trainer.data import encode_documents, read_texts
from trainer.evaluate import make_segmenter
from trainer.model import load_tokenizer
from trainer.token_shards import TokenShard
model, pairs = sys.argv[1], sys.argv[2:]
tok = load_tokenizer(model)
seg = make_segmenter(MaskingSpec(strategy="whole-word", language="auto"), "mlm")
total = 0
for docs, shard in zip(pairs[::2], pairs[1::2]):
    s = TokenShard(shard)
    got = list(encode_documents(read_texts([docs]), tok, 32, segmenter=seg))
    assert s.docs == len(got), (shard, s.docs, len(got))
    for d, (ids, flags) in enumerate(got):
        sid, sflags = s.document(d)
        assert np.array_equal(sid, ids) and np.array_equal(sflags, flags), (shard, d)
    total += s.tokens
print(total)
`;
  const args = split.train.flatMap((f, i) => [f, shards[i]]);
  const { stdout } = await promisify(execFile)(await trainerPython(), ['-c', code, baseModel, ...args], { cwd: REPO_ROOT, env: { ...process.env, PYTHONPATH: REPO_ROOT } });
  assert.equal(Number(stdout.trim()), index.shards.reduce((n, s) => n + s.tokens, 0));
});

test('staged token shards are pinned in the attempt\'s dir: another trainer evicting the cache entry leaves them readable', { timeout: 120_000 }, async () => {
  assert.ok(reference, 'needs the first test');
  const store = stack.store(reference.cfg);
  const manifest = reference.tokens.manifest;
  const index = await readTokensIndex(store, 'tokenize', manifest);
  const cache = path.join(stack.dir, 'pin-cache');
  const pinDir = path.join(stack.dir, 'pin-attempt');
  const first = await stageTokenShards(store, manifest, index, cache, pinDir);
  assert.equal(first.downloaded, SHARDS);
  assert.ok(first.paths.every((p) => path.dirname(p) === pinDir), 'the trainer reads the attempt\'s links');
  const bytes = first.paths.map((p) => fs.readFileSync(p));
  for (const f of tokenFiles(cache)) fs.rmSync(path.join(cache, f)); // the eviction of a concurrent trainer
  assert.deepEqual(first.paths.map((p) => fs.readFileSync(p)), bytes, 'the pinned shards outlive the cache entries');
  const again = await stageTokenShards(store, manifest, index, cache, pinDir);
  assert.equal(again.downloaded, SHARDS, 'evicted entries are fetched again');
  const third = await stageTokenShards(store, manifest, index, cache, pinDir);
  assert.equal(third.downloaded, 0, 'present entries are reused');
});

test('SIGKILL of a tokenize worker mid-stage: the stage completes with the same manifest digest', { timeout: 400_000 }, async () => {
  assert.ok(reference, 'needs the first test');
  const cfg = stack.config('kill');
  await stack.workers(cfg, []);
  let n = 0;
  const spawn = () => stack.workerProcess(cfg, ['cpu'], { workflows: false, concurrency: 2, name: `kill-${n++}` });
  const live: WorkerProcess[] = await Promise.all([spawn(), spawn()]);
  const run = await startRun(stack.client, cfg, plan(spec('kill', { pretrain: false })));
  let victim: { worker: WorkerProcess; activityId: string } | undefined;
  let replacement: Promise<WorkerProcess> | undefined;
  for (const deadline = Date.now() + 180_000; !victim; await sleep(100)) {
    const s = (await getRunStatus(stack.client, run.workflowId)).stages.tokenize;
    if (Date.now() > deadline || (s.state !== 'pending' && s.state !== 'running')) assert.fail(`no tokenize task was caught running (${s.state})`);
    if (s.state !== 'running') continue;
    const held = await startedTaskOf(stack.client, run.workflowId, 'tokenize', live);
    if (!held) continue;
    process.kill(held.worker.pid, 'SIGKILL');
    victim = held;
    live.splice(live.indexOf(held.worker), 1);
    replacement = spawn();
  }
  const res = await waitForRun(stack.client, run.workflowId);
  assert.equal(res.ok, true, explain(res));
  assert.equal(isAlive(victim.worker.pid), false);
  assert.equal(res.status.stages.tokenize.digest, reference.digest, 'the same manifest as the uninterrupted run');
  const completions = (await stageTaskCompletions(stack.client, run.workflowId, 'tokenize')).filter((c) => /:task:0:\d+$/.test(c.activityId));
  assert.equal(completions.length, SHARDS, 'every task completed once');
  const killed = completions.find((c) => c.activityId === victim!.activityId);
  assert.ok(killed, 'the killed worker\'s task completed');
  if (killed.identity === victim.worker.identity) assert.equal(killed.attempt, 1, 'finished before the kill landed');
  else assert.ok(killed.attempt >= 2, `another worker finished it on attempt ${killed.attempt}`);
  await Promise.all([...live, await replacement!].map((w) => w.stop()));
});

test('mistakes: tokens beside documents, vocab.extend, other settings at compile time; another tokenizer at stage start', { timeout: 300_000 }, async () => {
  const issues = (s: unknown) => {
    const r = compilePipeline(s);
    return r.ok ? '' : formatIssues('<spec>', r.issues);
  };
  assert.match(issues(spec('both', { needs: ['tokenize', 'domain'] })), /the tokens of tokenize are the domain data, so the documents of domain cannot be too/);
  assert.match(issues(spec('extend', { with: { vocab: { extend: true } } })), /vocab\.extend.*the tokens of tokenize hold the base tokenizer's ids/);
  assert.match(issues(spec('packing', { with: { packing: false } })), /the tokens of tokenize were encoded with other settings .*packing true vs false/);
  assert.match(issues(spec('flags', { tokenize: { masking: { strategy: 'token' } } })), /word flags: masking\.strategy token vs whole-word/);
  assert.equal(issues(spec('fine')), '', 'the same settings compile');

  assert.ok(reference, 'needs the first test');
  const store = stack.store(reference.cfg);
  const other = await buildTinyModel({ corpus: [path.join(domainDir, 'contracts.jsonl')], out: path.join(stack.dir, 'other-bert') });
  const run = async (baseModelDir: string, inputs: StageInputArtifact[]) => {
    const params = stageKinds.pretrain.params.parse({ baseModel: baseModelDir, ...ENCODE, train: TRAIN, device: 'cpu' });
    const c = makeStageContext({ store, params, stage: 'pretrain', inputs });
    try {
      return await pretrainStage.run!(c.ctx);
    } finally {
      c.cleanup();
    }
  };
  await assert.rejects(run(other, [reference.tokens]), (e: Error) => e.name === 'ConfigError' && /data\.tokens\[0\]: .* was tokenised with tokenizer \w+, but the model's tokenizer is \w+/.test(e.message), 'another base model\'s tokenizer is refused before training');
  const docs: StageInputArtifact = { stage: 'domain', manifest: (await store.readManifest(reference.tokens.manifest.parents[0].digest))! };
  await assert.rejects(run(baseModel, [reference.tokens, docs]), /the tokens of tokenize are the domain data, so documents of domain cannot be too/);
});
