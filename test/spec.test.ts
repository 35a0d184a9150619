import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { expectTypeOf } from 'expect-type';
import {
  compilePipeline,
  definePipeline,
  loadPlan,
  pipelineJsonSchema,
  SpecError,
  stageKinds,
  type SpecIssue,
  type StageKindName,
  type StageParamsInput,
} from '../schemas';
import { trainerJsonSchema } from '../schemas/trainer';
import { tempDir } from './helpers/tmp';

const dir = tempDir('spec');
function file(name: string, text: string): string {
  const p = path.join(dir, name);
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

const brief = (is: SpecIssue[]) => is.map((i) => `${i.code} ${i.path}${i.line ? ` @${i.line}:${i.column}` : ''}`);

test('every problem is reported at once, each with its code, path and line', async () => {
  const p = file(
    'many.yaml',
    `name: bad-pipeline
schedule: { cron: "0 25 * * *" }
stages:
  a: { uses: noop, needs: [c] }
  b: { uses: nope }
  c: { uses: noop, needs: [a, ghost] }
  d: { uses: dedupe, needs: [m], with: { method: fuzzy } }
  m: { uses: noop, with: { produces: model } }
  e: { uses: dedupe, needs: [m], retry: { maxAttempts: 0 } }
  f: { uses: source, with: { paths: [x], shardSize: "big" } }
`,
  );
  const issues = await issuesOf(p);
  assert.deepEqual(brief(issues).sort(), [
    'bad-params stages.d.with.method @7:42',
    'bad-params stages.f.with.shardSize @10:42',
    'cycle stages.a.needs @4:20',
    'invalid stages.e.retry.maxAttempts @9:43',
    'invalid-cron schedule.cron @2:13',
    'missing-need stages.c.needs[1] @6:31',
    'unknown-kind stages.b.uses @5:8',
  ]);
  const byCode = Object.fromEntries(issues.map((i) => [i.code, i.message]));
  assert.equal(byCode['unknown-kind'], `unknown stage kind "nope"; known kinds: ${Object.keys(stageKinds).join(', ')}`);
  assert.equal(byCode.cycle, 'cycle: a → c → a');
  assert.match(byCode['missing-need'], /needs "ghost", which is not a stage of this pipeline/);
  assert.match(byCode['invalid-cron'], /invalid cron expression "0 25 \* \* \*"/);
});

test('artifact type mismatch names both ends', () => {
  const res = compilePipeline({ name: 'm', stages: { m: { uses: 'noop', with: { produces: 'model' } }, d: { uses: 'dedupe', needs: ['m'] } } });
  assert.equal(res.ok, false);
  assert.deepEqual(!res.ok && res.issues, [
    { code: 'type-mismatch', path: 'stages.d.needs[0]', message: 'stage "m" (noop) produces model, but dedupe accepts documents' },
  ]);
});

test('a longer cycle is printed in data-flow order', () => {
  const res = compilePipeline({
    name: 'cyc',
    stages: { a: { uses: 'noop', needs: ['c'] }, b: { uses: 'noop', needs: ['a'] }, c: { uses: 'noop', needs: ['b'] }, z: { uses: 'noop' } },
  });
  assert.equal(res.ok, false);
  assert.deepEqual(!res.ok && res.issues.map((i) => i.message), ['cycle: a → b → c → a']);
});

test('duplicate stage names are reported with their line, beside other problems', async () => {
  const issues = await issuesOf(file('dup.yaml', 'name: dup\nstages:\n  a: { uses: noop }\n  a: { uses: noop, with: { sleepMs: -5 } }\n  b: { uses: nope }\n'));
  assert.deepEqual(brief(issues), ['duplicate-name stages.a @4:3', 'bad-params stages.a.with.sleepMs @4:28', 'unknown-kind stages.b.uses @5:8']);
  assert.match(issues[0].message, /stage name "a" is used twice/);
});

test('YAML syntax errors carry line and column', async () => {
  const issues = await issuesOf(file('broken.yaml', 'name: broken\nstages:\n  a: { uses: noop\n  b: [\n'));
  assert.ok(issues.length >= 1);
  assert.equal(issues[0].code, 'syntax');
  assert.ok(issues[0].line && issues[0].line >= 3, `line ${issues[0].line}`);
});

test('JSON syntax errors carry a position; JSON specs compile like YAML', async () => {
  const bad = await issuesOf(file('bad.json', '{"name": "j", "stages": {,}}'));
  assert.equal(bad[0].code, 'syntax');
  assert.equal(bad[0].line, 1);
  const plan = await loadPlan(file('ok.json', JSON.stringify({ name: 'j', stages: { a: { uses: 'noop' } } })));
  assert.deepEqual(plan.levels, [['a']]);
});

test('a missing file and an unknown top-level key are clear errors', async () => {
  assert.deepEqual(brief(await issuesOf(path.join(dir, 'nope.yaml'))), ['syntax (file)']);
  const extra = await issuesOf(file('extra.yaml', 'name: x\nstagse: {}\nstages: {}\n'));
  assert.deepEqual(brief(extra), ['invalid stagse @2:1']);
  assert.equal(extra[0].message, 'unknown field "stagse"');
});

test('the plan is normalized: defaults, retry/timeout layering, queues, modes, resolved paths, stable hash', async () => {
  const p = file(
    'norm.yaml',
    `name: norm
defaults: { retry: { maxAttempts: 7 }, timeout: { heartbeat: 10s }, queue: cpu }
stages:
  src: { uses: source, with: { paths: [corpus] } }
  fan: { uses: noop, needs: [src], queue: gpu, retry: { initialInterval: 2s }, with: { tasks: 10 }, concurrency: 4 }
  plain: { uses: noop }
`,
  );
  fs.mkdirSync(path.join(dir, 'corpus'), { recursive: true }); // loadPlan checks that the paths it resolves exist
  const plan = await loadPlan(p);
  assert.deepEqual(plan.stages.src.params.paths, [path.join(dir, 'corpus')]);
  assert.equal(plan.stages.src.params.shardSize, 10_000);
  assert.deepEqual(plan.stages.fan.retry, { maxAttempts: 7, initialInterval: '2s', backoffCoefficient: 2, maxInterval: '1m' });
  assert.deepEqual(plan.stages.fan.timeouts, { startToClose: '24h', heartbeat: '10s' });
  assert.equal(plan.stages.fan.queue, 'gpu');
  assert.equal(plan.stages.fan.mode, 'fanout');
  assert.equal(plan.stages.src.mode, 'fanout', 'a document stage fans out over its input');
  assert.equal(plan.stages.plain.mode, 'single');
  assert.equal(plan.stages.fan.concurrency, 4);
  assert.equal((await loadPlan(p)).hash, plan.hash, 'same spec, same hash');
  const overridden = await loadPlan(p, { overrides: { 'fan.tasks': 11 } });
  assert.notEqual(overridden.hash, plan.hash);
  assert.equal(overridden.stages.fan.params.tasks, 11);
  await assert.rejects(loadPlan(p, { overrides: { 'ghost.x': 1 } }), /--set ghost\.x: expected STAGE\.KEY=VALUE/);
});

test('TypeScript builder: loads like YAML, and its types come from the zod schemas', async () => {
  // The fixture is about types; its corpus folder does not exist.
  const plan = await loadPlan(path.join(__dirname, 'fixtures', 'builder-pipeline.ts'), { checkPaths: false });
  assert.deepEqual(plan.levels, [['docs'], ['clean']]);
  assert.equal(plan.stages.clean.params.normalize && (plan.stages.clean.params.normalize as { punctuation: boolean }).punctuation, true);

  expectTypeOf<StageParamsInput<'dedupe'>>().toHaveProperty('normalize');
  expectTypeOf<StageParamsInput<'crawl'>['maxPages']>().toEqualTypeOf<number | undefined>();
  const p = definePipeline({ name: 'x', stages: { a: { uses: 'noop', with: { sleepMs: 1 } }, b: { uses: 'dedupe', needs: ['a'] } } });
  expectTypeOf(p.stages.a.uses).toEqualTypeOf<StageKindName>();
  // The lines below must not compile; `npm test` typechecks this file.
  // @ts-expect-error unknown parameter of the noop kind
  definePipeline({ name: 'x', stages: { a: { uses: 'noop', with: { sleepMS: 1 } } } });
  // @ts-expect-error `needs` must name a stage of this pipeline
  definePipeline({ name: 'x', stages: { a: { uses: 'noop' }, b: { uses: 'noop', needs: ['c'] } } });
  // @ts-expect-error wrong type for a dedupe parameter
  definePipeline({ name: 'x', stages: { a: { uses: 'dedupe', with: { normalize: { lowercase: 'yes' } } } } });
  // @ts-expect-error unknown stage kind
  definePipeline({ name: 'x', stages: { a: { uses: 'nope' } } });
});

test('the JSON Schema is generated from zod and types each stage kind\'s `with`', () => {
  const schema = pipelineJsonSchema() as { properties: { stages: { additionalProperties: { oneOf?: unknown[]; anyOf?: unknown[] } } } };
  const variants = (schema.properties.stages.additionalProperties.oneOf ?? schema.properties.stages.additionalProperties.anyOf) as {
    properties: { uses: { const: string }; with: { properties: Record<string, unknown> } };
  }[];
  const byKind = Object.fromEntries(variants.map((v) => [v.properties.uses.const, v]));
  assert.deepEqual(Object.keys(byKind).sort(), Object.keys(stageKinds).sort());
  assert.ok('maxPages' in byKind.crawl.properties.with.properties);
  assert.ok('normalize' in byKind.dedupe.properties.with.properties);
});

test('docs/pipeline.schema.json is the generated schema (regenerate with `npx dapt schema > docs/pipeline.schema.json`)', () => {
  const committed = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'docs', 'pipeline.schema.json'), 'utf8'));
  assert.deepEqual(committed, pipelineJsonSchema());
});

test('trainer/config.schema.json is the generated schema (regenerate with `npx dapt schema --trainer > trainer/config.schema.json`)', () => {
  const committed = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'trainer', 'config.schema.json'), 'utf8'));
  assert.deepEqual(committed, trainerJsonSchema());
});

test('pretrain configOverrides: scalar values by attribute name; anything else names its path', async () => {
  const stage = (overrides: string) => `name: ov
stages:
  docs: { uses: source, with: { paths: [x] } }
  pt: { uses: pretrain, needs: [docs], with: { baseModel: m, train: { maxSteps: 1 }, configOverrides: ${overrides} } }
`;
  for (const d of ['x', 'm']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const plan = await loadPlan(file('ov-ok.yaml', stage('{ hidden_dropout_prob: 0, attention_probs_dropout_prob: 0.0 }')));
  const pt = plan.stages.pt;
  assert.deepEqual(pt.params.configOverrides, { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0 });
  assert.deepEqual(brief(await issuesOf(file('ov-nested.yaml', stage('{ rope_scaling: { type: linear } }')))), [
    'bad-params stages.pt.with.configOverrides.rope_scaling @4:105',
  ]);
  assert.deepEqual(brief(await issuesOf(file('ov-name.yaml', stage('{ "hidden dropout": 0 }')))).map((s) => s.replace(/ @.*/, '')), [
    'bad-params stages.pt.with.configOverrides.hidden dropout',
  ]);
});
