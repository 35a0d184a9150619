/** The promotion decision of a promote stage, rendered from its manifest's metrics whatever fields it carries. */
import { orderedStages, type ReportData } from '../gather';
import { esc, fmtNum, isNum, kvTable, notInPipeline } from '../html';
import { flatNumbers } from './evaluation';
import type { Section } from './types';

const HEADLINE = ['decision', 'metric', 'margin', 'decidedBy', 'reason', 'model', 'previous', 'approver'];

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
    decidedBy(name, x) +
    (head.length ? kvTable(head, `promotion.${name}`) : '') +
    (numbers.length || text.length ? kvTable([...numbers, ...text], `promotion.${name}`) : '')
  );
}

/** Which number met the margin: the mean improvement, or the lower bound of its interval (promote's confidence). */
function decidedBy(name: string, x: Record<string, unknown>): string {
  const iv = x.interval && typeof x.interval === 'object' ? (x.interval as Record<string, unknown>) : undefined;
  const key = `promotion.${esc(name)}.decidedBy`;
  if (x.decidedBy === 'lower-bound' && iv && isNum(iv.lower) && isNum(iv.upper) && isNum(iv.confidence)) {
    return `<p data-key="${key}">Decided by the <b>lower bound</b> ${esc(fmtNum(iv.lower))} of the ${esc(fmtNum(iv.confidence * 100))}% interval [${esc(fmtNum(iv.lower))}, ${esc(fmtNum(iv.upper))}] of the improvement (${esc(String(iv.seeds))} seeds × ${esc(String(iv.items))} test items) against margin ${esc(fmtNum(x.margin))}; the mean improvement was ${esc(fmtNum(x.improvement))}.</p>`;
  }
  if (x.decidedBy === 'lower-bound') return `<p data-key="${key}">Decided by the lower bound of the improvement's interval: none could be paired (${esc(String(x.reason ?? ''))}).</p>`;
  if (x.decidedBy === 'mean') return `<p data-key="${key}">Decided by the <b>mean</b> improvement ${esc(fmtNum(x.improvement))} against margin ${esc(fmtNum(x.margin))}, without an interval (no confidence set).</p>`;
  return '';
}

export const promotionSection: Section = {
  id: 'promotion',
  title: 'Promotion',
  render(data: ReportData) {
    const names = orderedStages(data.view).filter((n) => data.view.stages[n].kind === 'promote' || data.manifests[n]?.kind === 'promotion');
    return names.length ? names.map((n) => part(data, n)).join('') : notInPipeline('Promotion (promote)');
  },
};
