/**
 * Gopher repetition rules (Rae et al. 2021, table A1, as in datatrove's GopherRepetitionFilter): duplicated
 * paragraphs and lines (by count and by characters), the character share of the most frequent 2-, 3- and
 * 4-gram, and of all duplicated 5..10-grams. Fractions of characters are over the whole text. In CJK text
 * an n-gram is n characters.
 */
import type { StageParams } from '../../../schemas/stages';
import { BaseFilter, type Verdict } from './base';
import type { FilterDoc } from './doc';

type Options = StageParams<'filter'>['gopherRepetition'];

export class GopherRepetitionFilter extends BaseFilter {
  readonly name = 'gopher_repetition';

  constructor(private readonly o: Options) {
    super();
  }

  keep(doc: FilterDoc): Verdict {
    const { o } = this;
    const len = doc.text.length;
    if (len === 0) return 'empty';
    const paras = doc.paragraphs;
    const p = findDuplicates(paras);
    if (p.elements / paras.length > o.dupParaFrac) return 'dup_para_frac';
    if (p.chars / len > o.dupParaCharFrac) return 'dup_para_char_frac';

    const lines = doc.text.split(/\n+/);
    const l = findDuplicates(lines);
    if (l.elements / lines.length > o.dupLineFrac) return 'dup_line_frac';
    if (l.chars / len > o.dupLineCharFrac) return 'dup_line_char_frac';

    const words = doc.words;
    const sep = doc.cjk ? '' : ' ';
    for (const [n, frac] of o.topNGrams) {
      if (words.length < n) continue;
      if (topNGramChars(words, n, sep) / len > frac) return `top_${n}_gram`;
    }
    for (const [n, frac] of o.dupNGrams) {
      if (words.length < n) continue;
      if (duplicatedNGramChars(words, n) / len > frac) return `duplicated_${n}_n_grams`;
    }
    return true;
  }
}

/** Repeated elements after their first occurrence: how many, and their characters. */
export function findDuplicates(items: readonly string[]): { elements: number; chars: number } {
  const seen = new Set<string>();
  let elements = 0;
  let chars = 0;
  for (const x of items) {
    if (seen.has(x)) {
      elements++;
      chars += x.length;
    } else seen.add(x);
  }
  return { elements, chars };
}

/**
 * Characters covered by the most frequent n-gram: its length (words joined by `sep`) times its count. Only a
 * repeated n-gram counts (datatrove also counts a single one, which drops any short text as `top_n_gram`).
 */
function topNGramChars(words: readonly string[], n: number, sep: string): number {
  const counts = new Map<string, number>();
  let best = 0;
  for (let i = 0; i + n <= words.length; i++) {
    const g = words.slice(i, i + n).join(sep);
    const c = (counts.get(g) ?? 0) + 1;
    counts.set(g, c);
    if (c > 1) best = Math.max(best, g.length * c);
  }
  return best;
}

/** Characters of n-grams seen before, skipping past each repeat so overlapping repeats are not counted twice. */
function duplicatedNGramChars(words: readonly string[], n: number): number {
  const seen = new Set<string>();
  let chars = 0;
  let i = 0;
  while (i + n <= words.length) {
    const g = words.slice(i, i + n).join('\u0001');
    if (seen.has(g)) {
      chars += g.length - (n - 1);
      i += n;
    } else {
      seen.add(g);
      i++;
    }
  }
  return chars;
}
