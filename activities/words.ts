/**
 * Words for the quality rules and for selection features. Latin-script (and any space-separated) text splits
 * into runs of letters, marks and digits (with inner apostrophes: "don't"), each punctuation or symbol char
 * being a token of its own, as nltk's tokenizer does for datatrove. Han, Hiragana and Katakana are not
 * space-separated, so each such character is one word: the rules count Chinese per character, the
 * documented fallback where a segmenter is not worth its cost for a threshold check.
 */

const CJK = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}';
const TOKEN = new RegExp(`[${CJK}]|[\\p{L}\\p{M}\\p{N}]+(?:['’][\\p{L}\\p{M}]+)*|[^\\s\\p{L}\\p{M}\\p{N}]`, 'gu');
const CJK_CHAR = new RegExp(`^[${CJK}]$`, 'u');
const WORDLIKE = /[\p{L}\p{N}]/u;
const ALPHA = /\p{L}/u;

/** All tokens, punctuation included. */
export function tokenize(text: string): string[] {
  return text.match(TOKEN) ?? [];
}

/** Tokens with at least one letter or digit. */
export function wordsOf(tokens: readonly string[]): string[] {
  return tokens.filter((t) => WORDLIKE.test(t));
}

export function isCjkChar(token: string): boolean {
  return CJK_CHAR.test(token);
}

export function hasAlpha(token: string): boolean {
  return ALPHA.test(token);
}

/** Lines end in one of these to count as a sentence end (Latin and CJK, closing quotes included). */
export const TERMINAL_PUNCTUATION = ['.', '!', '?', '"', "'", '”', '’', '。', '！', '？', '」', '』', '…', '．'];

export function endsWithTerminal(line: string): boolean {
  return TERMINAL_PUNCTUATION.some((p) => line.endsWith(p));
}

/** Sentences in a line: runs ending in terminal punctuation, plus a trailing run without it. */
export function countSentences(line: string): number {
  const parts = line.split(/(?<=[.!?。！？])\s*/u).filter((s) => s.trim());
  return parts.length;
}
