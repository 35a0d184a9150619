/** The promotion decision of a promote stage, rendered from its manifest's metrics whatever fields it carries. */
import { orderedStages, type ReportData } from '../gather';
import { esc, isNum, kvTable, notInPipeline } from '../html';
import { flatNumbers } from './evaluation';
import type { Section } from './types';

const HEADLINE = ['decision', 'metric', 'margin', 'reason', 'model', 'previous', 'approver'];

function part(data: ReportData, name: string): string {
  const m = data.manifests[name];
  if (!m) return `<h3>${esc(name)}</h3><p class="absent">${esc(name)} has made no decision yet (${esc(data.view.stages[name].state)}).</p>`;
  const x = m.metrics;
  const decision = typeof x.decision === 'string' ? x.decision : typeof x.promoted === 'boolean' ? (x.promoted ? 'promoted' : 'not promoted') : 'unknown';
  const good = /^(promoted|approved|promote)$/i.test(decision) || x.promoted === true;
  const head = HEADLINE.filter((k) => k in x && k !== 'decision').map((k): [string, unknown] => [k, x[k]]);
  const rest = Object.keys(x).filter((k) => !HEADLINE.includes(k));
  const numbers = rest.flatMap((k) => flatNumbers(x[k], k));
  const text = rest.filter((k) => !isNum(x[k]) && (typeof x[k] !== 'object' || x[k] === null)).map((k): [string, unknown] => [k, x[k]]);
  return (
    `<h3>${esc(name)}</h3><p class="decision ${good ? 'better' : 'worse'}" data-key="promotion.${esc(name)}.decision">${esc(decision)}</p>` +
    (head.length ? kvTable(head, `promotion.${name}`) : '') +
    (numbers.length || text.length ? kvTable([...numbers, ...text], `promotion.${name}`) : '')
  );
}

export const promotionSection: Section = {
  id: 'promotion',
  title: 'Promotion',
  render(data: ReportData) {
    const names = orderedStages(data.view).filter((n) => data.view.stages[n].kind === 'promote' || data.manifests[n]?.kind === 'promotion');
    return names.length ? names.map((n) => part(data, n)).join('') : notInPipeline('Promotion (promote)');
  },
};
