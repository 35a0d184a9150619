/** The report page: sections in order, inline CSS, no scripts and no external resources. */
import type { ReportData } from './gather';
import { esc } from './html';
import { evaluationSection } from './sections/evaluation';
import { funnelSection } from './sections/funnel';
import { longtailSection } from './sections/longtail';
import { promotionSection } from './sections/promotion';
import { runSection } from './sections/run';
import { trainingSection } from './sections/training';
import type { Section } from './sections/types';
import { vocabSection } from './sections/vocab';

export const SECTIONS: Section[] = [runSection, funnelSection, vocabSection, longtailSection, trainingSection, evaluationSection, promotionSection];

const CSS = `
:root{--fg:#1d2433;--muted:#5b6475;--line:#d9dee7;--bg:#fff;--soft:#f5f7fa;--ok:#1a7f37;--bad:#c62828;--run:#0b62d6;--wait:#a15c00}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 32px;border-bottom:1px solid var(--line);background:var(--soft)}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:var(--muted)}
nav{padding:8px 32px;border-bottom:1px solid var(--line)}nav a{margin-right:16px;color:var(--run);text-decoration:none}
main{padding:8px 32px 40px;max-width:1200px}section{margin-top:28px}h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:20px 0 8px}h3 small{color:var(--muted);font-weight:normal}h4{margin:14px 0 6px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}thead th{background:var(--soft);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}table.kv th{font-weight:normal;color:var(--muted)}td.note{color:var(--bad);max-width:360px;overflow-wrap:anywhere}
.cols{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--soft);padding:1px 4px;border-radius:3px}
.pill{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;border:1px solid currentColor}
.state-succeeded,.state-cached{color:var(--ok)}.state-failed,.state-cancelled{color:var(--bad)}.state-running{color:var(--run)}.state-waiting,.state-parked{color:var(--wait)}.state-skipped,.state-pending{color:var(--muted)}
.absent{color:var(--muted);font-style:italic}.hint{color:var(--muted);font-size:12px}.better{color:var(--ok)}.worse{color:var(--bad)}
.decision{font-size:20px;font-weight:600}ul.reasons{margin:0;padding-left:16px}.problems{color:var(--bad)}
svg.chart{display:block;max-width:100%;height:auto;margin:8px 0;font-size:11px}svg.chart text{fill:var(--fg)}
svg .axis line{stroke:#8a93a3}svg .axis line.grid{stroke:#edf0f4}svg .axis text.label{fill:var(--muted)}
svg path.series{fill:none;stroke-width:2}svg .s0{stroke:#0b62d6;fill:#0b62d6}svg .s1{stroke:#e8710a;fill:#e8710a}svg .s2{stroke:#1a7f37;fill:#1a7f37}svg .s3{stroke:#8e24aa;fill:#8e24aa}svg .s4{stroke:#c62828;fill:#c62828}svg .s5{stroke:#00838f;fill:#00838f}
svg path.series.s0,svg path.series.s1,svg path.series.s2,svg path.series.s3,svg path.series.s4,svg path.series.s5{fill:none}
svg rect.bar{fill:#0b62d6}svg rect.bar.drop{fill:#e0795b}svg rect.bar.s1{fill:#e8710a}svg text.value{fill:var(--muted)}
svg line.whisker{stroke:#8a93a3;stroke-width:2}svg line.mean{stroke:var(--fg);stroke-width:2}svg circle.seed{fill-opacity:.75;stroke:none}
svg.dag path.edge{fill:none;stroke:#8a93a3;stroke-width:1.5}svg.dag .node rect{fill:#fff;stroke:currentColor;stroke-width:1.5}svg.dag .node text{fill:var(--fg)}svg.dag .node text.name{font-weight:600;font-size:12px}svg.dag .node text.sub{fill:var(--muted);font-size:10px}
svg .node.state-succeeded,svg .node.state-cached{color:var(--ok)}svg .node.state-failed{color:var(--bad)}svg .node.state-running{color:var(--run)}svg .node.state-skipped,svg .node.state-pending,svg .node.state-cancelled{color:#9aa3b2}
svg rect.span{fill:currentColor}
.legend span{margin-right:14px;color:var(--muted);font-size:12px}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.legend i.s0{background:#0b62d6}.legend i.s1{background:#e8710a}.legend i.s2{background:#1a7f37}.legend i.s3{background:#8e24aa}.legend i.s4{background:#c62828}.legend i.s5{background:#00838f}
`;

export function renderReport(data: ReportData): string {
  const sections = SECTIONS.map((s) => `<section id="${esc(s.id)}" data-section="${esc(s.id)}"><h2>${esc(s.title)}</h2>${s.render(data)}</section>`);
  const problems = data.problems.length ? `<section class="problems"><h2>Could not be read</h2><ul>${data.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></section>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="dapt report"><title>${esc(data.title)}</title><style>${CSS}</style></head>
<body><header><h1>${esc(data.title)}</h1><p>Generated ${esc(data.generatedAt)}${data.renderedBy ? ` by stage ${esc(data.renderedBy)}` : ' from the run'}.</p></header>
<nav>${SECTIONS.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join('')}</nav>
<main>${sections.join('\n')}${problems}</main></body></html>
`;
}
