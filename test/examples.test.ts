/**
 * The example pipelines (examples/<name>/pipeline.yaml): each compiles, every local path it names is what the
 * generator writes, the generators are deterministic and keep their promise (train terms never in dev/test, the
 * label is the topic of the sentence's term); and the legal-zh example end to end on the real stack at a tiny
 * size (a tiny BERT from `python -m trainer tiny-model` in place of MiniLM, few steps), down to its report.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import type { FinetuneMetrics } from '../activities/stages/evaluate/run';
import { startRun, waitForRun } from '../client/runs';
import { EXAMPLES, examplePages, pipelineFile, prepareExample } from '../examples/prepare';
import { loadPlan } from '../schemas';
import { startStack, type Stack } from './helpers/stack';
import { buildTinyModel } from './helpers/tiny-model';
import { tempDir } from './helpers/tmp';

process.env.OMP_NUM_THREADS ??= '1';

const tmp = tempDir('examples');
let stack: Stack | undefined;
after(async () => {
  await stack?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** sha256 of every file under dir (relative path → digest), base-model excluded. */
function digests(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const file = path.join(e.parentPath, e.name);
    out[path.relative(dir, file)] = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
  return out;
}

const readJsonl = <T>(file: string): T[] => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

/** The example's pipeline copied to <root>/<name>/ and its data generated into <root>/data/<name>/, as in the repo. */
async function layout(root: string, name: string, opts: { seed?: number; scale?: number } = {}): Promise<{ pipeline: string; data: string }> {
  const folder = path.join(root, name);
  fs.mkdirSync(folder, { recursive: true });
  for (const f of fs.readdirSync(path.dirname(pipelineFile(name)))) {
    if (f.endsWith('.yaml') || f.endsWith('.tsv')) fs.copyFileSync(path.join(path.dirname(pipelineFile(name)), f), path.join(folder, f));
  }
  const data = await prepareExample(name, { dir: path.join(root, 'data', name), baseModel: false, ...opts });
  return { pipeline: path.join(folder, 'pipeline.yaml'), data };
}

for (const name of Object.keys(EXAMPLES)) {
  test(`${name}: the pipeline compiles and every local file it names is generated`, async () => {
    const root = path.join(tmp, `paths-${name}`);
    const { pipeline, data } = await layout(root, name);
    fs.mkdirSync(path.join(data, 'base-model'));
    fs.writeFileSync(path.join(data, 'base-model', 'tokenizer.json'), '{}'); // stands in for the linked MiniLM
    const plan = await loadPlan(pipeline);
    const kinds = new Set(Object.values(plan.stages).map((s) => s.kind));
    for (const k of ['source', 'filter', 'dedupe', 'newwords', 'augment', 'pretrain', 'pseudolabel', 'evaluate', 'promote', 'report']) {
      assert.ok(kinds.has(k as never), `${name} has a ${k} stage`);
    }
    const named: string[] = [];
    for (const s of Object.values(plan.stages)) {
      const p = s.params as Record<string, unknown>;
      if (s.kind === 'source') named.push(...(p.paths as string[]));
      if (s.kind === 'newwords') named.push(p.baseVocab as string);
      if (s.kind === 'augment' && p.synonyms) named.push(p.synonyms as string);
      if (s.kind === 'pretrain') named.push(p.baseModel as string);
      if (s.kind === 'evaluate' || s.kind === 'pseudolabel') {
        const d = p.data as Record<string, unknown>;
        for (const k of ['train', 'dev', 'test']) if (d[k]) named.push(...[d[k] as string | string[]].flat());
      }
    }
    assert.ok(named.length >= 8, named.join(', '));
    for (const f of named) assert.ok(fs.existsSync(f), `${name}: ${f} (named by the pipeline) exists after the generator ran`);
  });

  test(`${name}: the generator is deterministic, seeds and scale change it, and the task split holds`, async () => {
    const a = await layout(path.join(tmp, `det-a-${name}`), name);
    const b = await layout(path.join(tmp, `det-b-${name}`), name);
    const c = await layout(path.join(tmp, `det-c-${name}`), name, { seed: 1 });
    const big = await layout(path.join(tmp, `det-big-${name}`), name, { scale: 2 });
    const da = digests(a.data);
    assert.deepEqual(da, digests(b.data), 'same options, same bytes');
    const dc = digests(c.data);
    assert.deepEqual(Object.keys(dc).sort(), Object.keys(da).sort());
    for (const f of Object.keys(da)) assert.notEqual(dc[f], da[f], `seed 1 changes ${f}`);

    const ex = EXAMPLES[name];
    const corpus = (d: string) => readJsonl<{ text: string }>(path.join(d, 'corpus', `${ex.domain.name}.jsonl`));
    assert.equal(corpus(a.data).length, ex.laptop.domainDocs + ex.laptop.duplicates);
    assert.equal(corpus(big.data).length, 2 * (ex.laptop.domainDocs + ex.laptop.duplicates));

    const topics = ex.domain.topics;
    const labels = Object.keys(topics);
    const termOf = (text: string) => {
      const hits = labels.flatMap((l) => topics[l].terms.filter((t) => text.includes(t)).map((t) => ({ label: l, term: t })));
      assert.equal(hits.length, 1, `one domain term in "${text}"`);
      return hits[0];
    };
    const split = (s: string) => readJsonl<{ text: string; label: string }>(path.join(a.data, 'classification', `${s}.jsonl`));
    const trainTerms = new Set<string>();
    for (const row of split('train')) {
      const hit = termOf(row.text);
      assert.equal(hit.label, row.label, row.text);
      trainTerms.add(hit.term);
    }
    assert.equal(trainTerms.size, labels.length * ex.domain.trainTerms);
    for (const s of ['dev', 'test']) {
      const rows = split(s);
      assert.equal(rows.length, labels.length * ex.laptop.classification[s as 'dev' | 'test']);
      for (const row of rows) {
        const hit = termOf(row.text);
        assert.equal(hit.label, row.label, row.text);
        assert.ok(!trainTerms.has(hit.term), `${s}: "${hit.term}" is a train term`);
      }
    }
    if (ex.laptop.ner) {
      const types = new Map(Object.entries(ex.domain.entities ?? {}).flatMap(([type, terms]) => terms.map((t) => [t, type] as const)));
      const rows = readJsonl<{ tokens: string[]; tags: string[] }>(path.join(a.data, 'ner', 'test.jsonl'));
      assert.ok(rows.some((r) => r.tags.some((t) => t !== 'O')), 'some entities');
      for (const r of rows) {
        assert.equal(r.tokens.length, r.tags.length);
        r.tokens.forEach((tok, i) => assert.equal(r.tags[i], types.has(tok) ? `B-${types.get(tok)}` : 'O', `${tok} in ${r.tokens.join(' ')}`));
      }
    }
    if (ex.site) {
      const pages = examplePages(name)!;
      assert.ok(pages.has('/') && pages.has('/robots.txt'));
      const article = pages.get('/articles/0.html')!;
      assert.ok(labels.some((l) => topics[l].terms.some((t) => article.includes(t))), 'the site\'s articles are in the domain');
    }
  });
}

test('legal-zh end to end at a tiny size: filter → … → evaluate → promote → report', { timeout: 900_000 }, async (t) => {
  stack = await startStack('examples');
  const { pipeline, data } = await layout(path.join(stack.dir, 'examples'), 'legal-zh', { scale: 0.5 });
  // A tiny BERT whose WordPiece vocabulary is trained on the general text only: the legal words are new to it.
  await buildTinyModel({ corpus: [path.join(data, 'general', 'general.jsonl')], out: path.join(data, 'base-model') });
  const plan = await loadPlan(pipeline, {
    overrides: {
      'pretrain.train.maxSteps': 30,
      'pretrain.train.lr': 0.002,
      'pretrain.train.checkpointEvery': 1000,
      'pretrain.train.logEvery': 5,
      'pretrain.train.warmupSteps': 2,
      'pretrain.device': 'cpu',
      'perplexity.maxSequences': 16,
      'perplexity.device': 'cpu',
      'pseudolabel.epochs': 3,
      'pseudolabel.lr': 0.001,
      'pseudolabel.device': 'cpu',
      'evaluate.seeds': [1],
      'evaluate.epochs': 3,
      'evaluate.lr': 0.001,
      'evaluate.device': 'cpu',
    },
  });
  const cfg = stack.config('examples');
  await stack.workers(cfg, ['cpu', 'gpu']);
  const started = Date.now();
  const res = await waitForRun(stack.client, (await startRun(stack.client, cfg, plan)).workflowId);
  assert.equal(res.ok, true, `${res.error}\n${JSON.stringify(res.status.stages, null, 1).slice(0, 4000)}`);
  t.diagnostic(`legal-zh run: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const store = stack.store(cfg);
  const st = res.status.stages;

  // Chinese words mined, and the augment pairs are Chinese.
  const lexicon = (st.newwords.metrics ?? {}) as { words?: number; top?: string[] };
  assert.ok((lexicon.words ?? 0) > 0 && lexicon.top?.some((w) => /^\p{Script=Han}{2,}$/u.test(w)), JSON.stringify(lexicon));
  const pairs = (await store.readManifest(st.augment.digest!))!;
  assert.equal(pairs.kind, 'pairs');
  assert.ok(pairs.files.reduce((n, f) => n + (f.records ?? 0), 0) > 0, 'augment wrote pairs');

  // evaluate: base and adapted, on the four case types, with the UDA pairs and the pseudo-labels in its data.
  const m = (await store.readManifest(st.evaluate.digest!))!.metrics as unknown as FinetuneMetrics;
  assert.deepEqual([...m.labels].sort(), Object.keys(EXAMPLES['legal-zh'].domain.topics).sort());
  for (const model of ['base', 'adapted'] as const) {
    const f1 = m.models[model].mean.macroF1;
    assert.ok(Number.isFinite(f1) && f1 >= 0 && f1 <= 1, `${model} macro-F1 ${f1}`);
  }
  assert.ok(m.data.pairs > 0, `UDA pairs used: ${JSON.stringify(m.data)}`);
  assert.equal(m.data.train, 4 * 6);
  t.diagnostic(`macro-F1 base ${m.models.base.mean.macroF1.toFixed(3)} → adapted ${m.models.adapted.mean.macroF1.toFixed(3)}; pseudo-labeled ${m.data.pseudoLabeled}`);

  // promote decided either way; the report is one HTML page naming the run's stages.
  const promotion = (await store.readManifest(st.promote.digest!))!;
  assert.equal(promotion.kind, 'promotion');
  assert.match(String((promotion.metrics as { decision?: string }).decision), /^(promoted|rejected-margin)$/);
  const report = (await store.readManifest(st.report.digest!))!;
  assert.equal(report.kind, 'report');
  const file = report.files.find((f) => f.name === 'report.html');
  assert.ok(file, JSON.stringify(report.files));
  const chunks: Buffer[] = [];
  for await (const c of await store.getStream(file.key)) chunks.push(c as Buffer);
  const html = Buffer.concat(chunks).toString('utf8');
  assert.match(html, /中文法律 DAPT/);
  for (const stage of ['newwords', 'augment', 'pseudolabel', 'evaluate', 'promote']) assert.ok(html.includes(stage), `the report mentions ${stage}`);
});
