/**
 * Gopher quality rules (Rae et al. 2021, as datatrove's GopherQualityFilter implements them): word count,
 * mean word length, "#" and ellipsis per word, bullet and ellipsis lines, words with a letter, stop words.
 * In CJK documents a word is one character, so the mean-word-length rule is skipped and the Chinese
 * stop-word list is used.
 */
import type { StageParams } from '../../../schemas/stages';
import { BaseFilter, type Verdict } from './base';
import type { FilterDoc } from './doc';
import { hasAlpha } from '../../words';

type Options = StageParams<'filter'>['gopherQuality'];

const BULLETS = ['•', '-'];

export class GopherQualityFilter extends BaseFilter {
  readonly name = 'gopher_quality';
  private readonly stopWords: Set<string>;
  private readonly stopWordsZh: Set<string>;

  constructor(private readonly o: Options) {
    super();
    this.stopWords = new Set(o.stopWords.map((w) => w.toLowerCase()));
    this.stopWordsZh = new Set(o.stopWordsZh);
  }

  keep(doc: FilterDoc): Verdict {
    const { o } = this;
    const words = doc.words;
    const n = words.length;
    if (n < o.minWords) return 'gopher_short_doc';
    if (n > o.maxWords) return 'gopher_long_doc';

    if (!doc.cjk) {
      let chars = 0;
      for (const w of words) chars += w.length;
      const mean = chars / n;
      if (mean < o.minMeanWordLength) return 'gopher_below_avg_threshold';
      if (mean > o.maxMeanWordLength) return 'gopher_above_avg_threshold';
    }

    const text = doc.text;
    if (count(text, '#') / n > o.maxSymbolWordRatio) return 'gopher_too_many_hashes';
    if ((count(text, '...') + count(text, '…')) / n > o.maxSymbolWordRatio) return 'gopher_too_many_ellipsis';

    const lines = doc.nonEmptyLines;
    const bullets = lines.filter((l) => BULLETS.some((b) => l.trimStart().startsWith(b))).length;
    if (bullets / lines.length > o.maxBulletLinesRatio) return 'gopher_too_many_bullets';
    const ellipsis = lines.filter((l) => /(\.\.\.|…)\s*$/.test(l)).length;
    if (ellipsis / lines.length > o.maxEllipsisLinesRatio) return 'gopher_too_many_end_ellipsis';

    // Words as above (punctuation-only tokens excluded): ≥ 80 % must contain a letter (digits-only fail).
    if (words.filter(hasAlpha).length / n < o.minAlphaWordsRatio) return 'gopher_below_alpha_threshold';

    // Occurrences, not distinct words, as datatrove counts them.
    const stop = doc.cjk ? this.stopWordsZh : this.stopWords;
    let hits = 0;
    for (const w of words) if (stop.has(w.toLowerCase()) && ++hits >= o.minStopWords) return true;
    return hits >= o.minStopWords ? true : 'gopher_enough_stop_words';
  }
}

function count(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}
