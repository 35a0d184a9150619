/**
 * Text → the sequences candidates are mined from. Chinese: runs of Han characters (any other character ends a
 * run, so punctuation and Latin words are boundaries). English: runs of lowercase words inside one clause
 * (punctuation ends a run), so "end. Start" is never a candidate.
 */

export type Lang = 'zh' | 'en';

const HAN_RUN = /\p{Script=Han}+/gu;
const CLAUSE = /[^.,;:!?()[\]{}"“”'‘’。，；：！？、（）《》\n]+/gu;
const WORD = /\p{L}[\p{L}\p{N}\p{M}'-]*|\p{N}+/gu;
const LATIN = /^[\p{Script=Latin}\p{N}'-]+$/u;

/** Sequences of units (characters for zh, words for en) of one document. */
export function* sequences(text: string, lang: 'auto' | Lang): Generator<{ lang: Lang; units: string[] }> {
  const t = text.normalize('NFKC');
  if (lang !== 'en') {
    for (const m of t.matchAll(HAN_RUN)) if (m[0].length > 1) yield { lang: 'zh', units: Array.from(m[0]) };
  }
  if (lang !== 'zh') {
    for (const clause of t.toLowerCase().matchAll(CLAUSE)) {
      const words = (clause[0].match(WORD) ?? []).filter((w) => LATIN.test(w));
      if (words.length) yield { lang: 'en', units: words };
    }
  }
}

/** How a candidate's units are written as one string. */
export function joinUnits(lang: Lang, units: string[]): string {
  return units.join(lang === 'en' ? ' ' : '');
}
