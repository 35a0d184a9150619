/**
 * The HTML main-text extractor (activities/stages/html-text.ts) on small hand-written pages: the boilerplate
 * Readability keeps inside the article container (html-prune.ts) is removed, the article is kept, and a short
 * post is not traded for the page's longer sidebar. No servers: extractMainText is a pure function.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHTML } from 'linkedom';
import { extractMainText } from '../activities/stages/html-text';
import { pruneBoilerplate, type PruneNode } from '../activities/stages/html-prune';

const ARTICLE = [
  'The harbour master confirmed on Tuesday that the old stone pier will be restored over the next two summers, after the council approved the budget.',
  'Engineers found that the foundations, laid in 1843, are sound, but the upper courses have been loosened by a century of winter storms and will be relaid by hand.',
  'Fishing boats will keep using the inner basin during the work, and the ferry will move to the temporary landing stage beside the lifeboat station.',
  'Residents can see the plans at the library until the end of the month, and a public meeting about the schedule will be held in the town hall in May.',
];

// Chrome inside the article container, where Readability keeps it: a cookie banner, a share bar, a tag line,
// a related-links block and a run of navigation links (without <nav>, which Readability drops by itself).
const page = `<!doctype html><html lang="en"><head><title>Pier to be restored | Harbour News</title></head><body>
<div id="page"><div class="content">
  <div class="cookie-consent">We use cookies to improve your experience on our site. <a href="/privacy">Learn more</a></div>
  <div class="menu-bar"><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></div>
  <div class="post">
    <h1>Pier to be restored</h1>
    <div class="share-buttons"><a href="#">Share on Facebook</a> <a href="#">Share on Twitter</a> <a href="#">Email</a></div>
    ${ARTICLE.map((p) => `<p>${p}</p>`).join('\n    ')}
    <p>Tags: harbour, council, pier</p>
    <div class="related-posts"><h3>Related posts</h3><ul>
      <li><a href="/a">Ferry timetable changes for the summer season</a></li>
      <li><a href="/b">Lifeboat crew rescues two walkers from the cliffs</a></li>
      <li><a href="/c">Council approves budget for the coastal path</a></li></ul></div>
    <div class="links"><p><a href="/archive/2024">Archive 2024</a></p><p><a href="/archive/2023">Archive 2023</a></p><p><a href="/archive/2022">Archive 2022</a></p></div>
    <p>© 2024 Harbour News. All rights reserved.</p>
  </div>
</div></div></body></html>`;

describe('extractMainText', () => {
  test('keeps the article and removes the cookie banner, share bar, tags, related links, link runs and copyright', () => {
    const { text, extractor, title } = extractMainText(page);
    assert.equal(extractor, 'readability');
    assert.equal(title, 'Pier to be restored | Harbour News');
    assert.equal(text.split('\n\n').slice(-ARTICLE.length).join('\n\n'), ARTICLE.join('\n\n'), 'article paragraphs kept, in order, as paragraphs');
    for (const junk of ['cookies', 'Share on', 'Tags:', 'Related posts', 'Ferry timetable', 'Archive 2023', 'All rights reserved', 'Sport']) {
      assert.ok(!text.includes(junk), `removed: ${junk}`);
    }
  });

  test('a short post is kept rather than the longer sidebar beside it', () => {
    const about = 'This blog is about street fashion in the city: we walk the markets and the high street every week and photograph the people we meet, and we have been doing it since 2006.';
    const html = `<!doctype html><html><head><title>In the pink</title></head><body>
<div id="main"><div class="post"><h2>In the pink</h2><p>A bright pink coat seen at the market on Saturday morning, worn with white trainers and a grey scarf.</p><p>Photographed by Anna.</p></div></div>
<div id="sidebar"><div class="about"><p>${about}</p><p>${about}</p><p>${about}</p></div></div></body></html>`;
    const { text } = extractMainText(html);
    assert.match(text, /bright pink coat/);
    assert.ok(!text.includes('street fashion in the city'), text);
  });
});

describe('pruneBoilerplate', () => {
  test('never removes an element that holds most of the article, whatever its class', () => {
    const { document } = parseHTML(
      `<html><body><div id="root"><div class="entry-meta"><p>${ARTICLE.join('</p><p>')}</p></div><div class="post-meta">Posted on 1 May</div></div></body></html>`,
    );
    const root = document.getElementById('root') as unknown as PruneNode;
    const removed: string[] = [];
    assert.equal(pruneBoilerplate(root, (rule) => removed.push(rule)), 1);
    assert.deepEqual(removed, ['name:post-meta']);
    assert.ok(ARTICLE.every((p) => (root.textContent ?? '').includes(p)));
  });
});
