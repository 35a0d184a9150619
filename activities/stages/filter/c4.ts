/**
 * C4 rules (Raffel et al. 2020, as datatrove's C4QualityFilter applies them), line by line: lines without
 * terminal punctuation, with fewer than 3 words, mentioning javascript or a terms/privacy/cookie policy are
 * removed (counted in stats); a document with "lorem ipsum" or a curly bracket in a line that got that far is
 * dropped, and so is one left with fewer than 5 sentences. Kept documents get the cleaned text, paragraph
 * breaks kept. CJK lines count words per character and accept 。！？ as terminal punctuation.
 */
import type { StageParams } from '../../../schemas/stages';
import { BaseFilter, type Verdict } from './base';
import type { FilterDoc } from './doc';
import { countSentences, endsWithTerminal, tokenize, wordsOf } from '../../words';

type Options = StageParams<'filter'>['c4'];

const CITATION = /\[\d*\]|\[edit\]|\[citation needed\]/gi;
const POLICY = ['terms of use', 'privacy policy', 'cookie policy', 'uses cookies', 'use of cookies', 'use cookies'];

export class C4Filter extends BaseFilter {
  readonly name = 'c4';

  constructor(private readonly o: Options) {
    super();
  }

  keep(doc: FilterDoc): Verdict {
    const { o } = this;
    const kept: string[] = [];
    let sentences = 0;
    let paragraphBreak = false;
    for (const raw of doc.lines) {
      let line = raw.trim();
      if (!line) {
        paragraphBreak = kept.length > 0;
        continue;
      }
      this.stat('lines');
      if (o.maxWordLength > 0 && line.split(/\s+/).some((w) => w.length > o.maxWordLength)) {
        this.stat('line_too_long_word');
        continue;
      }
      if (o.removeCitations) line = line.replace(CITATION, '').trim();
      if (o.terminalPunct && (!endsWithTerminal(line) || line.endsWith('...'))) {
        this.stat('line_no_terminal_punct');
        continue;
      }
      if (wordsOf(tokenize(line)).length < o.minWordsPerLine) {
        this.stat('line_too_few_words');
        continue;
      }
      const lower = line.toLowerCase();
      if (o.loremIpsum && lower.includes('lorem ipsum')) return 'lorem_ipsum';
      if (o.javascript && lower.includes('javascript')) {
        this.stat('line_javascript');
        continue;
      }
      if (o.curlyBracket && line.includes('{')) return 'curly_bracket';
      if (o.policy && POLICY.some((p) => lower.includes(p))) {
        this.stat('line_policy');
        continue;
      }
      sentences += countSentences(line);
      // Paragraph breaks survive: a blank line before a kept line stays one blank line.
      kept.push(paragraphBreak ? `\n${line}` : line);
      paragraphBreak = false;
    }
    if (sentences < o.minSentences) return 'too_few_sentences';
    const text = kept.join('\n');
    if (text !== doc.text) {
      this.stat('documents_modified');
      doc.text = text;
    }
    return true;
  }
}
