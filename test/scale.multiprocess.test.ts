/**
 * The demo pipeline across OS processes, losing a storage node and a worker mid-run: MinIO in distributed mode
 * (4 `minio server` processes, one drive each, one erasure set with the default EC:2 parity) and three
 * `dapt worker` processes (two on the cpu queue, one serving the gpu queue on CPU). While the near-dedupe
 * fan-out runs, the cpu worker that holds a started task is SIGKILLed, and so is one MinIO node. The run must
 * still succeed, the lost task must have been finished by another worker, and every artifact must read back
 * with its recorded sha256.
 *
 * Storage failover is the cluster's, not the client's: each worker talks to one MinIO node of its own (nodes
 * 0, 1, 2) and the killed node (3) is one no client uses. With 4 drives and EC:2, 3 surviving nodes keep read
 * quorum (2) and write quorum (3), so every surviving node keeps serving. A client whose own node dies would
 * fail its calls (the ArtifactStore has one endpoint); a load balancer or DNS over the nodes covers that.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { getRunStatus, startRun, waitForRun } from '../client/runs';
import { prepareDemoData } from '../cli/commands/demo';
import { domainDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { serveDemoSite } from '../examples/demo/site';
import { isAlive } from '../infra/process';
import { loadPlan } from '../schemas';
import { configEnv, type DaptConfig } from '../config';
import { completionsOf, startedTaskOf, type HeldTask } from './helpers/fanout-tasks';
import { startStack, type Stack } from './helpers/stack';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Larger than the demo's 400 documents, so each near-dedupe signatures task runs long enough to be caught
// running: DOMAIN_DOCS / SHARD_SIZE tasks of a few seconds each on this 2-core machine.
const DOMAIN_DOCS = 12_000;
const SHARD_SIZE = 1_500;

let stack: Stack;
let site: { url: string; close(): Promise<void> } | undefined;

before(async () => {
  stack = await startStack('scale', { minioNodes: 4 });
});

after(async () => {
  await site?.close();
  await stack?.stop();
});

/** The config a process gets when it talks to MinIO node `node`. */
function viaNode(cfg: DaptConfig, node: number): DaptConfig {
  return { ...cfg, store: { ...cfg.store, endpoint: stack.minioCluster!.endpoints[node] } };
}

test('demo pipeline survives SIGKILL of a busy worker process and of a MinIO node', { timeout: 600_000 }, async () => {
  const cluster = stack.minioCluster!;
  const cfg = stack.config('scale');

  // The demo's data and base model (as `dapt demo` makes them), next to a copy of examples/demo.yaml so its
  // relative paths resolve here; the domain corpus is then regenerated larger.
  const data = path.join(stack.dir, 'data', 'demo');
  await prepareDemoData(data);
  writeJsonl(path.join(data, 'domain', 'contracts.jsonl'), domainDocs(DOMAIN_DOCS), 20);
  const pipelineFile = path.join(stack.dir, 'demo.yaml');
  fs.copyFileSync(path.join(__dirname, '..', 'examples', 'demo.yaml'), pipelineFile);
  site = await serveDemoSite();
  const plan = await loadPlan(pipelineFile, {
    overrides: {
      'crawl.seeds': [site.url],
      'domain.shardSize': SHARD_SIZE,
      // Fewer steps and evaluation sequences than the demo: the point here is the run surviving, not the model.
      // No intermediate checkpoints: on CPU writing the model and optimizer state costs more than the steps.
      'pretrain.train.maxSteps': 4,
      'pretrain.train.checkpointEvery': 1000,
      'pretrain.train.logEvery': 2,
      'pretrain.train.warmupSteps': 1,
      'perplexity.maxSequences': 16,
    },
  });

  const [cpuA, cpuB, gpu] = await Promise.all([
    stack.workerProcess(viaNode(cfg, 0), ['cpu'], { name: 'cpu-a' }),
    stack.workerProcess(viaNode(cfg, 1), ['cpu'], { name: 'cpu-b' }),
    stack.workerProcess(viaNode(cfg, 2), ['gpu'], { name: 'gpu' }),
  ]);
  const cpuWorkers = [cpuA, cpuB];

  const run = await startRun(stack.client, cfg, plan);

  // Wait for a dedupe task that a cpu worker has started, then take that worker and MinIO node 3 down.
  let victim: HeldTask | undefined;
  for (const deadline = Date.now() + 300_000; !victim; await sleep(200)) {
    const status = await getRunStatus(stack.client, run.workflowId);
    const dedupe = status.stages.dedupe?.state;
    if (status.execution !== 'RUNNING' || (dedupe && !['pending', 'running'].includes(dedupe))) {
      assert.fail(`the run left the dedupe stage (${dedupe}, run ${status.execution}) before a worker was seen running one of its tasks`);
    }
    if (Date.now() > deadline) assert.fail('no dedupe task was seen running within 300 s');
    if (dedupe === 'running') victim = await startedTaskOf(stack.client, run.workflowId, 'dedupe', cpuWorkers);
  }
  process.kill(victim.worker.pid, 'SIGKILL');
  process.kill(cluster.nodes[3].pid, 'SIGKILL');
  for (const pid of [victim.worker.pid, cluster.nodes[3].pid]) {
    for (let i = 0; isAlive(pid) && i < 50; i++) await sleep(100);
    assert.equal(isAlive(pid), false, `pid ${pid} still alive after SIGKILL`);
  }

  const result = await waitForRun(stack.client, run.workflowId);
  assert.equal(result.ok, true, `run failed: ${result.error}`);
  for (const [name, s] of Object.entries(result.status.stages)) assert.equal(s.state, 'succeeded', `stage ${name}: ${s.state} ${s.error ?? ''}`);

  // The task the killed worker held was finished by a later attempt on a surviving worker.
  const completion = (await completionsOf(stack.client, victim.workflowId)).find((c) => c.activityId === victim.activityId);
  assert.ok(completion, `no completion of ${victim.activityId} in ${victim.workflowId}`);
  assert.ok(completion.attempt >= 2, `${victim.activityId} completed on attempt ${completion.attempt}, not a retry`);
  assert.notEqual(completion.identity, victim.worker.identity);
  assert.ok(isAlive(cpuA.pid === victim.worker.pid ? cpuB.pid : cpuA.pid) && isAlive(gpu.pid));

  // Every artifact reads back, through node 1 with node 3 still down, with its recorded sha256 (the download
  // of `dapt artifacts` checks each file against the manifest).
  const download = path.join(stack.dir, 'download');
  const cli = path.join(__dirname, '..', 'bin', 'dapt.js');
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'artifacts', run.workflowId, '--download', download], {
    env: { ...process.env, ...configEnv(viaNode(cfg, 1)) },
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const stage of Object.keys(plan.stages)) {
    assert.match(stdout, new RegExp(`downloaded to .*${stage}`), `stage ${stage} not downloaded`);
    const manifest = JSON.parse(fs.readFileSync(path.join(download, stage, 'manifest.json'), 'utf8')) as { files: { name: string; bytes: number }[] };
    for (const f of manifest.files) assert.equal(fs.statSync(path.join(download, stage, f.name)).size, f.bytes, `${stage}/${f.name}`);
  }
});
