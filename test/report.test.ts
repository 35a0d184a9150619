/**
 * The report stage and `dapt report`, on the real stack: a whole pipeline (source → filter → dedupe → newwords →
 * pretrain of a tiny BERT with vocabulary extension → perplexity → promote → report) runs; its stored report is fetched
 * with the CLI and loaded in a real headless Chromium (the system's, driven by playwright-core), where the page
 * must render without console errors or outside requests, every chart must carry the data of the manifests, and
 * a screenshot is saved beside the report. Then the CLI's re-render of the finished run, and a pipeline with
 * almost nothing in it (every section says so) whose title tries to inject markup, and an evaluate stage's seeds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { documentShards } from '../activities/documents';
import { REPO_ROOT } from '../infra/paths';
import { startRun, waitForRun, type RunResult } from '../client/runs';
import type { FinetuneMetrics } from '../activities/stages/evaluate/run';
import { domainDocs, generalDocs, writeJsonl } from '../examples/demo/domain-corpus';
import { writeTaskFiles } from '../examples/demo/domain-task';
import { launchChromium } from '../infra/chromium';
import type { ManifestT } from '../schemas/manifest';
import { configEnv, type DaptConfig } from '../config';
import { plan } from './helpers/plans';
import { startStack, type Stack } from './helpers/stack';
import { buildTinyModel } from './helpers/tiny-model';

process.env.OMP_NUM_THREADS ??= '1'; // a tiny model gains nothing from threads spinning against the servers

let stack: Stack;
let cfg: DaptConfig;
let browser: Browser;
let baseModel: string;
let domainDir: string;
let generalDir: string;

before(async () => {
  [stack, browser] = await Promise.all([startStack('report'), launchChromium()]);
  cfg = stack.config('report');
  await stack.workers(cfg, ['cpu', 'gpu']);
  domainDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'domain', 'contracts.jsonl'), domainDocs(200), 12));
  generalDir = path.dirname(writeJsonl(path.join(stack.dir, 'corpus', 'general', 'everyday.jsonl'), generalDocs(100)));
  baseModel = path.join(stack.dir, 'tiny-bert');
  await buildTinyModel({ corpus: [path.join(generalDir, 'everyday.jsonl')], out: baseModel, hidden: 32, layers: 1 });
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

function dapt(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = { ...process.env, ...configEnv(cfg) };
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'dapt.js'), ...args], { env, timeout: 180_000 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err });
    });
  });
}

function explain(res: RunResult): string {
  return `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 3000)}`;
}

/** Loads a report file the way a user opens it; fails on console errors and on any request that is not the file. */
async function openReport(file: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (r.url() !== `file://${file}`) problems.push(`outside request: ${r.url()}`);
  });
  const res = await page.goto(`file://${file}`, { waitUntil: 'load' });
  assert.ok(res === null || res.ok(), `loading ${file}`);
  assert.deepEqual(problems, [], `${file} rendered with problems`);
  return page;
}

/** The exact value behind a number cell (data-value), by its data-key. */
async function valueOf(page: Page, key: string): Promise<number> {
  const el = page.locator(`[data-key="${key}"]`);
  assert.equal(await el.count(), 1, `one element with data-key ${key}`);
  const v = await el.getAttribute('data-value');
  assert.ok(v !== null, `${key} has a data-value`);
  return Number(v);
}

const records = (m: ManifestT) => documentShards(m).reduce((n, f) => n + (f.records ?? 0), 0);

const TRAIN = { maxSteps: 40, batchSize: 8, lr: 3e-3, warmupSteps: 5, checkpointEvery: 20, logEvery: 5, seed: 3 };

const STAGES = {
  domain: { uses: 'source', with: { paths: [] as string[] } },
  general: { uses: 'source', with: { paths: [] as string[] } },
  // The generated documents have 3 to 6 sentences: c4 drops the short ones, so the funnel has a reason to show.
  filter: { uses: 'filter', needs: ['domain'], with: { gopherQuality: { minWords: 20 }, gopherRepetition: { enabled: false }, c4: { minSentences: 4 } } },
  dedupe: { uses: 'dedupe', needs: ['filter'] },
  newwords: { uses: 'newwords', needs: ['dedupe', 'general'], with: { general: 'general', baseVocab: '', minFreq: 3, topK: 50 } },
  pretrain: {
    uses: 'pretrain',
    needs: ['dedupe', 'newwords', 'general'],
    with: { baseModel: '', seqLen: 64, evalFraction: 0.1, generalFrom: 'general', vocab: { extend: true, maxNewTokens: 16 }, train: TRAIN, device: 'cpu' },
  },
  perplexity: { uses: 'perplexity', needs: ['pretrain'], with: { maxSequences: 32, device: 'cpu' } },
  promote: { uses: 'promote', needs: ['pretrain', 'perplexity'], with: { metric: 'perplexity.models.adapted.domain.loss', better: 'lower' } },
  report: { uses: 'report', needs: ['promote', 'newwords'], with: { title: 'Contract law adaptation' } },
};

let full: { workflowId: string; result: RunResult; manifests: Record<string, ManifestT> } | undefined;

test('a pipeline with a report stage: the stored report renders in Chromium and shows the manifests\' numbers', async (t) => {
  const stages = structuredClone(STAGES);
  stages.domain.with.paths = [domainDir];
  stages.general.with.paths = [generalDir];
  stages.newwords.with.baseVocab = path.join(baseModel, 'tokenizer.json');
  stages.pretrain.with.baseModel = baseModel;
  const started = await startRun(stack.client, cfg, plan({ name: 'dapt-report', defaults: { retry: { maxAttempts: 2, initialInterval: '200ms' } }, stages }));
  const result = await waitForRun(stack.client, started.workflowId);
  assert.equal(result.ok, true, explain(result));

  const store = stack.store(cfg);
  const manifests: Record<string, ManifestT> = {};
  for (const [name, s] of Object.entries(result.status.stages)) manifests[name] = (await store.readManifest(s.digest!))!;
  full = { workflowId: started.workflowId, result, manifests };
  const rm = manifests.report;
  assert.equal(rm.kind, 'report');
  assert.deepEqual(rm.files.map((f) => f.name), ['report.html']);
  assert.deepEqual(rm.metrics.stages, Object.keys(STAGES).filter((n) => n !== 'report').sort(), 'the report saw every stage that finished before it');

  const dir = path.join(stack.dir, 'out');
  const file = path.join(dir, 'report.html');
  const cli = await dapt('report', started.workflowId, '--out', file);
  assert.equal(cli.code, 0, cli.err);
  assert.match(cli.out, /report of stage report/);
  const html = fs.readFileSync(file, 'utf8');
  assert.doesNotMatch(html, /<script|<link|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'self-contained: no scripts, no links, no outside URLs');

  const page = await openReport(file);
  assert.equal(await page.title(), 'Contract law adaptation');

  // The DAG: one node per stage, one edge per need; the report saw itself running and everything else done.
  const nodes = page.locator('svg[data-chart="dag"] g.node');
  assert.equal(await nodes.count(), Object.keys(STAGES).length);
  const edges = Object.values(STAGES).reduce((n, s) => n + ('needs' in s ? s.needs.length : 0), 0);
  assert.equal(await page.locator('svg[data-chart="dag"] path.edge').count(), edges);
  for (const name of Object.keys(STAGES)) {
    const state = await page.locator(`svg[data-chart="dag"] g.node[data-stage="${name}"]`).getAttribute('data-state');
    assert.equal(state, name === 'report' ? 'running' : 'succeeded', name);
    if (name !== 'report') assert.equal(await valueOf(page, `stage.${name}.attempt`), result.status.stages[name].attempt, `${name} attempts`);
  }
  assert.equal(await page.locator('svg[data-chart="timeline"] rect.span').count(), Object.keys(STAGES).length - 1);

  // The funnel: documents out of each data stage and every drop reason, as the manifests count them.
  const funnelStages = ['domain', 'general', 'filter', 'dedupe'];
  const bars = page.locator('svg[data-chart="funnel"] rect.bar');
  assert.equal(await bars.count(), funnelStages.length);
  for (const name of funnelStages) {
    assert.equal(await valueOf(page, `funnel.${name}.output`), records(manifests[name]), `${name} output`);
    assert.equal(Number(await page.locator(`svg[data-chart="funnel"] rect.bar[data-label="${name}"]`).getAttribute('data-value')), records(manifests[name]));
  }
  const fm = manifests.filter.metrics as { input: number; droppedBy: Record<string, Record<string, number>> };
  assert.equal(await valueOf(page, 'funnel.filter.input'), fm.input);
  let reasons = 0;
  for (const [rule, byReason] of Object.entries(fm.droppedBy)) {
    for (const [reason, n] of Object.entries(byReason)) {
      assert.equal(await valueOf(page, `funnel.filter.dropped.${rule}: ${reason}`), n);
      reasons++;
    }
  }
  const dm = manifests.dedupe.metrics as { input: number; duplicates: number };
  assert.equal(await valueOf(page, 'funnel.dedupe.input'), dm.input);
  assert.equal(await valueOf(page, 'funnel.dedupe.dropped.exact duplicate'), dm.duplicates);
  assert.ok(reasons > 0 && dm.duplicates > 0, 'the corpus has something to drop');
  assert.equal(await page.locator('svg[data-chart="drop-reasons"] rect.bar').count(), reasons + 1);

  // Vocabulary: the lexicon's size, and the tokens the pretrain stage added from it.
  assert.equal(await valueOf(page, 'vocab.newwords.words'), manifests.newwords.metrics.words);
  assert.equal(await valueOf(page, 'vocab.pretrain.tokensAdded'), manifests.pretrain.metrics['vocab.tokensAdded']);
  assert.equal(await page.locator('svg[data-chart="tokens-per-doc-pretrain"] rect.bar').count(), 2);

  // Training: the loss curve has as many points as the trainer logged (one per logEvery steps).
  const log = (await store.getJson<{ lossCurve: [number, number][] }>(manifests.pretrain.files.find((f) => f.name === 'metrics.json')!.key))!;
  assert.equal(log.lossCurve.length, TRAIN.maxSteps / TRAIN.logEvery);
  const curve = page.locator('svg[data-chart="loss-pretrain"] path.series');
  assert.equal(Number(await curve.getAttribute('data-points')), log.lossCurve.length);
  assert.equal(((await curve.getAttribute('d')) ?? '').match(/[ML]/g)?.length, log.lossCurve.length, 'one path vertex per logged point');
  const box = await curve.boundingBox();
  assert.ok(box && box.width > 100 && box.height > 0, `the curve is drawn (${JSON.stringify(box)})`);
  assert.equal(await valueOf(page, 'train.pretrain.train.steps'), TRAIN.maxSteps);

  // Base vs adapted: the perplexity stage's numbers and deltas, bars for 2 sets × 2 models.
  const pm = manifests.perplexity.metrics as { models: Record<string, Record<string, Record<string, number>>>; delta: Record<string, Record<string, number>> };
  for (const model of ['base', 'adapted']) {
    for (const set of ['domain', 'general']) assert.equal(await valueOf(page, `eval.perplexity.${model}.${set}.loss`), pm.models[model][set].loss);
  }
  assert.equal(await valueOf(page, 'eval.perplexity.delta.domain.loss'), pm.delta.domain.loss);
  const lossBars = page.locator('svg[data-chart="perplexity-loss-perplexity"] rect.bar');
  assert.equal(await lossBars.count(), 4);
  for (let i = 0; i < 4; i++) assert.ok(Number(await lossBars.nth(i).getAttribute('height')) > 0, 'every bar has a height');

  // The promotion decision, as the promote stage recorded it.
  const decision = manifests.promote.metrics as { decision: string; candidate: number; margin: number };
  assert.equal(await page.locator('[data-key="promotion.promote.decision"]').innerText(), decision.decision);
  assert.equal(await valueOf(page, 'promotion.promote.candidate'), decision.candidate);
  assert.equal(await valueOf(page, 'promotion.promote.margin'), decision.margin);

  const png = path.join(dir, 'report.png');
  await page.screenshot({ path: png, fullPage: true });
  assert.deepEqual([...fs.readFileSync(png).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  t.diagnostic(`report ${fs.statSync(file).size} bytes, screenshot ${fs.statSync(png).size} bytes: ${png}`);
  await page.close();
});

test('dapt report --render: the finished run rendered from its status, with a screenshot beside it', async (t) => {
  if (!full) return t.skip('needs the pipeline run');
  const file = path.join(stack.dir, 'out', 'rendered.html');
  const cli = await dapt('report', full.workflowId, '--render', '--out', file, '--screenshot');
  assert.equal(cli.code, 0, cli.err);
  assert.match(cli.out, /rendered from the succeeded run's status/);
  const png = file.replace(/\.html$/, '.png');
  assert.ok(fs.statSync(png).size > 1000, 'the CLI saved a screenshot beside the report');
  const page = await openReport(file);
  // Now the report stage itself is done too, and the run's state is final.
  assert.equal(await page.locator('svg[data-chart="dag"] g.node[data-stage="report"]').getAttribute('data-state'), 'succeeded');
  assert.equal(await page.locator('[data-key="run.state"]').innerText(), 'succeeded');
  assert.equal(await valueOf(page, 'funnel.dedupe.output'), records(full.manifests.dedupe));
  assert.equal(await page.title(), `dapt-report — run ${full.result.status.runId}`);
  await page.close();
});

test('a pipeline without data, model or evaluation stages: every section says so; text is escaped', async () => {
  const title = '<script>document.title="pwned"</script> & <b>bold</b>';
  const p = plan({
    name: 'dapt-report-empty',
    stages: {
      wait: { uses: 'noop' },
      report: { uses: 'report', needs: ['wait'], with: { title } },
    },
  });
  const started = await startRun(stack.client, cfg, p);
  const res = await waitForRun(stack.client, started.workflowId);
  assert.equal(res.ok, true, explain(res));
  const file = path.join(stack.dir, 'out', 'empty.html');
  const cli = await dapt('report', started.workflowId, '--out', file);
  assert.equal(cli.code, 0, cli.err);
  const page = await openReport(file);
  assert.equal(await page.title(), title, 'the title is shown as text');
  assert.equal(await page.locator('h1').innerText(), title, 'the heading too');
  assert.equal(await page.locator('script, header b, h1 *').count(), 0, 'no markup came through');
  for (const id of ['funnel', 'vocab', 'training', 'evaluation', 'promotion']) {
    assert.match(await page.locator(`section#${id}`).innerText(), /not in this pipeline/, id);
    assert.equal(await page.locator(`section#${id} svg`).count(), 0, `${id} draws no chart`);
  }
  assert.equal(await page.locator('svg[data-chart="dag"] g.node').count(), 2);
  await page.close();
});

test('an evaluate stage: mean ± std and every seed of each measure, and the fine-tuning curves', async () => {
  const task = writeTaskFiles(path.join(stack.dir, 'task'), { seed: 0 });
  const FINETUNE = { seeds: [1, 2], epochs: 2, batchSize: 16, lr: 1e-3, warmupRatio: 0.1, logEvery: 1, device: 'cpu' };
  const p = plan({
    name: 'dapt-report-eval',
    defaults: { retry: { maxAttempts: 2, initialInterval: '200ms' } },
    stages: {
      corpus: { uses: 'source', with: { paths: [path.dirname(task.corpus)] } },
      pretrain: {
        uses: 'pretrain',
        needs: ['corpus'],
        with: { baseModel, seqLen: 64, evalFraction: 0, masking: { strategy: 'token' }, train: { maxSteps: 10, batchSize: 8, lr: 2e-3, warmupSteps: 2, checkpointEvery: 100, logEvery: 5 }, device: 'cpu' },
      },
      evaluate: { uses: 'evaluate', needs: ['pretrain'], with: { task: 'classification', data: task.classification, ...FINETUNE } },
      report: { uses: 'report', needs: ['evaluate'] },
    },
  });
  const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, p)).workflowId);
  assert.equal(res.ok, true, explain(res));
  const m = (await stack.store(cfg).readManifest(res.status.stages.evaluate.digest!))!.metrics as unknown as FinetuneMetrics;

  const file = path.join(stack.dir, 'out', 'evaluate.html');
  const cli = await dapt('report', res.status.pipeline + '-' + res.status.runId, '--out', file);
  assert.equal(cli.code, 0, cli.err);
  const page = await openReport(file);
  const measures = Object.keys(m.models.base.mean);
  assert.ok(measures.includes(m.primary), `${m.primary} in ${measures}`);
  for (const measure of measures) {
    const dots = page.locator(`svg[data-chart="seeds-evaluate-${measure}"] circle.seed`);
    const values = await dots.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-value'))));
    const seeds = ['base', 'adapted'].flatMap((name) => m.models[name].seeds.map((s) => (s as unknown as Record<string, number>)[measure]));
    assert.deepEqual(values, seeds, `${measure}: one dot per model and seed`);
    for (const name of ['base', 'adapted']) {
      assert.equal(await valueOf(page, `eval.evaluate.${name}.mean.${measure}`), m.models[name].mean[measure]);
      assert.equal(await valueOf(page, `eval.evaluate.${name}.std.${measure}`), m.models[name].std[measure]);
    }
    assert.equal(await valueOf(page, `eval.evaluate.delta.${measure}`), m.delta[measure]);
  }
  assert.equal(await page.locator('[data-key="eval.evaluate.improved"]').innerText(), m.improved ? 'improved' : 'did not improve');
  const curves = page.locator('svg[data-chart="finetune-loss-evaluate"] path.series');
  assert.equal(await curves.count(), m.curves.length);
  const points = await curves.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-points'))));
  assert.deepEqual(points, m.curves.map((c) => c.points.length));
  await page.screenshot({ path: file.replace(/\.html$/, '.png'), fullPage: true });
  await page.close();
});
