/**
 * The benchmark's pages: generated articles with known main text (the body paragraphs and in-article
 * subheadings; the title is metadata for both extractors, so it is not part of the gold text) wrapped in five
 * kinds of realistic boilerplate: a news site, a blog with comments and a sidebar, a legacy table layout with
 * <div>/<br> paragraphs, a portal with ads and teaser paragraphs inside the article, and a Chinese news page.
 */
import { ADS, COMMENTS, MENU, TEASERS, ZH_MENU, int, paragraph, pick, rng, sentence, zhParagraph, type Rng } from './text';

export interface Page {
  id: string;
  template: string;
  html: string;
  /** The main text: paragraphs separated by blank lines. */
  gold: string;
}

const links = (items: string[], cls = '') => `<ul class="${cls}">${items.map((t) => `<li><a href="/${encodeURIComponent(t)}">${t}</a></li>`).join('')}</ul>`;
const head = (title: string, lang = 'en') =>
  `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><title>${title} | Site</title><script>window.dataLayer=[];</script><style>body{font:16px sans-serif}</style></head>`;
const cookie = '<div id="cookie-consent" class="modal">We use cookies and similar technologies to personalise content and ads. <button>Accept</button> <button>Settings</button></div>';
const footer = (r: Rng) => `<footer class="site-footer">${links(['About us', 'Contact', 'Careers', 'Advertise', 'Privacy policy', 'Terms of use'])}<p>© ${int(r, 2015, 2024)} Example Media Group. All rights reserved.</p></footer>`;

function body(r: Rng, paragraphs: number): { blocks: { tag: 'p' | 'h2'; text: string }[]; gold: string } {
  const blocks: { tag: 'p' | 'h2'; text: string }[] = [];
  for (let i = 0; i < paragraphs; i++) {
    if (i > 0 && i % 3 === 0 && r() < 0.6) blocks.push({ tag: 'h2', text: sentence(r).replace(/[,.].*$/, '') });
    blocks.push({ tag: 'p', text: paragraph(r) });
  }
  return { blocks, gold: blocks.map((b) => b.text).join('\n\n') };
}

const TEMPLATES: Record<string, (r: Rng, title: string) => { html: string; gold: string }> = {
  news(r, title) {
    const { blocks, gold } = body(r, int(r, 4, 9));
    const parts = blocks.map((b, i) => `<${b.tag}>${b.text}</${b.tag}>${i === 2 ? `<div class="read-also"><strong>Read also:</strong> <a href="/x">${pick(r, TEASERS)}</a></div>` : ''}`);
    return {
      gold,
      html: `${head(title)}<body>${cookie}<header><a class="logo" href="/">The Daily Example</a><form><input name="q"><button>Search</button></form></header>
<nav class="main-nav">${links(MENU)}</nav><div class="breadcrumbs"><a href="/">Home</a> › <a href="/news">News</a> › Local</div>
<main><article><h1>${title}</h1><div class="byline">By Jane Reporter · ${int(r, 1, 28)} March 2024 · 4 min read</div>
<div class="share"><a>Share on Facebook</a> <a>Share on X</a> <a>Email</a></div>${parts.join('\n')}
<div class="tags">Tags: ${links(['harbour', 'council', 'transport'], 'tags')}</div></article>
<aside class="most-read"><h3>Most read</h3>${links(TEASERS)}</aside></main>
<section class="newsletter"><h3>Get our newsletter</h3><p>Sign up for the morning briefing, delivered every weekday.</p><input type="email"></section>${footer(r)}</body></html>`,
    };
  },
  blog(r, title) {
    const { blocks, gold } = body(r, int(r, 3, 8));
    const comments = Array.from({ length: int(r, 2, 4) }, () => `<div class="comment"><span class="author">reader${int(r, 1, 99)}</span><p>${pick(r, COMMENTS)}</p></div>`);
    return {
      gold,
      html: `${head(title)}<body><div id="wrapper"><div id="top"><a href="/">My little blog</a></div>
<div id="sidebar"><h4>Categories</h4>${links(['Travel', 'Cooking', 'Gardening', 'Books'])}<h4>Archive</h4>${links(['January 2024', 'December 2023', 'November 2023'])}
<div class="tagcloud">${MENU.join(' ')}</div></div>
<div id="content"><div class="post"><h2 class="post-title">${title}</h2><div class="meta">Posted in Travel · ${int(r, 2, 40)} comments</div>
<div class="post-content">${blocks.map((b) => `<${b.tag === 'h2' ? 'h3' : 'p'}>${b.text}</${b.tag === 'h2' ? 'h3' : 'p'}>`).join('\n')}</div></div>
<div id="comments"><h3>Comments</h3>${comments.join('')}<form><textarea></textarea><button>Post comment</button></form></div></div>${footer(r)}</div></body></html>`,
    };
  },
  legacy(r, title) {
    const { blocks, gold } = body(r, int(r, 3, 7));
    return {
      gold,
      html: `${head(title)}<body><table width="100%"><tr><td colspan="2"><img src="/logo.gif" alt="logo"> ${links(MENU.slice(0, 6))}</td></tr>
<tr><td width="180" valign="top" class="left">${links(['Products', 'Support', 'Downloads', 'Forum', 'FAQ'])}<p>Visitors: ${int(r, 1000, 99999)}</p></td>
<td valign="top"><font size="5"><b>${title}</b></font><br><br>${blocks.map((b) => (b.tag === 'h2' ? `<b>${b.text}</b><br>` : `<div>${b.text}</div><br>`)).join('\n')}</td></tr>
<tr><td colspan="2" align="center"><small>Copyright Example Corp. Best viewed in any browser.</small></td></tr></table></body></html>`,
    };
  },
  portal(r, title) {
    const { blocks, gold } = body(r, int(r, 4, 9));
    const teaser = () => `<div class="teaser"><h4><a href="/t">${pick(r, TEASERS)}</a></h4><p>${sentence(r)}</p></div>`;
    const parts = blocks.map((b, i) => `<${b.tag}>${b.text}</${b.tag}>${i === 1 ? `<div class="ad-slot">${pick(r, ADS)}</div>` : ''}`);
    return {
      gold,
      html: `${head(title)}<body><div class="topbar">${links(MENU)}</div><div class="ad-banner">${pick(r, ADS)}</div>
<div class="layout"><div class="col-main"><div class="story"><h1>${title}</h1><p class="standfirst-meta">Updated ${int(r, 1, 12)} hours ago</p>${parts.join('\n')}</div>
<div class="related"><h3>You may also like</h3>${teaser()}${teaser()}${teaser()}</div></div>
<div class="col-side"><div class="ad-box">${pick(r, ADS)}</div><h3>Trending</h3>${links(TEASERS.slice(0, 4))}</div></div>${cookie}${footer(r)}</body></html>`,
    };
  },
  zh(r, title) {
    const ps = Array.from({ length: int(r, 3, 8) }, () => zhParagraph(r));
    return {
      gold: ps.join('\n\n'),
      html: `${head(title, 'zh-CN')}<body><div class="header"><a href="/">示例新闻网</a>${links(ZH_MENU)}</div>
<div class="main"><div class="article"><h1>${title}</h1><div class="info">来源：示例新闻网\u3000${int(r, 1, 28)}日\u3000编辑：李明</div>${ps.map((p) => `<p>${p}</p>`).join('\n')}
<div class="share">分享到：微信 微博 QQ空间</div></div><div class="side"><h3>热门推荐</h3>${links(ZH_MENU.map((m) => `${m}频道最新消息`))}</div></div>
<div class="footer">关于我们 | 联系我们 | 广告服务 | 版权所有 © 示例新闻网</div></body></html>`,
    };
  },
};

export function generatePages(count: number, seed = 1): Page[] {
  const r = rng(seed);
  const names = Object.keys(TEMPLATES);
  return Array.from({ length: count }, (_, i) => {
    const template = names[i % names.length];
    const title = template === 'zh' ? `${zhParagraph(r, 1).slice(0, 14)}` : sentence(r).replace(/ (after|despite|in a|with|although|because|while|before) .*$/, '');
    return { id: `p${String(i).padStart(4, '0')}`, template, ...TEMPLATES[template](r, title) };
  });
}
