/**
 * Word-level precision, recall and F1 of an extracted text against the gold main text, as bags of words
 * (the measure of the trafilatura and ScrapingHub article-extraction benchmarks). Words are the filters'
 * tokens, lowercased: Latin words, and single characters for Chinese.
 */
import { tokenize, wordsOf } from '../../activities/words';

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
}

function bag(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of wordsOf(tokenize(text.toLowerCase()))) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

const size = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

export function prf(extracted: string, gold: string): Prf & { tp: number; nExtracted: number; nGold: number } {
  const [e, g] = [bag(extracted), bag(gold)];
  let tp = 0;
  for (const [w, n] of e) tp += Math.min(n, g.get(w) ?? 0);
  const [nExtracted, nGold] = [size(e), size(g)];
  return { ...fromCounts(tp, nExtracted, nGold), tp, nExtracted, nGold };
}

/** Micro-averaged scores from summed counts. */
export function fromCounts(tp: number, nExtracted: number, nGold: number): Prf {
  const precision = nExtracted ? tp / nExtracted : 0;
  const recall = nGold ? tp / nGold : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

/**
 * The real-page measure of the public article-extraction benchmarks (ScrapingHub's, the one the Dragnet
 * README names): tokens are `\w+` runs (Unicode letters, digits, underscore, case kept), both texts become
 * counted word 4-gram shingles (a text of fewer than 4 tokens is one shorter shingle), and one page's TP/FP/FN
 * are normalized to sum to 1 so that long pages do not weigh more. Sum these over pages, then `fromShingles`.
 */
export function shingleMatch(extracted: string, gold: string, n = 4): { tp: number; fp: number; fn: number } {
  const [e, g] = [shingles(extracted, n), shingles(gold, n)];
  let [tp, fp, fn] = [0, 0, 0];
  for (const [k, c] of e) {
    const t = g.get(k) ?? 0;
    tp += Math.min(c, t);
    fp += Math.max(0, c - t);
  }
  for (const [k, c] of g) fn += Math.max(0, c - (e.get(k) ?? 0));
  const s = tp + fp + fn;
  return s > 0 ? { tp: tp / s, fp: fp / s, fn: fn / s } : { tp, fp, fn };
}

/** Precision, recall and F1 from TP/FP/FN summed over pages. */
export function fromShingles(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 };
}

// Python's `\w` on str: letters, numbers, underscore.
const WORD = /[\p{L}\p{N}_]+/gu;

function shingles(text: string, n: number): Map<string, number> {
  const tokens = text.match(WORD) ?? [];
  const m = new Map<string, number>();
  for (let i = 0; i < Math.max(1, tokens.length - n + 1); i++) {
    const k = tokens.slice(i, i + n).join(' ');
    if (k) m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}
