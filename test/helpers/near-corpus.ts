/**
 * Generated corpora with planted near-duplicate pairs: each pair is a base text and a variant with k words
 * replaced, over a private vocabulary so unrelated texts share (almost) no shingles. The true Jaccard
 * similarity of each pair is measured with the stage's own shingling, so tests bucket pairs by it.
 */
import { ShingleBuilder, type ShingleOptions } from '../../activities/stages/dedupe/near/shingles';
import { rng } from '../../activities/rng';
export { rng };


const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'sa', 'vel', 'dor', 'pi', 'nax', 'qua', 'zel', 'fo', 'bri', 'gem', 'hal'];

/** Pseudo-English: 4,000 words of two or three syllables. */
export const EN_WORDS = Array.from({ length: 4000 }, (_, i) => {
  const n = 2 + (i % 2);
  let w = '';
  for (let k = 0, x = i * 7919 + 13; k < n; k++, x = Math.floor(x / SYLLABLES.length) + k * 31) w += SYLLABLES[x % SYLLABLES.length];
  return `${w}${i}`;
});

/** Common Chinese words, joined without spaces; jieba re-segments them. */
export const ZH_WORDS = (
  '我们 今天 天气 城市 学校 老师 学生 朋友 工作 公司 市场 经济 发展 问题 时间 国家 社会 文化 历史 科学 技术 电脑 手机 网络 ' +
  '音乐 电影 书籍 报纸 新闻 医生 医院 病人 健康 运动 比赛 足球 篮球 游泳 旅行 火车 飞机 汽车 道路 交通 银行 价格 商品 ' +
  '超市 饭店 早饭 午饭 晚饭 水果 苹果 香蕉 米饭 面条 咖啡 牛奶 家庭 父亲 母亲 孩子 房子 窗户 桌子 椅子 衣服 颜色 红色 ' +
  '蓝色 春天 夏天 秋天 冬天 下雨 下雪 山区 河流 海洋 森林 动物 植物 花园 公园 环境 能源 电力 工厂 农业 农民 粮食 政府 ' +
  '法律 法院 律师 合同 会议 计划 项目 研究 实验 数据 结果 报告 方法 理论 语言 文字 数学 物理 化学 生物 地理 艺术 体育'
).split(' ');

export interface PlantedPair {
  a: string;
  b: string;
  jaccard: number;
}

export function shingleSet(text: string, opts: ShingleOptions): Set<number> {
  const sb = new ShingleBuilder(opts);
  const n = sb.build(text);
  return new Set(sb.shingles.subarray(0, n));
}

export function jaccard(x: Set<number>, y: Set<number>): number {
  let inter = 0;
  for (const v of x) if (y.has(v)) inter++;
  return inter / (x.size + y.size - inter || 1);
}

/** `pairs` base/variant pairs with between 0 and maxEdits replaced words; texts of `length` words. */
export function plantedPairs(lang: 'en' | 'zh', pairs: number, seed: number, opts: ShingleOptions, length = 160, maxEdits = 20): PlantedPair[] {
  const r = rng(seed);
  const vocab = lang === 'en' ? EN_WORDS : ZH_WORDS;
  const word = () => vocab[Math.floor(r() * vocab.length)];
  const join = (ws: string[]) => ws.join(lang === 'en' ? ' ' : '');
  const out: PlantedPair[] = [];
  for (let p = 0; p < pairs; p++) {
    const base = Array.from({ length }, word);
    const variant = [...base];
    const edits = Math.floor(r() ** 1.5 * (maxEdits + 1));
    for (let e = 0; e < edits; e++) variant[Math.floor(r() * length)] = word();
    const [a, b] = [join(base), join(variant)];
    out.push({ a, b, jaccard: jaccard(shingleSet(a, opts), shingleSet(b, opts)) });
  }
  return out;
}
