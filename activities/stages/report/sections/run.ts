/** The run: the DAG coloured by state, a timeline of the stages, and per stage its attempts, timings and cache hit. */
import { levelsOfView, orderedStages, type ReportData } from '../gather';
import { esc, fmtDuration, numCell } from '../html';
import { dagDiagram, timeline } from '../svg';
import type { Section } from './types';

const ms = (iso?: string) => (iso ? Date.parse(iso) : NaN);

export const runSection: Section = {
  id: 'run',
  title: 'Pipeline',
  render(data: ReportData) {
    const { view } = data;
    const names = orderedStages(view);
    const nodes = names.map((name) => {
      const s = view.stages[name];
      return { name, kind: s.kind, state: s.state, needs: s.needs, note: s.attempt > 1 ? `${s.attempt} attempts` : undefined };
    });
    const t0 = ms(view.startedAt);
    const spans = names.flatMap((name) => {
      const s = view.stages[name];
      const start = ms(s.startedAt);
      const end = ms(s.endedAt);
      return Number.isFinite(start) && Number.isFinite(end) ? [{ label: name, start: (start - t0) / 1000, end: (end - t0) / 1000, state: s.state }] : [];
    });
    const rows = names.map((name) => {
      const s = view.stages[name];
      const duration = ms(s.endedAt) - ms(s.startedAt);
      const cache = s.state === 'cached' ? 'hit' : s.state === 'succeeded' ? 'miss' : '—';
      const fanout = s.fanout ? ` · ${s.fanout.done}/${s.fanout.total} tasks${s.fanout.reused ? ` (${s.fanout.reused} reused)` : ''}` : '';
      const note = s.error ?? s.reason ?? '';
      return (
        `<tr data-stage="${esc(name)}"><th>${esc(name)}</th><td>${esc(s.kind)}</td><td><span class="pill state-${esc(s.state)}" data-key="stage.${esc(name)}.state">${esc(s.state)}</span></td>` +
        numCell(`stage.${name}.attempt`, s.attempt) +
        `<td class="num">${esc(fmtDuration(Number.isFinite(duration) ? duration : undefined))}</td>` +
        `<td data-key="stage.${esc(name)}.cache">${esc(cache)}</td>` +
        `<td>${s.digest ? `<code>${esc(`${s.produces} ${s.digest.slice(0, 12)}`)}</code>` : ''}${esc(fanout)}</td><td class="note">${esc(note)}</td></tr>`
      );
    });
    const counts: Record<string, number> = {};
    for (const n of names) counts[view.stages[n].state] = (counts[view.stages[n].state] ?? 0) + 1;
    const total = ms(view.endedAt ?? data.generatedAt) - ms(view.startedAt);
    const summary =
      `<p class="lead">Run <code>${esc(view.runId)}</code> of <b>${esc(view.pipeline)}</b>: <span class="pill state-${esc(view.state)}" data-key="run.state">${esc(view.state)}</span>, ` +
      `${names.length} stages (${Object.entries(counts).map(([k, v]) => `${v} ${esc(k)}`).join(', ')}), ${esc(fmtDuration(Number.isFinite(total) ? total : undefined))}${view.endedAt ? '' : ' so far'}. ` +
      `Plan <code>${esc(view.planHash.slice(0, 12))}</code>, started ${esc(view.startedAt)}.</p>` +
      (data.renderedBy ? `<p class="hint">Rendered by stage <b>${esc(data.renderedBy)}</b> while the run was going: it shows what had finished before it. <code>dapt report RUN --render</code> renders the finished run.</p>` : '');
    return (
      summary +
      dagDiagram({ id: 'dag', nodes, levels: levelsOfView(view) }) +
      (spans.length ? `<h3>Timeline</h3>${timeline({ id: 'timeline', rows: spans })}` : '') +
      `<table class="grid"><thead><tr><th>stage</th><th>kind</th><th>state</th><th>attempts</th><th>duration</th><th>cache</th><th>output</th><th>note</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
    );
  },
};
