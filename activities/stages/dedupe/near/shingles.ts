/**
 * Documents → shingle hashes. Space-separated languages: word n-grams over the lowercased NFKC text with
 * punctuation as a separator (datatrove's simplification). Chinese: n-grams of jieba-segmented words, or of
 * characters. Tokens are hashed while scanning, so English shingling allocates no substrings.
 */
import { defaultJieba, isChinese } from '../../../chinese';
import { fmix32 } from './minhash';

export interface ShingleOptions {
  ngram: number;
  language: 'auto' | 'en' | 'zh';
  zhTokens: 'words' | 'chars';
}

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

function hashString(s: string, from = 0, to = s.length): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

/** Token hashes of one document, appended into a reusable buffer; returns the token count. */
export class ShingleBuilder {
  private tokens = new Uint32Array(4096);
  shingles = new Uint32Array(4096);

  constructor(private readonly opts: ShingleOptions) {}

  /** Fills `this.shingles` and returns how many there are (0 for a document without tokens). */
  build(text: string): number {
    const t = text.normalize('NFKC').toLowerCase();
    const zh = this.opts.language === 'zh' || (this.opts.language === 'auto' && isChinese(t));
    const m = zh ? this.chineseTokens(t) : this.wordTokens(t);
    return this.combine(m);
  }

  private push(i: number, h: number): number {
    if (i === this.tokens.length) {
      const grown = new Uint32Array(i * 2);
      grown.set(this.tokens);
      this.tokens = grown;
    }
    this.tokens[i] = h;
    return i + 1;
  }

  private wordTokens(t: string): number {
    let m = 0;
    let start = -1;
    for (let i = 0; i <= t.length; i++) {
      const c = i < t.length ? t.charCodeAt(i) : 32;
      // ASCII letters and digits inline; anything else non-ASCII asks the Unicode classes.
      const word = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 128 && WORD_CHAR.test(t[i]));
      if (word && start < 0) start = i;
      else if (!word && start >= 0) {
        m = this.push(m, hashString(t, start, i));
        start = -1;
      }
    }
    return m;
  }

  private chineseTokens(t: string): number {
    let m = 0;
    const pieces = this.opts.zhTokens === 'chars' ? Array.from(t) : defaultJieba().cut(t, false);
    for (const p of pieces) if (WORD_CHAR.test(p)) m = this.push(m, hashString(p));
    return m;
  }

  /** n-grams of the token hashes; a document shorter than n is one shingle of all its tokens. */
  private combine(m: number): number {
    const n = Math.min(this.opts.ngram, m);
    const count = m === 0 ? 0 : m - n + 1;
    if (count > this.shingles.length) this.shingles = new Uint32Array(Math.max(count, this.shingles.length * 2));
    const tok = this.tokens;
    for (let i = 0; i < count; i++) {
      let h = 0x3c6ef372;
      for (let k = i; k < i + n; k++) {
        h = Math.imul(h ^ tok[k], 0xcc9e2d51);
        h = (h << 15) | (h >>> 17);
      }
      this.shingles[i] = fmix32(h ^ n);
    }
    return count;
  }
}
