/**
 * The filter stage against a real MinIO: each rule on a document built to trip it (test/helpers/filter-docs.ts),
 * the drop reason read back from the written-aside shards, clean English and Chinese documents kept, C4's
 * line removal, every rule switchable, and PII masking.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readShard, ShardWriter } from '../activities/documents';
import { buildFilters, filterStage } from '../activities/stages/filter/run';
import { compressFrame, decompressedBuffer } from '../activities/shard-codec';
import { validChineseId } from '../activities/stages/filter/pii';
import type { ArtifactStore } from '../activities/store';
import type { ArtifactFileT, DocumentRecordT } from '../schemas/manifest';
import { stageKinds, type StageParamsInput } from '../schemas/stages';
import { CASES, CLEAN_EN, CLEAN_ZH } from './helpers/filter-docs';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio, readOutput } from './helpers/stage-context';

let minio: TestMinio;
before(async () => {
  minio = await startTestMinio('stages-filter');
});
after(async () => {
  await minio?.stop();
});

async function runFilter(docs: { id: string; text: string }[], params: StageParamsInput<'filter'>) {
  const store = await minio.freshStore();
  const t = makeStageContext({ store, params: stageKinds.filter.params.parse({}) });
  const w = new ShardWriter(store, t.ctx.workDir, 1000);
  for (const d of docs) await w.write({ ...d, source: 'test', metadata: {} });
  const input = await publishAsInput(store, 'docs', { files: await w.close(), schema: 'document/v1' });
  const ctx = makeStageContext({ store, params: stageKinds.filter.params.parse(params), inputs: [input] });
  const out = await filterStage.run!(ctx.ctx);
  return { out, store, kept: await readOutput(store, out) };
}

async function readFiles(store: ArtifactStore, files: ArtifactFileT[]): Promise<DocumentRecordT[]> {
  const docs: DocumentRecordT[] = [];
  for (const f of files) for await (const d of readShard(store, f)) docs.push(d);
  return docs;
}

function tally(expects: string[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const e of expects.filter((x) => x !== 'kept')) {
    const [rule, reason] = e.split('/');
    (out[rule] ??= {})[reason] = (out[rule][reason] ?? 0) + 1;
  }
  return out;
}

describe('filter stage', () => {
  for (const [config, params] of [['default', {}], ['noc4', { c4: { enabled: false } }]] as const) {
    test(`every ${config} case is dropped by its rule with its reason, or kept`, async () => {
      const cases = CASES.filter((c) => (c.config ?? 'default') === config);
      const { out, store, kept } = await runFilter(cases.map((c) => ({ id: c.name, text: c.text })), { ...params, writeDropped: true });
      const droppedFiles = out.metrics!.droppedFiles as ArtifactFileT[];
      assert.ok(droppedFiles.every((f) => f.name.startsWith('dropped-')) && out.files.every((f) => f.name.startsWith('shard-')));
      const got = new Map<string, string>(kept.map((d) => [d.id, 'kept']));
      for (const d of await readFiles(store, droppedFiles)) {
        const f = d.metadata.filter as { rule: string; reason: string };
        got.set(d.id, `${f.rule}/${f.reason}`);
      }
      for (const c of cases) assert.equal(got.get(c.name), c.expect, c.name);
      assert.deepEqual(out.metrics!.droppedBy, tally(cases.map((c) => c.expect)));
      const m = out.metrics as { input: number; kept: number; dropped: number };
      assert.deepEqual([m.input, m.kept, m.dropped], [cases.length, kept.length, cases.length - kept.length]);
    });
  }

  test('C4 removes javascript, policy and unpunctuated lines but keeps paragraph breaks; language is recorded', async () => {
    const c = CASES.find((x) => x.name === 'c4-line-removal')!;
    const { out, kept } = await runFilter([{ id: 'c4', text: c.text }, { id: 'zh', text: CLEAN_ZH }], {});
    const doc = kept.find((d) => d.id === 'c4')!;
    assert.doesNotMatch(doc.text, /JavaScript|privacy policy|^Menu/m);
    assert.equal(doc.text.split('\n\n').length, 2, 'the blank line between the two paragraphs survives');
    assert.equal(doc.metadata.language, 'en');
    assert.equal(kept.find((d) => d.id === 'zh')!.metadata.language, 'zh');
    const stats = (out.metrics!.stats as Record<string, Record<string, number>>).c4;
    assert.deepEqual([stats.line_javascript, stats.line_policy, stats.line_no_terminal_punct, stats.documents_modified], [1, 1, 1, 1]);
  });

  test('every rule can be switched off', async () => {
    const off = { enabled: false };
    const params = { language: off, gopherRepetition: off, gopherQuality: off, c4: off, fineweb: off };
    assert.equal(buildFilters(stageKinds.filter.params.parse(params)).length, 0);
    const { out } = await runFilter(CASES.map((c) => ({ id: c.name, text: c.text })), params);
    assert.equal(out.metrics!.kept, CASES.length);
  });

  test('a record no rule changes is written as the bytes it was read from; one a rule changes is serialized again', async () => {
    const store = await minio.freshStore();
    const t = makeStageContext({ store, params: stageKinds.filter.params.parse({}) });
    // A text in a form JSON.stringify would not write (an escaped "."): kept as it is, or the stage serialized
    // the record again. (The metadata is compared by its serialization, so it is written as JSON.stringify would.)
    const lines = [
      `{"id":"a","text":${JSON.stringify(CLEAN_EN).replace('.', '\\u002e')},"source":"s","metadata":{"url":"https://example.org/a"}}`,
      `{"id":"b","text":${JSON.stringify(CLEAN_EN)},"source":"s","metadata":{"n":1}}`,
    ];
    const local = path.join(t.ctx.workDir, 'in.jsonl.zst');
    fs.writeFileSync(local, await compressFrame(Buffer.from(lines.join('\n') + '\n')));
    const input = await publishAsInput(store, 'docs', { files: [await store.putFile(local, 'shard-00000.jsonl.zst', 2)], schema: 'document/v1' });
    const shardBytes = async (files: ArtifactFileT[]) => (await decompressedBuffer(Buffer.concat(await Promise.all(files.map((f) => store.getRange(f.key, 0, f.bytes)))))).toString('utf8');
    const off = { enabled: false };
    const allOff = { language: off, gopherRepetition: off, gopherQuality: off, c4: off, fineweb: off };
    const run = async (params: StageParamsInput<'filter'>) => {
      const ctx = makeStageContext({ store, params: stageKinds.filter.params.parse(params), inputs: [input] });
      return shardBytes((await filterStage.run!(ctx.ctx)).files);
    };
    assert.equal(await run(allOff), lines.join('\n') + '\n');
    // The language rule records metadata.language: the records change, and are written as JSON.stringify writes them.
    const withLanguage = (await run({ ...allOff, language: { enabled: true } })).trimEnd().split('\n');
    assert.equal(withLanguage.length, 2);
    for (const [i, l] of withLanguage.entries()) {
      const rec = JSON.parse(l) as DocumentRecordT;
      assert.equal(l, JSON.stringify(rec));
      assert.deepEqual(rec, { ...(JSON.parse(lines[i]) as DocumentRecordT), metadata: { ...(JSON.parse(lines[i]) as DocumentRecordT).metadata, language: 'en', languageScore: rec.metadata.languageScore } });
    }
  });

  test('PII masking: e-mails, phone numbers, Chinese mobile and ID numbers with a valid checksum only', async () => {
    assert.ok(validChineseId('11010519491231002X'));
    assert.ok(!validChineseId('110105194912310021'), 'wrong check character');
    assert.ok(!validChineseId('110105194902300027'), 'no 30 February');
    const text = `${CLEAN_EN}\n\nWrite to jane.doe+news@example.co.uk or call (555) 123-4567 or +44 20 7946 0958 today.\n\n` +
      `${CLEAN_ZH}\n\n联系人手机：13812345678，或 +86 139-1234-5678。身份证号 11010519491231002X 已登记，订单号 110105194912310021 不是身份证。`;
    const { out, kept } = await runFilter([{ id: 'pii', text }], { pii: { enabled: true }, language: { enabled: false }, c4: { enabled: false } });
    const t = kept[0].text;
    assert.match(t, /Write to <EMAIL> or call <PHONE> or <PHONE> today\./);
    assert.match(t, /联系人手机：<PHONE>，或 <PHONE>。身份证号 <ID> 已登记，订单号 110105194912310021 不是身份证。/);
    assert.deepEqual((out.metrics!.stats as Record<string, unknown>).pii, { id_cards: 1, emails: 1, phones: 4, documents: 1 });
    assert.ok(t.includes(CLEAN_EN) && t.includes(CLEAN_ZH), 'ordinary text is untouched');
  });
});
