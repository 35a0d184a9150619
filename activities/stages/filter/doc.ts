/**
 * A document as the filters see it: the record, a mutable text (line filters such as C4 rewrite it) and the
 * derived views several rules need (lines, paragraphs, tokens, words), computed once and dropped whenever the
 * text changes.
 */
import type { DocumentRecordT } from '../../../schemas/manifest';
import { isCjkChar, tokenize, wordsOf } from '../../words';

export class FilterDoc {
  private _text: string;
  /** Made on first use: with every rule off, no view is ever asked for. */
  private cache: Map<string, unknown> | undefined;

  constructor(readonly record: DocumentRecordT) {
    this._text = record.text;
  }

  get text(): string {
    return this._text;
  }

  set text(t: string) {
    this._text = t;
    this.cache?.clear();
  }

  get metadata(): Record<string, unknown> {
    return this.record.metadata;
  }

  /** Lines as split by "\n" (empty ones included). */
  get lines(): string[] {
    return this.memo('lines', () => this._text.split('\n'));
  }

  get nonEmptyLines(): string[] {
    return this.memo('nonEmptyLines', () => this.lines.filter((l) => l.trim() !== ''));
  }

  get paragraphs(): string[] {
    return this.memo('paragraphs', () => this._text.trim().split(/\n{2,}/));
  }

  /** Every token, punctuation included (see tokens.ts). */
  get tokens(): string[] {
    return this.memo('tokens', () => tokenize(this._text));
  }

  /** Tokens with a letter or digit. */
  get words(): string[] {
    return this.memo('words', () => wordsOf(this.tokens));
  }

  /** Mostly Han/Kana: at least half the words are single CJK characters. */
  get cjk(): boolean {
    return this.memo('cjk', () => {
      const w = this.words;
      let n = 0;
      for (const t of w) if (t.length === 1 && isCjkChar(t)) n++;
      return w.length > 0 && n * 2 >= w.length;
    });
  }

  /**
   * The record to write: the current text, the metadata as the filters left it. The record itself while its text
   * is unchanged (the same content as a copy): a record read from a shard is then written as the line it was read
   * from, without serializing it again (activities/documents.ts), which a copy would not be.
   */
  toRecord(): DocumentRecordT {
    return this._text === this.record.text ? this.record : { ...this.record, text: this._text };
  }

  private memo<T>(key: string, f: () => T): T {
    const cache = (this.cache ??= new Map());
    if (!cache.has(key)) cache.set(key, f());
    return cache.get(key) as T;
  }
}
