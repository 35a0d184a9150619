/**
 * The data funnel: for every stage producing documents, in DAG order, what came in, what went out, and why the
 * rest was dropped, read from the counters each data stage already stores in its manifest.
 */
import type { ManifestT } from '../../../../schemas/manifest';
import { documentRecords } from '../../../stage-inputs';
import { stagesOfKind, type ReportData } from '../gather';
import { esc, fmtNum, isNum, notInPipeline, numCell } from '../html';
import { barChart } from '../svg';
import type { Section } from './types';

export interface FunnelStep {
  stage: string;
  kind: string;
  input?: number;
  output: number;
  /** reason → documents (or pages) dropped for it */
  drops: Record<string, number>;
}

const DATA_KINDS = ['crawl', 'warc', 'source', 'extract', 'filter', 'select', 'dedupe'];

const num = (v: unknown): number | undefined => (isNum(v) ? v : undefined);

function addCounts(into: Record<string, number>, counts: unknown, prefix = ''): void {
  if (isNum(counts)) {
    if (counts > 0) into[prefix || 'dropped'] = (into[prefix || 'dropped'] ?? 0) + counts;
    return;
  }
  if (typeof counts !== 'object' || counts === null) return;
  for (const [k, v] of Object.entries(counts)) addCounts(into, v, prefix ? `${prefix}: ${k}` : k);
}

/** Per kind, where its counters are: each data stage names its drops its own way. */
export function funnelStep(stage: string, kind: string, m: ManifestT): FunnelStep {
  const x = m.metrics;
  const output = documentRecords(m);
  const drops: Record<string, number> = {};
  let input = num(x.input);
  switch (kind) {
    case 'crawl':
      input = num(x.pages);
      addCounts(drops, x.droppedBy, 'dropped');
      addCounts(drops, x.failed, 'failed');
      addCounts(drops, x.canonicalDuplicates, 'canonical duplicate');
      addCounts(drops, x.notModified, 'not modified');
      break;
    case 'warc':
      input = num(x.records);
      addCounts(drops, x.skipped, 'skipped');
      break;
    case 'source':
      input = isNum(x.documents) && isNum(x.dropped) ? x.documents + x.dropped : num(x.documents);
      addCounts(drops, x.dropped, 'unreadable or empty');
      break;
    case 'extract':
      addCounts(drops, x.tooShort, 'too short');
      addCounts(drops, x.notHtml, 'not HTML');
      break;
    case 'filter':
      addCounts(drops, x.droppedBy);
      break;
    case 'dedupe':
      if (isNum(x.exactDuplicates) || isNum(x.nearDuplicates)) {
        addCounts(drops, x.exactDuplicates, 'exact duplicate');
        addCounts(drops, x.nearDuplicates, 'near duplicate');
      } else addCounts(drops, x.duplicates, 'exact duplicate');
      break;
    case 'select':
      if (isNum(x.input) && isNum(x.kept)) addCounts(drops, x.input - x.kept, 'below the selection score');
      break;
  }
  return { stage, kind, ...(input !== undefined ? { input } : {}), output, drops };
}

export function funnelSteps(data: ReportData): FunnelStep[] {
  return stagesOfKind(data, ...DATA_KINDS).flatMap((name) => {
    const m = data.manifests[name];
    return m && m.kind === 'documents' ? [funnelStep(name, data.view.stages[name].kind, m)] : [];
  });
}

export const funnelSection: Section = {
  id: 'funnel',
  title: 'Data funnel',
  render(data: ReportData) {
    const steps = funnelSteps(data);
    if (!steps.length) return notInPipeline('Data stages (crawl, extract, filter, dedupe, …)');
    const dropped = (s: FunnelStep) => Object.values(s.drops).reduce((a, b) => a + b, 0);
    const bars = steps.map((s) => ({ label: s.stage, value: s.output, note: dropped(s) ? `(−${fmtNum(dropped(s))})` : '' }));
    const reasons = steps.flatMap((s) => Object.entries(s.drops).map(([r, n]) => ({ label: `${s.stage}: ${r}`, value: n, className: 'drop' })));
    const rows = steps.map((s) => {
      const list = Object.entries(s.drops)
        .sort((a, b) => b[1] - a[1])
        .map(([r, n]) => `<li data-key="funnel.${esc(s.stage)}.dropped.${esc(r)}" data-value="${n}">${esc(r)}: ${esc(fmtNum(n))}</li>`)
        .join('');
      return `<tr><th>${esc(s.stage)}</th><td>${esc(s.kind)}</td>${numCell(`funnel.${s.stage}.input`, s.input)}${numCell(`funnel.${s.stage}.output`, s.output)}${numCell(`funnel.${s.stage}.dropped`, dropped(s))}<td><ul class="reasons">${list}</ul></td></tr>`;
    });
    return (
      `<p>Documents out of each data stage (the units a stage counts its input in: pages for a crawl, records for WARC files, documents otherwise).</p>` +
      barChart({ id: 'funnel', bars, valueLabel: 'documents out' }) +
      `<table class="grid"><thead><tr><th>stage</th><th>kind</th><th>in</th><th>out</th><th>dropped</th><th>why</th></tr></thead><tbody>${rows.join('')}</tbody></table>` +
      (reasons.length ? `<h3>Drop reasons</h3>${barChart({ id: 'drop-reasons', bars: reasons, valueLabel: 'dropped' })}` : '<p>Nothing was dropped.</p>')
    );
  },
};
