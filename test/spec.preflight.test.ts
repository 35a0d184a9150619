/**
 * What the compiler checks before anything runs that the stages would otherwise find only when they start:
 * params naming needs-stages, the inputs each kind requires, local files, crawl seeds and the plan's size as a
 * Temporal payload. Each problem comes with its path and its line in the YAML; `dapt validate` and `dapt run`
 * exit 2 with all of them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { compilePipeline, loadPlan, loadPlanWithWarnings, SpecError, type SpecIssue } from '../schemas';
import { PAYLOAD_LIMIT_BYTES, PAYLOAD_WARN_BYTES } from '../schemas/preflight/payload';
import { tempDir } from './helpers/tmp';

const dir = tempDir('preflight');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, text);
  return p;
}

async function issuesOf(p: string): Promise<SpecIssue[]> {
  try {
    await loadPlan(p);
  } catch (e) {
    if (e instanceof SpecError) return e.issues;
    throw e;
  }
  assert.fail(`${p} should not validate`);
}

/** `@line:column` of `token` on the one line of `text` that contains `lineMark`: where an issue should point. */
function where(text: string, lineMark: string, token: string): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.includes(lineMark));
  assert.ok(at >= 0 && lines.findIndex((l, i) => i > at && l.includes(lineMark)) < 0, `one line has ${lineMark}`);
  assert.ok(lines[at].includes(token), `${token} on the line of ${lineMark}`);
  return `@${at + 1}:${lines[at].indexOf(token) + 1}`;
}

const brief = (is: SpecIssue[]) => is.map((i) => `${i.code} ${i.path}${i.line ? ` @${i.line}:${i.column}` : ''}`).sort();
const messageAt = (is: SpecIssue[], p: string) => is.filter((i) => i.path === p).map((i) => i.message);

// Files every good pipeline below names, relative to `dir`.
for (const f of ['corpus/a.txt', 'general/g.txt', 'model/config.json', 'task/train.jsonl', 'task/test.jsonl', 'syn.tsv', 'vocab.txt', 'dumps/a.warc.gz']) {
  file(f, '\n');
}

const GOOD = `name: good
stages:
  domain: { uses: source, with: { paths: [corpus] } }
  general: { uses: source, with: { paths: [general] } }
  web: { uses: crawl, with: { seeds: ["https://example.org/"] } }
  dumps: { uses: warc, with: { paths: [dumps, "s3://crawl/legal/"] } }
  seen: { uses: seen, with: { line: good } }
  fresh: { uses: dedupe, needs: [domain, web, dumps, seen], with: { against: seen } }
  picked: { uses: select, needs: [fresh, general], with: { seed: fresh, topK: 10 } }
  words: { uses: newwords, needs: [picked, general], with: { general: general, baseVocab: vocab.txt, dictionary: jieba } }
  pairs: { uses: augment, needs: [picked, words], with: { eda: { synonym: 0.1 }, synonyms: syn.tsv } }
  pretrain:
    uses: pretrain
    needs: [picked, words, general]
    with:
      baseModel: "promoted:good"
      fallbackModel: model
      generalFrom: general
      masking: { strategy: lexicon }
      vocab: { extend: true }
      train: { maxSteps: 1 }
  perplexity: { uses: perplexity, needs: [pretrain, general], with: { general: general } }
  labels: { uses: pseudolabel, needs: [pretrain, picked], with: { data: { train: task/train.jsonl } } }
  evaluate:
    uses: evaluate
    needs: [pretrain, pairs, labels]
    with: { data: { train: task/train.jsonl, test: ["task/test.jsonl", "s3://tasks/test.jsonl"] }, uda: {} }
  promote:
    uses: promote
    needs: [pretrain, evaluate, perplexity]
    with: { metric: evaluate.delta.macroF1, baseline: perplexity.models.base.domain.loss }
  report: { uses: report, needs: [promote] }
`;

test('a pipeline using every checked param and input compiles, its files found', async () => {
  const { plan, warnings } = await loadPlanWithWarnings(file('good.yaml', GOOD));
  assert.deepEqual(warnings, []);
  assert.equal(Object.keys(plan.stages).length, 15);
  assert.equal(plan.stages.pretrain.params.fallbackModel, path.join(dir, 'model'));
});

test('params naming needs-stages: a typo or a stage of the wrong type is reported at its line', async () => {
  const yaml = `name: names
stages:
  docs: { uses: source, with: { paths: [corpus] } }
  general: { uses: source, with: { paths: [general] } }
  words: { uses: newwords, needs: [docs], with: { general: generl } }
  fresh: { uses: dedupe, needs: [docs], with: { against: seen } }
  picked: { uses: select, needs: [docs, general], with: { seed: domain, general: [general, docs, domain], topK: 1 } }
  pretrain:
    uses: pretrain
    needs: [docs, words]
    with: { baseModel: model, generalFrom: words, train: { maxSteps: 1 } }
  evaluate: { uses: evaluate, needs: [pretrain], with: { data: { train: task/train.jsonl, test: task/test.jsonl } } }
  perplexity: { uses: perplexity, needs: [pretrain], with: { domain: docs } }
  promote:
    uses: promote
    needs: [pretrain, evaluate]
    with:
      metric: evalute.delta.macroF1
      baseline: perplexity.models.base.domain.loss
`;
  const issues = await issuesOf(file('names.yaml', yaml));
  assert.deepEqual(brief(issues), [
    `input-role stages.fresh.with.against ${where(yaml, 'fresh:', 'against')}`,
    `input-role stages.perplexity.with.domain ${where(yaml, 'perplexity:', 'domain:')}`,
    `input-role stages.picked.with.general[2] ${where(yaml, 'picked:', 'domain]')}`,
    `input-role stages.picked.with.seed ${where(yaml, 'picked:', 'seed:')}`,
    `input-role stages.pretrain.with.generalFrom ${where(yaml, 'generalFrom:', 'generalFrom')}`,
    `input-role stages.promote.with.baseline ${where(yaml, 'baseline:', 'baseline')}`,
    `input-role stages.promote.with.metric ${where(yaml, 'metric:', 'metric')}`,
    `input-role stages.words.with.general ${where(yaml, 'words:', 'general:')}`,
  ]);
  assert.deepEqual(messageAt(issues, 'stages.promote.with.metric'), [
    'evalute.delta.macroF1: "evalute" is not among this stage\'s needs (pretrain, evaluate); did you mean "evaluate"?',
  ]);
  assert.deepEqual(messageAt(issues, 'stages.promote.with.baseline'), [
    'perplexity.models.base.domain.loss: "perplexity" is not among this stage\'s needs (pretrain, evaluate)',
  ]);
  assert.deepEqual(messageAt(issues, 'stages.words.with.general'), ['"generl" is not among this stage\'s needs (docs)']);
  assert.deepEqual(messageAt(issues, 'stages.fresh.with.against'), ['"seen" is not among this stage\'s needs (docs)']);
  assert.deepEqual(messageAt(issues, 'stages.picked.with.seed'), ['"domain" is not among this stage\'s needs (docs, general)']);
  assert.deepEqual(messageAt(issues, 'stages.picked.with.general[2]'), ['"domain" cannot be both seed and general']);
  assert.deepEqual(messageAt(issues, 'stages.pretrain.with.generalFrom'), ['"words" produces lexicon, not documents']);
  assert.deepEqual(messageAt(issues, 'stages.perplexity.with.domain'), ['"docs" is not among this stage\'s needs (pretrain)']);
});

test('required inputs: a lexicon for vocab.extend and lexicon masking, pairs for uda, one model, documents', async () => {
  const yaml = `name: roles
stages:
  docs: { uses: source, with: { paths: [corpus] } }
  m1: { uses: noop, with: { produces: model } }
  m2: { uses: noop, with: { produces: model } }
  order: { uses: noop }
  pretrain:
    uses: pretrain
    needs: [docs]
    with:
      baseModel: model
      fallbackModel: model
      masking: { strategy: lexicon }
      vocab: { extend: true }
      train: { maxSteps: 1 }
  both: { uses: pretrain, needs: [docs, m1], with: { baseModel: model, train: { maxSteps: 1 } } }
  nodocs: { uses: pretrain, needs: [m1], with: { train: { maxSteps: 1 } } }
  evaluate:
    uses: evaluate
    needs: [pretrain]
    with: { data: { train: task/train.jsonl, test: task/test.jsonl }, uda: {} }
  ner: { uses: evaluate, needs: [pretrain, m1], with: { task: ner, data: { train: task/train.jsonl, test: task/test.jsonl }, uda: {} } }
  perplexity: { uses: perplexity, needs: [m1, m2] }
  arms: { uses: evaluate, needs: [pretrain, m1], with: { data: { train: task/train.jsonl, test: task/test.jsonl }, ablation: { control: m1 } } }
  typo: { uses: evaluate, needs: [pretrain, m1], with: { data: { train: task/train.jsonl, test: task/test.jsonl }, ablation: { control: m2 } } }
  labels: { uses: pseudolabel, needs: [m1, m2], with: { data: { train: task/train.jsonl } } }
  teach: { uses: pseudolabel, needs: [docs, m1], with: { teacher: model, data: { train: task/train.jsonl } } }
  aug: { uses: augment, needs: [order], with: { tfidf: {} } }
  promote: { uses: promote, needs: [evaluate], with: { metric: evaluate.delta.macroF1 } }
`;
  const issues = await issuesOf(file('roles.yaml', yaml));
  assert.deepEqual(brief(issues), [
    `bad-params stages.ner.with.uda ${where(yaml, 'ner:', 'uda')}`,
    `bad-params stages.pretrain.with.fallbackModel ${where(yaml, 'fallbackModel:', 'fallbackModel')}`,
    `input-role stages.aug.needs ${where(yaml, 'aug:', 'needs')}`,
    `input-role stages.both.with.baseModel ${where(yaml, 'both:', 'baseModel')}`,
    `input-role stages.evaluate.with.uda ${where(yaml, 'with: { data: { train: task/train.jsonl, test: task/test.jsonl }, uda', 'uda')}`,
    `input-role stages.labels.needs ${where(yaml, 'labels:', 'needs')}`,
    `input-role stages.labels.needs ${where(yaml, 'labels:', 'needs')}`,
    `input-role stages.ner.needs ${where(yaml, 'ner:', 'needs')}`,
    `input-role stages.ner.with.uda ${where(yaml, 'ner:', 'uda')}`,
    `input-role stages.nodocs.needs ${where(yaml, 'nodocs:', 'needs')}`,
    `input-role stages.perplexity.needs ${where(yaml, 'perplexity:', 'needs')}`,
    `input-role stages.pretrain.with.masking.strategy ${where(yaml, 'masking:', 'strategy')}`,
    `input-role stages.pretrain.with.vocab.extend ${where(yaml, 'vocab:', 'extend')}`,
    `input-role stages.promote.needs ${where(yaml, 'promote:', 'needs')}`,
    `input-role stages.teach.with.teacher ${where(yaml, 'teach:', 'teacher')}`,
    `input-role stages.typo.needs ${where(yaml, 'typo:', 'needs')}`,
    `input-role stages.typo.with.ablation.control ${where(yaml, 'typo:', 'control')}`,
  ]);
  // an ablation's control model is not a second adapted model; a control that is not a need is named as such
  assert.deepEqual(messageAt(issues, 'stages.typo.with.ablation.control'), ['"m2" is not among this stage\'s needs (pretrain, m1)']);
  assert.deepEqual(messageAt(issues, 'stages.typo.needs'), ['evaluate needs exactly one model input (the adapted model), got pretrain, m1']);
  assert.deepEqual(messageAt(issues, 'stages.pretrain.with.vocab.extend'), ['needs a lexicon input (a newwords stage in needs)']);
  assert.deepEqual(messageAt(issues, 'stages.pretrain.with.masking.strategy'), ['lexicon masking needs a lexicon input (a newwords stage in needs)']);
  assert.deepEqual(messageAt(issues, 'stages.pretrain.with.fallbackModel'), ['only used with baseModel promoted:<name>']);
  assert.deepEqual(messageAt(issues, 'stages.both.with.baseModel'), ['set, but needs-stage m1 also produces a model: use one or the other']);
  assert.deepEqual(messageAt(issues, 'stages.nodocs.needs'), ['pretrain needs domain documents: add a needs-stage that produces documents']);
  assert.deepEqual(messageAt(issues, 'stages.evaluate.with.uda'), ['consistency training needs a needs-stage producing pairs (augment)']);
  assert.deepEqual(messageAt(issues, 'stages.ner.needs'), ['evaluate needs exactly one model input (the adapted model), got pretrain, m1']);
  assert.deepEqual(messageAt(issues, 'stages.ner.with.uda').sort(), [
    'consistency training is for classification, not ner',
    'consistency training needs a needs-stage producing pairs (augment)',
  ]);
  assert.deepEqual(messageAt(issues, 'stages.perplexity.needs'), ['perplexity needs exactly one model input (the adapted model), got m1, m2']);
  assert.deepEqual(messageAt(issues, 'stages.labels.needs').sort(), [
    'pseudolabel needs a needs-stage producing documents: the unlabeled text to label',
    'pseudolabel needs one teacher: a model input or the teacher param (got m1, m2)',
  ]);
  assert.deepEqual(messageAt(issues, 'stages.teach.with.teacher'), ['set, but m1 also provide a model: name one teacher']);
  assert.deepEqual(messageAt(issues, 'stages.aug.needs'), ['augment needs a documents input (a needs-stage producing documents)']);
  assert.deepEqual(messageAt(issues, 'stages.promote.needs'), ['promote needs exactly one model input (the candidate), got none']);
});

test('promote with confidence: the metric comes from an evaluate stage with ≥ 3 seeds, an interval at that confidence', async () => {
  const yaml = `name: gate
stages:
  docs: { uses: source, with: { paths: [corpus] } }
  pretrain: { uses: pretrain, needs: [docs], with: { baseModel: model, train: { maxSteps: 1 } } }
  two: { uses: evaluate, needs: [pretrain], with: { seeds: [1, 2], data: { train: task/train.jsonl, test: task/test.jsonl } } }
  five: { uses: evaluate, needs: [pretrain], with: { seeds: [1, 2, 3, 4, 5], data: { train: task/train.jsonl, test: task/test.jsonl } } }
  ninety: { uses: evaluate, needs: [pretrain], with: { interval: { confidence: 0.9 }, data: { train: task/train.jsonl, test: task/test.jsonl } } }
  perplexity: { uses: perplexity, needs: [pretrain] }
  fewSeeds: { uses: promote, needs: [pretrain, two], with: { metric: two.delta.macroF1, confidence: 0.95 } }
  otherLevel: { uses: promote, needs: [pretrain, ninety], with: { metric: ninety.delta.macroF1, confidence: 0.95 } }
  noInterval: { uses: promote, needs: [pretrain, five], with: { metric: five.models.base.mean.macroF1, confidence: 0.95 } }
  notEvaluate: { uses: promote, needs: [pretrain, perplexity], with: { metric: perplexity.models.adapted.domain.loss, better: lower, confidence: 0.95 } }
  fine: { uses: promote, needs: [pretrain, five], with: { metric: five.models.adapted.mean.macroF1, confidence: 0.95, margin: 0.01 } }
  meanOnly: { uses: promote, needs: [pretrain, two], with: { metric: two.delta.macroF1 } }
`;
  const issues = await issuesOf(file('gate.yaml', yaml));
  assert.deepEqual(brief(issues), [
    `input-role stages.fewSeeds.with.confidence ${where(yaml, 'fewSeeds:', 'confidence')}`,
    `input-role stages.noInterval.with.metric ${where(yaml, 'noInterval:', 'metric')}`,
    `input-role stages.notEvaluate.with.confidence ${where(yaml, 'notEvaluate:', 'confidence')}`,
    `input-role stages.otherLevel.with.confidence ${where(yaml, 'otherLevel:', 'confidence')}`,
  ]);
  assert.deepEqual(messageAt(issues, 'stages.fewSeeds.with.confidence'), ['needs at least 3 seeds in evaluate stage "two" for an interval; stages.two.with.seeds has 2']);
  assert.deepEqual(messageAt(issues, 'stages.otherLevel.with.confidence'), ['0.95, but evaluate stage "ninety" computes a 0.9 interval: set stages.ninety.with.interval.confidence to 0.95']);
  assert.deepEqual(messageAt(issues, 'stages.noInterval.with.metric'), [
    'five.models.base.mean.macroF1: with confidence, use five.models.adapted.mean.<measure> or five.delta.<measure> (the measures with an interval)',
  ]);
  assert.deepEqual(messageAt(issues, 'stages.notEvaluate.with.confidence'), ['needs the metric from an evaluate stage (its paired interval); "perplexity" is a perplexity stage']);
});

test('a need whose type is unknown (its params are bad) or that produces nothing is judged as such', () => {
  const res = compilePipeline({
    name: 'unknown',
    stages: {
      bad: { uses: 'newwords', with: { topK: -1 } }, // does not compile: it may well be the lexicon
      order: { uses: 'noop' }, // produces none: it orders, it is no input
      pretrain: { uses: 'pretrain', needs: ['order', 'bad'], with: { baseModel: 'm', vocab: { extend: true }, generalFrom: 'order', train: { maxSteps: 1 } } },
    },
  });
  assert.equal(res.ok, false);
  assert.deepEqual(!res.ok && res.issues.map((i) => `${i.code} ${i.path}: ${i.message}`), [
    'bad-params stages.bad.with.topK: Too small: expected number to be >0',
    'input-role stages.pretrain.with.generalFrom: "order" produces no artifact (none), so this stage gets nothing from it',
  ]);
});

test('checkInputs: false builds the plan anyway, for tests of the stages\' own checks', () => {
  const spec = { name: 'own', stages: { docs: { uses: 'source', with: { paths: ['c'] } }, d: { uses: 'dedupe', needs: ['docs'], with: { against: 'ghost' } } } };
  assert.equal(compilePipeline(spec).ok, false);
  assert.equal(compilePipeline(spec, { checkInputs: false }).ok, true);
});

test('local paths must exist (resolved against the pipeline file); s3://, promoted: and keywords are not paths', async () => {
  const yaml = `name: paths
stages:
  docs: { uses: source, with: { paths: [../corpus, ../nope] } }
  dumps: { uses: warc, with: { paths: ["s3://bucket/prefix/", /no/such/dump.warc.gz] } }
  words: { uses: newwords, needs: [docs], with: { baseVocab: vocab.txt, dictionary: jieba } }
  pairs: { uses: augment, needs: [docs], with: { eda: { synonym: 0.1 }, synonyms: ../syn.tsv } }
  pretrain:
    uses: pretrain
    needs: [docs]
    with: { baseModel: "promoted:line", fallbackModel: ../no-model, train: { maxSteps: 1 } }
  evaluate:
    uses: evaluate
    needs: [pretrain]
    with:
      baseModel: "s3://models/base/"
      data:
        train: [../task/train.jsonl, ../task/extra.jsonl]
        test: "s3://tasks/test.jsonl"
`;
  const p = file('sub/paths.yaml', yaml);
  const issues = await issuesOf(p);
  assert.deepEqual(brief(issues), [
    `missing-file stages.docs.with.paths[1] ${where(yaml, 'docs:', '../nope')}`,
    `missing-file stages.dumps.with.paths[1] ${where(yaml, 'dumps:', '/no/such')}`,
    `missing-file stages.evaluate.with.data.train[1] ${where(yaml, 'extra.jsonl', '../task/extra')}`,
    `missing-file stages.pretrain.with.fallbackModel ${where(yaml, 'fallbackModel:', 'fallbackModel')}`,
    `missing-file stages.words.with.baseVocab ${where(yaml, 'words:', 'baseVocab')}`,
  ]);
  const sub = path.join(dir, 'sub');
  assert.deepEqual(messageAt(issues, 'stages.docs.with.paths[1]'), [`no such file or directory: ../nope (resolved to ${path.join(dir, 'nope')})`]);
  assert.deepEqual(messageAt(issues, 'stages.dumps.with.paths[1]'), ['no such file or directory: /no/such/dump.warc.gz']);
  assert.deepEqual(messageAt(issues, 'stages.words.with.baseVocab'), [`no such file or directory: vocab.txt (resolved to ${path.join(sub, 'vocab.txt')})`]);

  // Compiled where the files are not (they are on the workers): the same spec is a plan.
  const plan = await loadPlan(p, { checkPaths: false });
  assert.deepEqual(plan.stages.docs.params.paths, [path.join(dir, 'corpus'), path.join(dir, 'nope')]);
  assert.equal(compilePipeline({ name: 'x', stages: { d: { uses: 'source', with: { paths: ['/no/such'] } } } }).ok, true, 'compilePipeline checks no files unless asked');
});

test('crawl seeds must be http(s) URLs', async () => {
  const yaml = 'name: seeds\nstages:\n  web:\n    uses: crawl\n    with:\n      seeds:\n        - https://example.org/\n        - ftp://example.org/pub/\n        - file:///etc/passwd\n';
  const issues = await issuesOf(file('seeds.yaml', yaml));
  assert.deepEqual(brief(issues), [`bad-params stages.web.with.seeds[1] ${where(yaml, 'ftp:', 'ftp:')}`, `bad-params stages.web.with.seeds[2] ${where(yaml, 'file:', 'file:')}`]);
  assert.deepEqual(messageAt(issues, 'stages.web.with.seeds[1]'), ['expected an http(s) URL, got "ftp://example.org/pub/"']);
});

test('a plan too large for one Temporal payload is an error naming its size and largest stage; a large one a warning', async () => {
  const seeds = (n: number) => Array.from({ length: n }, (_, i) => `https://example.org/a/rather/long/path/to/page/number/${i}`);
  const spec = (n: number) => `name: big\nstages:\n  small: { uses: noop }\n  web:\n    uses: crawl\n    with:\n      seeds: ${JSON.stringify(seeds(n))}\n`;
  const perSeed = JSON.stringify(seeds(1)[0]).length + 1;

  const over = await issuesOf(file('huge.yaml', spec(Math.ceil(PAYLOAD_LIMIT_BYTES / perSeed))));
  assert.deepEqual(brief(over), [`too-large stages.web.with ${where(spec(1), 'with:', 'with')}`]);
  assert.match(over[0].message, /^the plan is 2\.\d\d MiB as a Temporal payload, over the 2\.00 MiB Temporal accepts as a workflow input \(limit\.blobSize\.error\); the largest part is this stage's params \(2\.\d\d MiB\)$/);

  const { warnings } = await loadPlanWithWarnings(file('large.yaml', spec(Math.ceil(PAYLOAD_WARN_BYTES / perSeed))));
  assert.deepEqual(brief(warnings), [`too-large stages.web.with ${where(spec(1), 'with:', 'with')}`]);
  assert.equal(warnings[0].severity, 'warning');
  assert.match(warnings[0].message, /over Temporal's warning level of 512 KiB/);
});

/** The CLI as a user runs it; the Temporal address is unreachable, so nothing can have run. */
function dapt(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = { ...process.env, DAPT_TEMPORAL_ADDRESS: '127.0.0.1:9', DAPT_S3_ENDPOINT: 'http://127.0.0.1:9' };
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(__dirname, '..', 'bin', 'dapt.js'), ...args], { env, timeout: 120_000 }, (e, out, err) => {
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err });
    });
  });
}

test('dapt validate and dapt run: a typo in promote.metric exits 2 naming file, line and path, before connecting', async () => {
  const typo = GOOD.replace('metric: evaluate.delta.macroF1', 'metric: evalute.delta.macroF1');
  const p = file('typo.yaml', typo);
  const line = typo.split('\n').findIndex((l) => l.includes('evalute')) + 1;
  for (const cmd of ['validate', 'run']) {
    const res = await dapt(cmd, p);
    assert.equal(res.code, 2, `${cmd}: ${res.err}`);
    assert.match(res.err, new RegExp(`${p}:${line}:\\d+: stages\\.promote\\.with\\.metric: evalute\\.delta\\.macroF1: "evalute" is not among this stage's needs .*did you mean "evaluate"\\? \\[input-role\\]`));
    assert.match(res.err, /1 problem\(s\)/);
    assert.doesNotMatch(res.err, /cannot reach/, `${cmd} reports the spec, not the server`);
  }
  assert.equal((await dapt('validate', file('good-cli.yaml', GOOD))).code, 0);
});

test('dapt validate: missing files are reported with a hint; --no-check-paths skips them', async () => {
  const p = file('elsewhere/pipeline.yaml', GOOD);
  const res = await dapt('validate', p);
  assert.equal(res.code, 2);
  assert.match(res.err, new RegExp(`${p}:3:\\d+: stages\\.domain\\.with\\.paths\\[0\\]: no such file or directory: corpus`));
  assert.match(res.err, /--no-check-paths skips that/);
  const skipped = await dapt('validate', p, '--no-check-paths');
  assert.equal(skipped.code, 0, skipped.err);
  assert.match(skipped.out, /valid/);
});
