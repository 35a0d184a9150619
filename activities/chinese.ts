/**
 * Chinese text helpers shared by the kinds that segment or detect it (near dedupe's shingles, newwords, augment):
 * one jieba per process, jieba with a mined lexicon, and the is-it-Chinese test.
 */
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';

let jieba: Jieba | undefined;
/** One segmenter per process: loading the dictionary takes a few hundred milliseconds. */
export function defaultJieba(): Jieba {
  jieba ??= Jieba.withDict(dict);
  return jieba;
}

/** A segmenter that keeps every lexicon word whole (each gets a high frequency in the user dictionary). */
export function jiebaWithLexicon(words: string[]): Jieba {
  const j = Jieba.withDict(dict);
  j.loadDict(Buffer.from(words.map((w) => `${w.replace(/\s+/g, '')} 100000 n`).join('\n')));
  return j;
}

/**
 * Mostly Chinese: at least 30% of the first 2,000 non-space code units are Han (the CJK blocks by code range,
 * which is all that matters for the decision and far cheaper per document than a Unicode-property regex).
 */
export function isChinese(text: string): boolean {
  let han = 0;
  let seen = 0;
  for (let i = 0; i < text.length && i < 2000; i++) {
    const c = text.charCodeAt(i);
    if (c <= 32) continue;
    seen++;
    if ((c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) || (c >= 0xf900 && c <= 0xfaff)) han++;
  }
  return seen > 0 && han / seen >= 0.3;
}
