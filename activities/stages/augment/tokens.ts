/**
 * Text ↔ words for word-level augmentation. A text is `lead + words[0] + seps[0] + words[1] + seps[1] …`: every
 * character that is not part of a word (spaces, punctuation, newlines) stays in a separator, so joining the
 * pieces gives the text back byte for byte, and an operation only ever touches whole words. English (and every
 * space-separated language): runs of letters/digits (with inner apostrophes). Chinese: jieba's segmentation,
 * rejoined without spaces.
 */
import type { Jieba } from '@node-rs/jieba';
import { isChinese } from '../../chinese';

export type Lang = 'en' | 'zh';

export interface Words {
  lang: Lang;
  lead: string;
  words: string[];
  /** seps[i] follows words[i]. */
  seps: string[];
}

const EN_WORD = /[\p{L}\p{N}\p{M}]+(?:['’][\p{L}\p{N}\p{M}]+)*/gu;
const HAS_WORD_CHAR = /[\p{L}\p{N}]/u;

export function splitWords(text: string, lang: Lang, jieba: Jieba): Words {
  const out: Words = { lang, lead: '', words: [], seps: [] };
  const gap = (s: string) => {
    if (!s) return;
    if (out.words.length) out.seps[out.seps.length - 1] += s;
    else out.lead += s;
  };
  const word = (w: string) => {
    out.words.push(w);
    out.seps.push('');
  };
  if (lang === 'zh') {
    for (const piece of jieba.cut(text, true)) (HAS_WORD_CHAR.test(piece) ? word : gap)(piece);
    return out;
  }
  let at = 0;
  for (const m of text.matchAll(EN_WORD)) {
    gap(text.slice(at, m.index));
    word(m[0]);
    at = m.index + m[0].length;
  }
  gap(text.slice(at));
  return out;
}

export function joinWords(w: Words): string {
  let s = w.lead;
  for (let i = 0; i < w.words.length; i++) s += w.words[i] + w.seps[i];
  return s;
}

/** The form words are counted and looked up by (IDF, synonyms, lexicon). */
export function wordKey(word: string): string {
  return word.normalize('NFKC').toLowerCase();
}

/** What separates an inserted word from its neighbour. */
export function insertSep(lang: Lang): string {
  return lang === 'zh' ? '' : ' ';
}

/**
 * The language a document is augmented as: the stage's `language` unless auto; else the document's own
 * `lang`/`language` metadata (extract and filter set it); else by script.
 */
export function documentLang(text: string, metadata: Record<string, unknown>, param: 'auto' | Lang): Lang {
  if (param !== 'auto') return param;
  const tag = metadata.lang ?? metadata.language;
  if (typeof tag === 'string' && tag) return /^zh\b/i.test(tag) ? 'zh' : 'en';
  return isChinese(text) ? 'zh' : 'en';
}

/** A replacement keeps the replaced word's capitalisation (Title or UPPER), so sentences still read as such. */
export function matchCase(original: string, replacement: string): string {
  if (original.length > 1 && original === original.toUpperCase() && original !== original.toLowerCase()) return replacement.toUpperCase();
  const first = original[0];
  if (first && first !== first.toLowerCase() && first === first.toUpperCase()) return replacement[0].toUpperCase() + replacement.slice(1);
  return replacement;
}
