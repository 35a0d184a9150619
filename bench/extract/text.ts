/**
 * Seeded generators of article prose (English and Chinese) and of the boilerplate strings around it: menus,
 * teasers, ads, comments. Deterministic for a seed, so every run scores the same pages.
 */

export type Rng = () => number;

/** mulberry32: a small, good-enough seeded PRNG. */
export function rng(seed: number): Rng {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
export const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

const SUBJ = ['The council', 'A team of engineers', 'Local farmers', 'The new director', 'Researchers at the university', 'Several residents',
  'The ministry', 'Our correspondent', 'The company', 'Volunteers from the district', 'The museum', 'A group of students'];
const VERB = ['announced', 'reviewed', 'questioned', 'completed', 'described', 'rejected', 'supported', 'measured', 'published', 'restored'];
const OBJ = ['a plan for the harbour', 'the annual budget', 'the results of the survey', 'a proposal to widen the bridge',
  'the effects of the drought', 'an unusual collection of letters', 'the schedule for the spring', 'the cost of the new railway line',
  'several complaints about noise', 'a detailed map of the old town', 'the water quality in the river'];
const TAIL = ['after months of debate', 'despite strong opposition', 'in a report released on Tuesday', 'with help from regional partners',
  'although many questions remain', 'because funding had finally arrived', 'while the weather stayed dry', 'before the end of the year'];
const CLAUSE = ['which surprised many observers', 'and officials expect further changes', 'but critics say the timing is poor',
  'so the work will continue next season', 'and the figures will be checked again', 'though details were not disclosed'];

export function sentence(r: Rng): string {
  const s = `${pick(r, SUBJ)} ${pick(r, VERB)} ${pick(r, OBJ)} ${pick(r, TAIL)}`;
  return r() < 0.5 ? `${s}, ${pick(r, CLAUSE)}.` : `${s}.`;
}

export function paragraph(r: Rng, sentences = int(r, 2, 5)): string {
  return Array.from({ length: sentences }, () => sentence(r)).join(' ');
}

const ZH_SUBJ = ['市政府', '当地农民', '研究人员', '新任馆长', '几位居民', '这家公司', '志愿者们', '教育部门'];
const ZH_VERB = ['公布了', '审查了', '完成了', '介绍了', '支持了', '修复了', '测量了', '讨论了'];
const ZH_OBJ = ['港口改造计划', '年度预算', '调查结果', '拓宽大桥的方案', '干旱带来的影响', '一批珍贵的信件', '老城区的详细地图', '河流的水质情况'];
const ZH_TAIL = ['经过几个月的讨论', '尽管仍有不少反对意见', '在周二发布的报告中', '在地方合作伙伴的帮助下', '虽然还有许多问题没有解决'];

export function zhParagraph(r: Rng, sentences = int(r, 2, 5)): string {
  return Array.from({ length: sentences }, () => `${pick(r, ZH_SUBJ)}${pick(r, ZH_TAIL)}，${pick(r, ZH_VERB)}${pick(r, ZH_OBJ)}。`).join('');
}

export const MENU = ['Home', 'News', 'World', 'Business', 'Technology', 'Science', 'Health', 'Sport', 'Culture', 'Travel', 'Opinion', 'Video'];
export const ZH_MENU = ['首页', '新闻', '国际', '财经', '科技', '体育', '文化', '旅游', '评论', '视频'];
export const TEASERS = ['Ten things you did not know about the coast', 'Why the price of bread keeps rising', 'Storm warning issued for the weekend',
  'The best walking routes near the city', 'Interview: the architect behind the new library', 'How to save energy this winter'];
export const ADS = ['Sponsored: Get 50% off your first order of fresh vegetables delivered to your door, today only.',
  'Advertisement: Compare cheap flights and hotels and book your summer holiday in minutes.',
  'Promoted: This one simple trick helps homeowners cut their heating bills, experts say.'];
export const COMMENTS = ['Great article, thanks for sharing this with us.', 'I completely disagree with the council on this one, it is a waste of money.',
  'Does anyone know when the bridge will reopen to traffic?', 'My grandfather worked on that harbour in the fifties, brings back memories.'];
