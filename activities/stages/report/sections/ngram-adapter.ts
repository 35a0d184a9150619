/** The report's line for a pretrain stage that trained an n-gram adapter (T-DNA): how many n-grams, what it trained. */
import { fmtNum, isNum } from '../html';

/** Empty unless the stage's metrics hold the trainer's adapter.* numbers (only an ngram adapter reports them). */
export function ngramAdapterLine(x: Record<string, unknown>): string {
  if (!isNum(x['adapter.ngrams'])) return '';
  const dropped = [
    [x['adapter.singlePiece'], 'one token already'],
    [x['adapter.unknownPiece'], 'with a piece the tokenizer cannot spell'],
    [x['adapter.duplicate'], 'spelled like another'],
    [x['adapter.belowMinFreq'], 'below minFreq in the training data'],
    [x['adapter.overMaxNgrams'], 'beyond maxNgrams'],
  ].filter(([n]) => isNum(n) && n > 0);
  const layers = x['adapter.layers'];
  return (
    `<p>N-gram adapter (T-DNA): ${fmtNum(x['adapter.ngrams'])} n-grams of the lexicon's ${fmtNum(x['adapter.lexiconWords'])} words` +
    (dropped.length ? ` (left out: ${dropped.map(([n, why]) => `${fmtNum(n)} ${why}`).join(', ')})` : '') +
    ` added to the outputs of the lower ${fmtNum(layers)} layer${layers === 1 ? '' : 's'}; ${fmtNum(x['adapter.trainableParameters'])} trainable parameters, the base model frozen. ` +
    'The model directory holds the adapter beside the model (ngram_adapter.json, ngram_adapter.safetensors); the later stages load it with the model.</p>'
  );
}
