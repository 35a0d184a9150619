/** The vocabulary added: each newwords lexicon, and what a pretrain stage did with it (new tokens, tokens per document). */
import { stagesOfKind, type ReportData } from '../gather';
import { esc, isNum, kvTable, notInPipeline } from '../html';
import { barChart } from '../svg';
import type { Section } from './types';

function lexiconPart(data: ReportData, name: string): string {
  const m = data.manifests[name];
  if (!m) return `<h3>${esc(name)}</h3><p class="absent">${esc(name)} has not produced its lexicon (${esc(data.view.stages[name].state)}).</p>`;
  const x = m.metrics;
  const rows: [string, unknown][] = [
    ['words', x.words],
    ['candidates', x.candidates],
    ['documents', x.documents],
    ['newToJieba', x.newToJieba],
  ];
  const dropped = typeof x.dropped === 'object' && x.dropped !== null ? Object.entries(x.dropped as Record<string, unknown>).filter(([, v]) => isNum(v)) : [];
  const top = Array.isArray(x.top) ? x.top.map(String) : [];
  return (
    `<h3>${esc(name)} <small>lexicon</small></h3>` +
    kvTable(rows, `vocab.${name}`) +
    (dropped.length ? barChart({ id: `lexicon-drops-${name}`, bars: dropped.map(([k, v]) => ({ label: k, value: v as number, className: 'drop' })), valueLabel: 'candidates dropped, by reason' }) : '') +
    (top.length ? `<p>Top words: <span class="words" data-key="vocab.${esc(name)}.top">${top.map((w) => `<code>${esc(w)}</code>`).join(' ')}</span></p>` : '')
  );
}

function extensionPart(data: ReportData, name: string): string {
  const x = data.manifests[name]?.metrics ?? {};
  const keys = Object.keys(x).filter((k) => k.startsWith('vocab.'));
  if (!keys.length) return '';
  const before = x['vocab.tokensPerDocBefore'];
  const after = x['vocab.tokensPerDocAfter'];
  return (
    `<h3>${esc(name)} <small>vocabulary extension</small></h3>` +
    kvTable(keys.map((k) => [k.slice('vocab.'.length), x[k]]), `vocab.${name}`) +
    (isNum(before) && isNum(after)
      ? barChart({ id: `tokens-per-doc-${name}`, bars: [{ label: 'before', value: before }, { label: 'after', value: after }], valueLabel: 'tokens per document (sample)' })
      : '')
  );
}

export const vocabSection: Section = {
  id: 'vocab',
  title: 'Vocabulary added',
  render(data: ReportData) {
    const lexicons = stagesOfKind(data, 'newwords');
    const extensions = stagesOfKind(data, 'pretrain').map((n) => extensionPart(data, n)).filter(Boolean);
    if (!lexicons.length && !extensions.length) return notInPipeline('New-word mining (newwords) and vocabulary extension');
    return lexicons.map((n) => lexiconPart(data, n)).join('') + (extensions.length ? extensions.join('') : '<p>No pretrain stage extended its vocabulary (pretrain <code>vocab.extend</code>).</p>');
  },
};
