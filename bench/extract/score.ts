/**
 * Word-level precision, recall and F1 of an extracted text against the gold main text, as bags of words
 * (the measure of the trafilatura and ScrapingHub article-extraction benchmarks). Words are the filters'
 * tokens, lowercased: Latin words, and single characters for Chinese.
 */
import { tokenize, wordsOf } from '../../activities/stages/filter/tokens';

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
