/**
 * Language rule (datatrove's LanguageFilter): keep documents whose identified language is one of `languages`
 * with a score of at least `minScore`. The guess is written to `metadata.language` / `languageScore` of every
 * document it sees, kept or not, so dropped documents written aside say what they were.
 */
import type { StageParams } from '../../../schemas/stages';
import { BaseFilter, type Verdict } from './base';
import type { FilterDoc } from './doc';
import { loadLanguageIdentifier, type LanguageIdentifier } from '../../langid';

type Options = StageParams<'filter'>['language'];

export class LanguageFilter extends BaseFilter {
  readonly name = 'language';
  private lid: LanguageIdentifier | undefined;
  private readonly accepted: Set<string>;

  constructor(private readonly opts: Options) {
    super();
    this.accepted = new Set(opts.languages.map((l) => l.toLowerCase()));
  }

  override async init(): Promise<void> {
    this.lid = await loadLanguageIdentifier();
  }

  keep(doc: FilterDoc): Verdict {
    if (!this.lid) throw new Error('LanguageFilter used before init()');
    const { language, score } = this.lid.identify(doc.text);
    doc.metadata.language = language;
    doc.metadata.languageScore = Math.round(score * 1e4) / 1e4;
    this.stat(`lang_${language}`);
    if (!this.accepted.has(language.toLowerCase())) return 'other_language';
    if (score < this.opts.minScore) return 'below_threshold';
    return true;
  }
}
