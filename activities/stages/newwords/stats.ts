/**
 * Candidate statistics from the n-gram table: frequency, cohesion and freedom.
 * - cohesion: the least PMI over the ways to split the candidate in two, log(p(w) / (p(a)·p(b))), with
 *   p(x) = count(x) / units; a real word's halves rarely occur apart.
 * - freedom: the entropy of its left and right neighbours, from the (n+1)-gram counts: H = ln f − Σ k ln k / f,
 *   where occurrences at a run boundary count as distinct neighbours. A fragment of a longer word has one
 *   neighbour (entropy near 0).
 */
import { parseKey, type NgramCounter } from './counter';
import type { Lang } from './text';

export interface Candidate {
  word: string;
  lang: Lang;
  units: string[];
  freq: number;
  /** null for single units (English single words), which have no split. */
  pmi: number | null;
  leftEntropy: number;
  rightEntropy: number;
}

export interface StatOptions {
  /** Shortest and longest candidate, in units. */
  minN: number;
  maxN: number;
  minFreq: number;
  minPmi: number;
  minEntropy: number;
}

export function candidates(counter: NgramCounter, o: StatOptions, dropped: Record<string, number>): Candidate[] {
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
