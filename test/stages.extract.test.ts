/**
 * The extract stage against a real MinIO: pages with navigation, ads, cookie banners and footers around the
 * article (read by the warc stage from test/helpers/warc.ts's files); where HTML is found; short pages dropped.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ShardWriter } from '../activities/documents';
import { extractStage, htmlOf } from '../activities/stages/extract/run';
import type { StageInputArtifact } from '../activities/stages/types';
import { warcStage } from '../activities/stages/warc/run';
import type { ArtifactStore } from '../activities/store';
import { stageKinds } from '../schemas/stages';
import { makeStageContext, publishAsInput, startTestMinio, type TestMinio, readOutput } from './helpers/stage-context';
import { ARTICLE, ZH, page, writeSampleWarcs } from './helpers/warc';

let minio: TestMinio;
let dir: string;

before(async () => {
  minio = await startTestMinio('stages-extract');
  dir = path.join(minio.dir, 'warc');
  writeSampleWarcs(dir);
});

after(async () => {
  await minio?.stop();
});

describe('extract stage', () => {
  async function warcInput(store: ArtifactStore): Promise<StageInputArtifact> {
    const out = await warcStage.run!(makeStageContext({ store, params: stageKinds.warc.params.parse({ paths: [path.join(dir, 'crawl'), path.join(dir, 'plain.wet')] }) }).ctx);
    return publishAsInput(store, 'warc', out);
  }

  test('keeps the article paragraphs and drops navigation, ads, banners and footers; short pages dropped', async () => {
    const store = await minio.freshStore();
    const params = stageKinds.extract.params.parse({ minChars: 100 });
    const out = await extractStage.run!(makeStageContext({ store, params, inputs: [await warcInput(store)] }).ctx);
    const docs = await readOutput(store, out);
    const [en, zh] = docs.filter((d) => d.metadata.extractor);
    for (const p of ARTICLE) assert.ok(en.text.includes(p), `paragraph kept: ${p.slice(0, 30)}`);
    assert.match(en.text, new RegExp(`${ARTICLE[0]}\n\n${ARTICLE[1]}`), 'paragraph breaks kept');
    for (const junk of ['Sport', 'Search', 'cookies', 'Advertisement', 'Ten best beaches', 'All rights reserved', 'Privacy policy']) {
      assert.ok(!en.text.includes(junk), `boilerplate removed: ${junk}`);
    }
    assert.deepEqual([en.metadata.title, en.metadata.language, en.metadata.htmlLang, en.metadata.url], ['The old harbour', 'en', 'en', 'https://example.org/harbour']);
    assert.deepEqual([zh.metadata.title, zh.metadata.language, zh.metadata.htmlLang], ['港口的历史', 'zh', 'zh-cn']);
    assert.ok(ZH.every((p) => zh.text.includes(p)));
    assert.deepEqual(
      [out.metrics!.input, out.metrics!.extracted, out.metrics!.tooShort, out.metrics!.passedThrough],
      [5, 2, 1, 2],
      'the tiny page is dropped, the two WET documents pass through',
    );
    const strict = await extractStage.run!(makeStageContext({ store, params: stageKinds.extract.params.parse({ minChars: 100, nonHtml: 'drop' }), inputs: [await warcInput(store)] }).ctx);
    assert.deepEqual([strict.metrics!.extracted, strict.metrics!.notHtml], [2, 2]);
  });

  test('HTML in metadata.html or as markup in text; plain text is not HTML', async () => {
    const doc = (text: string, metadata: Record<string, unknown> = {}) => ({ id: 'x', text, source: 's', metadata });
    assert.equal(htmlOf(doc('summary', { html: '<p>a</p>' })), '<p>a</p>');
    assert.equal(htmlOf(doc('<!-- saved --><!DOCTYPE html><html><body>x</body></html>')), '<!-- saved --><!DOCTYPE html><html><body>x</body></html>');
    assert.equal(htmlOf(doc('<p>fragment</p>', { contentType: 'text/html; charset=utf-8' })), '<p>fragment</p>');
    assert.equal(htmlOf(doc('Use <b> for bold.')), undefined);

    const store = await minio.freshStore();
    const t = makeStageContext({ store, params: stageKinds.extract.params.parse({ minChars: 50, keepHtml: true }) });
    const w = new ShardWriter(store, t.ctx.workDir, 10);
    await w.write({ id: 'j', text: 'teaser', source: 'feed.jsonl', metadata: { html: page('Harbour', ARTICLE), url: 'u' } });
    const input = await publishAsInput(store, 'jsonl', { files: await w.close(), schema: 'document/v1' });
    const out = await extractStage.run!({ ...t.ctx, inputs: [input] });
    const [d] = await readOutput(store, out);
    assert.ok(ARTICLE.every((p) => d.text.includes(p)));
    assert.equal(d.metadata.title, 'Harbour');
    assert.equal(typeof d.metadata.html, 'string', 'keepHtml keeps the source');
    assert.equal(d.metadata.url, 'u');
  });

  test('comments: dropped by default, appended to the text, or kept in metadata.comments', async () => {
    const comment = 'I walked along the old pier last summer and the stones were already loose near the lighthouse end.';
    const html = page('Harbour', ARTICLE).replace('</body>', `<div id="comments"><h3>One response</h3><ol class="commentlist">
      <li class="comment"><div class="comment-author">Mary</div><p>${comment}</p><a class="comment-reply-link" href="#">Reply</a></li></ol>
      <div id="respond"><h3>Leave a Reply</h3><form><textarea id="comment"></textarea></form></div></div></body>`);
    const store = await minio.freshStore();
    const run = async (comments?: string) => {
      const t = makeStageContext({ store, params: stageKinds.extract.params.parse({ minChars: 50, ...(comments ? { comments } : {}) }) });
      const w = new ShardWriter(store, t.ctx.workDir, 10);
      await w.write({ id: 'c', text: html, source: 'pages.jsonl', metadata: { contentType: 'text/html' } });
      const input = await publishAsInput(store, 'jsonl', { files: await w.close(), schema: 'document/v1' });
      const [d] = await readOutput(store, await extractStage.run!({ ...t.ctx, inputs: [input] }));
      return d;
    };
    const [dropped, appended, apart] = [await run(), await run('append'), await run('metadata')];
    for (const d of [dropped, appended, apart]) assert.ok(ARTICLE.every((p) => d.text.includes(p)));
    assert.ok(!dropped.text.includes(comment) && dropped.metadata.comments === undefined, 'left out by default');
    assert.ok(appended.text.endsWith(comment), appended.text);
    assert.ok(appended.text.includes(`${ARTICLE[ARTICLE.length - 1]}\n\n`), 'after the article, a blank line between');
    assert.ok(!appended.text.includes('Leave a Reply') && !appended.text.includes('Reply\n'), 'the form and reply links are not comments');
    assert.ok(!apart.text.includes(comment));
    assert.match(String(apart.metadata.comments), new RegExp(comment));
  });
});
