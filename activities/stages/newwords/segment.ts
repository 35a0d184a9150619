/**
 * jieba with a mined lexicon as user dictionary, for the consumers that segment Chinese (whole-word masking);
 * and the check the stage reports: how many mined words jieba's own dictionary would cut apart.
 */
import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict';
import { defaultJieba } from '../dedupe/near/shingles';

/** A segmenter that keeps every lexicon word whole (each gets a high frequency in the user dictionary). */
export function jiebaWithLexicon(words: string[]): Jieba {
  const jieba = Jieba.withDict(dict);
  jieba.loadDict(Buffer.from(words.map((w) => `${w.replace(/\s+/g, '')} 100000 n`).join('\n')));
  return jieba;
}

/** Chinese words that jieba, with its built-in dictionary only, splits into several pieces. */
export function newToJieba(words: string[]): number {
  const jieba = defaultJieba();
  return words.filter((w) => jieba.cut(w, false).length > 1).length;
}
