/**
 * FineWeb's own rules (Penedo et al. 2024, datatrove's FineWebQualityFilter): share of lines ending in
 * terminal punctuation ≥ 0.12, share of short lines (≤ 30 chars) ≤ 0.67, share of characters in duplicated
 * lines ≤ 0.1 (the paper's value; datatrove's code default is 0.01), and newlines per word ≤ 0.3 (list-like
 * pages). Blank lines are ignored; CJK words are characters.
 */
import type { StageParams } from '../../../schemas/stages';
import { BaseFilter, type Verdict } from './base';
import type { FilterDoc } from './doc';
import { findDuplicates } from './gopher-repetition';
import { endsWithTerminal } from '../../words';

type Options = StageParams<'filter'>['fineweb'];

export class FineWebFilter extends BaseFilter {
  readonly name = 'fineweb';

  constructor(private readonly o: Options) {
    super();
  }

  keep(doc: FilterDoc): Verdict {
    const { o } = this;
    const lines = doc.nonEmptyLines;
    if (lines.length === 0) return 'empty';

    const punct = lines.filter((l) => endsWithTerminal(l.trimEnd())).length / lines.length;
    if (punct < o.linePunctRatio && !(punct === 0 && o.linePunctExcludeZero)) return 'line_punct_ratio';

    const short = lines.filter((l) => l.length <= o.shortLineLength).length / lines.length;
    if (short > o.shortLineRatio) return 'short_line_ratio';

    const chars = doc.text.replace(/\n/g, '').length;
    if (chars > 0 && findDuplicates(lines).chars / chars > o.dupLineCharRatio) return 'char_dup_ratio';

    const words = doc.words.length;
    // Line breaks between non-blank lines: our paragraph breaks are blank lines, trafilatura's are single ones.
    const newlines = lines.length - 1;
    if (words === 0 || newlines / words > o.newLineRatio) return 'list_ratio';
    return true;
  }
}
