/**
 * The HTML main-text extractor (activities/stages/html-text.ts) on small hand-written pages: the boilerplate
 * Readability keeps inside the article container (html-prune.ts) is removed, the article is kept, and a short
 * post is not traded for the page's longer sidebar. No servers: extractMainText is a pure function.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHTML } from 'linkedom';
import { bodyLength, cutTrailingChrome, dropRepeatedLines, extractMainText, leanHtml } from '../activities/stages/html-text';
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

  test('the text starts with the headline: the heading that is the largest part of the title, not the site name linking home', () => {
    const body = ARTICLE.map((p) => `<p>${p}</p>`).join('');
    // Readability drops an <h1> that repeats the title from the article it returns; the site's banner heading
    // (a link to the front page) is also part of the title but is not the headline.
    const html = (headline: string) => `<!doctype html><html><head><title>Harbour News: Pier to be restored</title></head><body>
<div id="banner"><h1><a href="http://harbour.example/">Harbour News</a></h1></div>
<div id="main">${headline}<div class="entry">${body}</div></div></body></html>`;
    const { text } = extractMainText(html('<h1>Pier to be restored</h1>'));
    assert.equal(text.split('\n\n')[0], 'Pier to be restored', text);
    assert.equal(text.split('\n\n').slice(1).join('\n\n'), ARTICLE.join('\n\n'), 'then the article, once');
    const noHeadline = extractMainText(html('')).text;
    assert.equal(noHeadline, ARTICLE.join('\n\n'), 'no headline invented from the site name');
  });

  test('the byline and date under the headline are kept after it, outside bodyLength; a bare date and a category line are not', () => {
    const body = ARTICLE.map((p) => `<p>${p}</p>`).join('');
    const html = `<!doctype html><html><head><title>Pier to be restored - Harbour News</title></head><body>
<div id="main"><h1>Pier to be restored</h1><div class="byline">By Jane Doe on May 3, 2024 at 9:15 AM</div>
<div class="date">Friday, May 3, 2024</div><div class="cat">Posted in Harbour</div><div class="entry">${body}</div></div></body></html>`;
    const x = extractMainText(html);
    assert.equal(x.text, ['Pier to be restored', 'By Jane Doe on May 3, 2024 at 9:15 AM', ...ARTICLE].join('\n\n'));
    assert.equal(x.dateline, 'By Jane Doe on May 3, 2024 at 9:15 AM');
    assert.equal(bodyLength(x), ARTICLE.join('\n\n').length);
  });

  test('a photo post whose only prose is the blog\'s description box yields the headline, not the box', () => {
    const about = 'This blog is about street fashion in the city: we walk the markets and the high street every week and photograph the people we meet, and we have been doing it since 2006 with a camera.';
    const html = `<!doctype html><html><head><title>The Style Blog: In the pink</title></head><body>
<div class="post"><h3>In the pink</h3><div class="post-body"><img src="pink.jpg"></div></div>
<div class="col"><div class="widget Text"><p>${about}</p><p>${about}</p></div><div class="widget Label"><a href="/shoes">Shoes</a></div></div></body></html>`;
    const { text } = extractMainText(html);
    assert.equal(text, 'In the pink');
  });

  test('a page with <html> but no <body> (content straight after </head>) is read like one with a <body>', () => {
    const body = ARTICLE.map((p) => `<p>${p}</p>`).join('');
    const { text, extractor } = extractMainText(`<html><head><title>Pier</title></head><div id="menu"><a href="/">Home</a></div><div class="post">${body}</div></html>`);
    assert.equal(extractor, 'readability');
    assert.equal(text, ARTICLE.join('\n\n'));
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

describe('user comments', () => {
  const reply = 'We rowed past the pier on Sunday and two of the upper stones had already fallen into the basin.';
  const second = 'Good news at last; my grandfather fished from that pier for forty years and would have been glad.';
  // A blog post inside Blogger's `div.widget.Blog` wrapper, a WordPress-style thread with its reply form, and a
  // sidebar widget listing recent comments of other posts (links, not comments).
  const html = `<!doctype html><html><head><title>Pier</title></head><body>
<div class="widget Blog" id="Blog1"><div class="post"><h2>Pier to be restored</h2>${ARTICLE.map((p) => `<p>${p}</p>`).join('')}</div>
  <div id="comments"><h4>2 comments:</h4><ol class="commentlist">
    <li class="comment even depth-1"><div class="comment-author vcard">Tom</div><p>${reply}</p><a class="comment-reply-link" href="#r">Reply</a></li>
    <li class="comment odd depth-1"><div class="comment-author vcard">Ann</div><p>${second}</p><div class="comment-error" style="display:none">Your comment could not be posted.</div></li>
  </ol><div id="respond"><h3>Leave a Reply</h3><form><textarea id="comment" name="comment"></textarea><input type="submit" value="Post Comment"></form></div></div>
</div>
<div class="sidebar"><ul class="widget_recent_comments"><li class="recentcomments"><a href="/x">Bob on Ferry timetable changes for the summer</a></li>
  <li class="recentcomments"><a href="/y">Sue on Lifeboat crew rescues two walkers from the cliffs</a></li></ul></div>
</body></html>`;

  test('left out unless asked for; when asked, the thread without its form, reply links, hidden notices or the recent-comments widget', () => {
    const plain = extractMainText(html);
    assert.equal(plain.comments, undefined);
    assert.ok(!plain.text.includes(reply));
    const { text, comments = '' } = extractMainText(html, { comments: true });
    assert.equal(text, plain.text, 'the article text does not change');
    assert.ok(comments.includes(reply) && comments.includes(second), comments);
    assert.ok(comments.indexOf(reply) < comments.indexOf(second), 'in page order');
    for (const junk of ['Leave a Reply', 'Post Comment', 'could not be posted', 'Ferry timetable', 'Reply\n']) assert.ok(!comments.includes(junk), `not a comment: ${junk}`);
  });

  test('a thread the article already holds is not repeated', () => {
    // A photo post: Readability takes the discussion as the article, so the comments are in `text` already.
    const photo = `<!doctype html><html><head><title>Photo</title></head><body><div class="post"><h2>Blue coat</h2><img src="a.jpg"></div>
<div class="comments">${[reply, second, reply.replace('Sunday', 'Monday'), second.replace('forty', 'fifty')].map((c, i) => `<div class="comment"><p>Reader ${i} said...</p><p>${c} ${c}</p></div>`).join('')}</div></body></html>`;
    const { text, comments } = extractMainText(photo, { comments: true });
    assert.ok(text.includes(reply), text);
    assert.equal(comments, undefined);
  });
});

describe('text clean-up', () => {
  test('a line repeated later (a print copy of the story) is kept once; short lines may repeat', () => {
    const long = 'Authorities arrested two former executives of the bank on Monday morning.';
    assert.equal(dropRepeatedLines(`${long}\nReply\n\nBy A. Writer\n${long}\nReply`), `${long}\nReply\n\nBy A. Writer\nReply`);
  });

  test('a trailing "Related posts" / "Don\'t miss" / "About the author" section is cut; a bare "Related:" list is kept', () => {
    const story = ['First paragraph of the story, long enough to be most of the text of this short example.', 'Second paragraph of it.'];
    const tail = ['About the author', 'Jane writes about harbours.'];
    assert.equal(cutTrailingChrome([...story, ...tail].join('\n\n')), story.join('\n\n'));
    assert.equal(cutTrailingChrome([...story, "Don't miss", 'Ferry timetable'].join('\n')), story.join('\n'));
    assert.equal(cutTrailingChrome([...story, 'About Jane Doe', 'Jane writes about harbours.'].join('\n')), story.join('\n'));
    const related = [...story, 'Related:', 'Ferry timetable'].join('\n');
    assert.equal(cutTrailingChrome(related), related);
    const long = ['Related posts', ...story].join('\n');
    assert.equal(cutTrailingChrome(long), long, 'not when it would cut more than half the text');
  });

  test('leanHtml drops scripts, styles, comments and layout indentation, keeps word breaks between inline tags and <pre>', () => {
    const lean = leanHtml('<div>\n  <script>if (a < b) document.write("<!--")</script>\n  <p>one <b>two</b> <i>three</i><!-- x --></p>\n  <style>p{}</style>\n</div>\n<pre>\n  <b>keep</b>\n</pre>');
    assert.equal(lean, '<div><p>one <b>two</b> <i>three</i></p></div>\n<pre>\n  <b>keep</b>\n</pre>');
    const cells = extractMainText('<table>\n<tr>\n<td>Name</td>\n<td>Height</td>\n</tr>\n</table>');
    assert.equal(cells.text, 'Name\n\nHeight', 'table cells stay apart without the whitespace between them');
  });
});
