/**
 * The newwords stage as it was before it became a fan-out (one activity, commit b753078), kept as the oracle
 * the fan-out is checked against: the same counting, scores, filters and lexicon bytes, on texts in memory.
 * Its character budget (`sampleChars`, a prefix of the input) is left out: the oracle is only ever given
 * corpora smaller than that budget, where the old stage read everything.
 */
import { newToJieba } from '../../activities/stages/newwords/segment';
import { sequences, type Lang } from '../../activities/stages/newwords/text';
import { loadBaseVocab, loadDictionary } from '../../activities/stages/newwords/vocab';
import type { StageParams } from '../../schemas/stages';

type Params = StageParams<'newwords'>;

const MAX_ENTRIES = 6_000_000;

/** The old n-gram table (lossy pruning above 6M entries, which these corpora never reach). */
class NgramCounter {
  readonly counts = new Map<string, number>();
  total = 0;
  private floor = 1;

  constructor(
    readonly lang: Lang,
    readonly maxN: number,
  ) {}

  add(units: string[]): void {
    this.total += units.length;
    for (let i = 0; i < units.length; i++) {
      for (let n = 1; n <= this.maxN && i + n <= units.length; n++) {
        const key = this.key(units.slice(i, i + n));
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      }
    }
    if (this.counts.size > MAX_ENTRIES) this.prune();
  }

  key(units: string[]): string {
    return `${units.length}\u0001${units.join(this.lang === 'en' ? ' ' : '')}`;
  }

  get(units: string[]): number {
    return this.counts.get(this.key(units)) ?? 0;
  }

  private prune(): void {
    this.floor++;
    for (const [k, c] of this.counts) if (c < this.floor) this.counts.delete(k);
  }
}

function parseKey(key: string): { n: number; text: string } {
  const at = key.indexOf('\u0001');
  return { n: Number(key.slice(0, at)), text: key.slice(at + 1) };
}

interface Candidate {
  word: string;
  lang: Lang;
  units: string[];
  freq: number;
  pmi: number | null;
  leftEntropy: number;
  rightEntropy: number;
}

interface Entry {
  word: string;
  lang: Lang;
  freq: number;
  pmi: number | null;
  entropy: number;
  leftEntropy: number;
  rightEntropy: number;
  ratio?: number;
  generalFreq?: number;
  pieces?: number;
  score: number;
}

interface StatOptions {
  minN: number;
  maxN: number;
  minFreq: number;
  minPmi: number;
  minEntropy: number;
}

function candidates(counter: NgramCounter, o: StatOptions, dropped: Record<string, number>): Candidate[] {
  const split = (text: string) => (counter.lang === 'en' ? text.split(' ') : Array.from(text));
  const found = new Map<string, Candidate & { lSum: number; rSum: number }>();
  for (const [key, freq] of counter.counts) {
    const { n, text } = parseKey(key);
    if (n < o.minN || n > o.maxN || freq < o.minFreq) continue;
    const units = split(text);
    let pmi: number | null = null;
    for (let k = 1; k < n; k++) {
      const v = Math.log((freq * counter.total) / (counter.get(units.slice(0, k)) * counter.get(units.slice(k))));
      pmi = pmi === null ? v : Math.min(pmi, v);
    }
    if (pmi !== null && pmi < o.minPmi) {
      dropped.cohesion++;
      continue;
    }
    found.set(key, { word: text, lang: counter.lang, units, freq, pmi, leftEntropy: 0, rightEntropy: 0, lSum: 0, rSum: 0 });
  }
  for (const [key, k] of counter.counts) {
    const { n, text } = parseKey(key);
    if (n < o.minN + 1 || n > o.maxN + 1) continue;
    const units = split(text);
    const right = found.get(counter.key(units.slice(0, -1)));
    if (right) right.rSum += k * Math.log(k);
    const left = found.get(counter.key(units.slice(1)));
    if (left) left.lSum += k * Math.log(k);
  }
  const out: Candidate[] = [];
  for (const { lSum, rSum, ...c } of found.values()) {
    c.leftEntropy = Math.max(0, Math.log(c.freq) - lSum / c.freq);
    c.rightEntropy = Math.max(0, Math.log(c.freq) - rSum / c.freq);
    if (Math.min(c.leftEntropy, c.rightEntropy) < o.minEntropy) dropped.freedom++;
    else out.push(c);
  }
  return out;
}

function overRepresentation(p: Params, general: string[], found: Candidate[], domain: Record<Lang, NgramCounter>) {
  const wanted = new Map(found.map((c) => [`${c.lang}\u0001${c.word}`, c]));
  const counts = new Map<Candidate, number>();
  const units = { zh: 0, en: 0 };
  const maxN = { zh: p.maxChars, en: p.maxWords };
  for (const text of general) {
    for (const { lang, units: seq } of sequences(text, p.language)) {
      units[lang] += seq.length;
      for (let i = 0; i < seq.length; i++) {
        for (let n = 1; n <= maxN[lang] && i + n <= seq.length; n++) {
          const c = wanted.get(`${lang}\u0001${seq.slice(i, i + n).join(lang === 'en' ? ' ' : '')}`);
          if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
        }
      }
    }
  }
  return new Map(found.map((c) => [c, { ratio: c.freq / domain[c.lang].total / (((counts.get(c) ?? 0) + 1) / Math.max(1, units[c.lang])), general: counts.get(c) ?? 0 }]));
}

function round(e: Entry): Entry {
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { ...e, pmi: e.pmi === null ? null : r(e.pmi), entropy: r(e.entropy), leftEntropy: r(e.leftEntropy), rightEntropy: r(e.rightEntropy), score: r(e.score), ...(e.ratio === undefined ? {} : { ratio: r(e.ratio) }) };
}

/** The old stage's lexicon file (as text) and metrics, for domain texts and optional general texts, in input order. */
export function referenceNewwords(domainTexts: string[], generalTexts: string[] | undefined, p: Params): { lexicon: string; metrics: Record<string, unknown> } {
  const base = p.baseVocab ? loadBaseVocab(p.baseVocab) : undefined;
  const dictionary = p.dictionary ? loadDictionary(p.dictionary) : undefined;
  const counters = { zh: new NgramCounter('zh', p.maxChars + 1), en: new NgramCounter('en', p.maxWords + 1) };
  for (const text of domainTexts) for (const s of sequences(text, p.language)) counters[s.lang].add(s.units);
  const dropped: Record<string, number> = { cohesion: 0, freedom: 0, baseVocab: 0, dictionary: 0, ratio: 0 };
  const common = { minFreq: p.minFreq, minPmi: p.minPmi, minEntropy: p.minEntropy };
  let found = [
    ...candidates(counters.zh, { ...common, minN: 2, maxN: p.maxChars }, dropped),
    ...candidates(counters.en, { ...common, minN: base ? 1 : 2, maxN: p.maxWords }, dropped),
  ];
  const pieces = new Map<Candidate, number>();
  found = found.filter((c) => {
    const n = base?.pieces(c.word);
    const known = n !== undefined && n <= 1 ? 'baseVocab' : dictionary?.has(c.word) ? 'dictionary' : undefined;
    if (known) dropped[known]++;
    else if (n !== undefined) pieces.set(c, n);
    return !known;
  });
  const ratios = generalTexts ? overRepresentation(p, generalTexts, found, counters) : undefined;
  const entries: Entry[] = [];
  for (const c of found) {
    const ratio = ratios?.get(c)?.ratio;
    if (ratio !== undefined && ratio < p.minRatio) {
      dropped.ratio++;
      continue;
    }
    const entropy = Math.min(c.leftEntropy, c.rightEntropy);
    const score = Math.log1p(c.freq) * entropy * (c.pmi ?? 1) * (ratio === undefined ? 1 : Math.log(ratio));
    entries.push({ word: c.word, lang: c.lang, freq: c.freq, pmi: c.pmi, entropy, leftEntropy: c.leftEntropy, rightEntropy: c.rightEntropy, ratio, generalFreq: ratios?.get(c)?.general, pieces: pieces.get(c), score });
  }
  entries.sort((a, b) => b.score - a.score || (a.word < b.word ? -1 : 1));
  const lexicon = entries.slice(0, p.topK);
  const zhWords = lexicon.filter((e) => e.lang === 'zh').map((e) => e.word);
  return {
    lexicon: lexicon.map((e) => JSON.stringify(round(e))).join('\n') + (lexicon.length ? '\n' : ''),
    metrics: { documents: domainTexts.length, units: { zh: counters.zh.total, en: counters.en.total }, candidates: found.length, dropped, words: lexicon.length, newToJieba: zhWords.length ? newToJieba(zhWords) : 0, top: lexicon.slice(0, 10).map((e) => e.word) },
  };
}
