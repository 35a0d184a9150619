/** Long-tail terms: per longtail stage, the terms that need knowledge, how the base tokenizer cuts them, which are selected. */
import type { LongtailRow } from '../../longtail/run';
import { stagesOfKind, type ReportData } from '../gather';
import { esc, fmtNum, fmtPct, isNum, kvTable, notInPipeline, numCell } from '../html';
import type { Section } from './types';

function rowsOf(v: unknown): LongtailRow[] {
  return Array.isArray(v) ? (v.filter((r) => typeof r === 'object' && r !== null && typeof (r as LongtailRow).word === 'string') as LongtailRow[]) : [];
}

function part(data: ReportData, name: string): string {
  const m = data.manifests[name];
  if (!m) return `<h3>${esc(name)}</h3><p class="absent">${esc(name)} has not produced its analysis (${esc(data.view.stages[name].state)}).</p>`;
  const x = m.metrics;
  const key = `longtail.${name}`;
  const summary = kvTable(
    [
      ['baseModel', x.baseModel],
      ['terms', x.terms],
      ['fragmented', x.fragmented],
      ['needKnowledge', x.needKnowledge],
      ['defined', x.defined],
      ['selected', x.selected],
      ['undefinedNeedy', x.undefinedNeedy],
    ],
    key,
  );
  const rows = rowsOf(x.table);
  const table = rows.length
    ? `<table class="longtail" data-key="${esc(key)}.table"><tr><th>term</th><th>domain freq</th><th>general /M</th><th>pieces</th><th>base tokens</th><th>definition</th><th>need</th><th>score</th><th>selected</th></tr>` +
      rows
        .map(
          (r) =>
            `<tr data-term="${esc(r.word)}"${r.selected ? ' class="selected"' : ''}><td><code>${esc(r.word)}</code></td>${numCell(`${key}.${r.word}.domainFreq`, r.domainFreq)}` +
            `${numCell(`${key}.${r.word}.generalPerMillion`, r.generalPerMillion)}${numCell(`${key}.${r.word}.pieces`, r.pieces)}<td><code>${esc(r.tokens.join(' '))}</code></td>` +
            `<td>${r.defined ? 'yes' : '—'}</td>${numCell(`${key}.${r.word}.need`, r.need)}${numCell(`${key}.${r.word}.score`, r.score)}<td>${r.selected ? 'yes' : ''}</td></tr>`,
        )
        .join('') +
      '</table>'
    : '<p>No terms.</p>';
  const note = x.generalMeasured === false ? '<p>The lexicon was mined without a general corpus: rarity in general text was not measured (every term counts as rare).</p>' : '';
  return `<h3>${esc(name)} <small>long-tail analysis</small></h3>${summary}${note}${table}`;
}

/** Where the selected terms were used: a pretrain stage with `dictionary` says how many definitions its sequences got. */
function injectionLine(data: ReportData, name: string): string {
  const x = data.manifests[name]?.metrics ?? {};
  const appended = x['dictionary.definitionsAppended'];
  if (!isNum(appended)) return '';
  return (
    `<p class="dictionary" data-key="longtail.injected.${esc(name)}" data-value="${appended}">Pretrain stage <code>${esc(name)}</code> (dictionary-enhanced MLM): ` +
    `${esc(fmtNum(appended))} definitions appended in ${esc(fmtPct(x['dictionary.sequenceShare']))} of ${esc(fmtNum(x['dictionary.sequences']))} training sequences, ` +
    `${esc(fmtNum(x['dictionary.termsUsed']))} distinct terms of ${esc(fmtNum(x['dictionary.terms']))} injectable, ${esc(fmtNum(x['dictionary.definitionTokens']))} tokens of definitions ` +
    '(held-out evaluation sequences get none).</p>'
  );
}

/** And at fine-tuning: an evaluate stage with `dictionary` says which share of each set's examples got definitions. */
function fineTuningLine(data: ReportData, name: string): string {
  const d = data.manifests[name]?.metrics.dictionary as { inject?: string; terms?: number; examplesWithDefinitions?: Record<string, number> } | undefined;
  if (!d?.examplesWithDefinitions) return '';
  const shares = Object.entries(d.examplesWithDefinitions).map(([set, share]) => `${fmtPct(share)} of the ${set}`);
  return (
    `<p class="dictionary" data-key="longtail.finetuned.${esc(name)}">Evaluate stage <code>${esc(name)}</code>: definitions appended to ${esc(shares.join(', '))} examples ` +
    `(inject ${esc(d.inject)}, ${esc(fmtNum(d.terms))} injectable terms), every model alike.</p>`
  );
}

export const longtailSection: Section = {
  id: 'longtail',
  title: 'Long-tail terms',
  render(data: ReportData) {
    const stages = stagesOfKind(data, 'longtail');
    if (!stages.length) return notInPipeline('Long-tail analysis (longtail)');
    return (
      '<p><em>fragmented</em>: terms the base tokenizer cuts into several pieces; <em>undefinedNeedy</em>: terms that need knowledge but have no definition in the glossary (what to add to it). Score = rare in general text × frequent enough in the domain × fragmented by the base tokenizer × defined in the glossary (each in [0, 1]); <em>need</em> leaves out the definition.</p>' +
      stages.map((n) => part(data, n)).join('') +
      stagesOfKind(data, 'pretrain').map((n) => injectionLine(data, n)).join('') +
      stagesOfKind(data, 'evaluate').map((n) => fineTuningLine(data, n)).join('')
    );
  },
};
