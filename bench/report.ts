/** The bench:engine report: Markdown, printed and optionally written into a marked block of docs/benchmarks.md. */
import type { TraceSummary } from './history';
import { writeGeneratedSection } from './docs-section';

export interface Environment {
  date: string;
  command: string;
  machine: string;
  node: string;
  temporal: string;
  minio: string;
  reps: number;
  slots: number;
  /** A smoke run (`--smoke`): tiny workloads, no warm-up; it checks the benchmark works, its numbers mean nothing. */
  smoke?: boolean;
}

export interface ResultRow {
  workload: string;
  unit: string;
  units: number;
  daptMs: number;
  baselineMs: number;
  runs: { dapt: number[]; baseline: number[] };
}

const fixed = (digits: number) => (x: number) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const f0 = fixed(0);
const f1 = fixed(1);
const f2 = fixed(2);

function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function resultTable(what: string, rows: ResultRow[]): string {
  return table(
    ['workload', `${what} median ms`, 'baseline median ms', `ratio ${what}/baseline`, `${what} ms per unit`, 'baseline ms per unit', 'overhead ms per unit'],
    rows.map((r) => [
      r.workload,
      f0(r.daptMs),
      f0(r.baselineMs),
      f2(r.daptMs / r.baselineMs),
      `${f2(r.daptMs / r.units)} /${r.unit}`,
      `${f2(r.baselineMs / r.units)} /${r.unit}`,
      `${f2((r.daptMs - r.baselineMs) / r.units)} /${r.unit}`,
    ]),
  );
}

export function renderReport(
  env: Environment,
  rows: ResultRow[],
  explainRows: ResultRow[],
  target: number,
  traces: { label: string; summary: TraceSummary }[],
): string {
  const out: string[] = [];
  out.push(`- command: \`${env.command}\``);
  out.push(`- date: ${env.date}`);
  out.push(`- machine: ${env.machine}; Node ${env.node}`);
  out.push(`- Temporal: ${env.temporal}; MinIO: ${env.minio}`);
  out.push(
    `- setup: one private dev server + MinIO, in-process workers (stage queue: ${env.slots} activity slots, workflow queue: 50), ` +
      `${env.smoke ? 'no warm-up' : '1 warm-up run each'}, then ${env.reps} interleaved repetitions; times are client-side start → result, medians`,
  );
  out.push('');
  out.push(resultTable('dapt', rows));
  out.push('');
  const verdicts = rows.map((r) => `${r.workload.split(':')[0]} ${f2(r.daptMs / r.baselineMs)} ${r.daptMs / r.baselineMs <= target ? '≤' : '>'} ${target}`);
  const met = rows.every((r) => r.daptMs / r.baselineMs <= target);
  if (env.smoke) out.push(`Smoke run (tiny workloads, one cold run each): not a measurement; the target (ratio ≤ ${target}) is judged on a full run.`);
  else out.push(`Target ratio ≤ ${target}: **${met ? 'met' : 'NOT met'}** (${verdicts.join('; ')}).`);
  out.push('');
  out.push('Every run (ms):');
  out.push('');
  for (const r of rows) {
    out.push(`- ${r.workload.split(':')[0]}: dapt ${r.runs.dapt.map(f0).join(', ')}; baseline ${r.runs.baseline.map(f0).join(', ')}`);
  }
  if (explainRows.length) {
    out.push('');
    out.push('Diagnostic variants (`--explain`), each against the same baseline runs as above:');
    out.push('');
    out.push(resultTable('variant', explainRows));
    out.push('');
    for (const r of explainRows) out.push(`- ${r.workload}: ${r.runs.dapt.map(f0).join(', ')}`);
  }
  if (traces.length) {
    out.push('');
    out.push('Where the time goes (last measured run of each, from the Temporal histories of the run and its child workflows; ' +
      'per activity type: count × median queue (scheduled→started) / exec (started→completed) / react (previous completion→scheduled) ms; ' +
      'child workflows: median start (initiated→started), lead (started→first activity scheduled), run (as the parent sees it), ' +
      'tail (last task scheduled→child done: the window drains), gap (child done→next child initiated) ms):');
    out.push('');
    out.push(
      table(
        ['run', 'histories', 'events', 'workflow tasks (median ms)', 'child workflows: n (start / lead / run / tail / gap ms)', 'activities', 'mean in flight'],
        traces.map(({ label, summary: s }) => [
          label,
          String(s.histories),
          String(s.events),
          `${s.workflowTasks} (${f1(s.wftMedianMs)})`,
          s.children.n ? `${s.children.n} (${[s.children.startMs, s.children.leadMs, s.children.runMs, s.children.tailMs, s.children.gapMs].map(f0).join(' / ')})` : '0',
          Object.entries(s.byType)
            .map(([t, a]) => `${t} ${a.n}× ${f0(a.queue)}/${f0(a.exec)}/${f0(a.react)}`)
            .join('; '),
          f1(s.meanInFlight),
        ]),
      ),
    );
  }
  return out.join('\n');
}

/** Replaces the generated block of the bench:engine section (creating the file or the section if missing). */
export function writeDocsSection(file: string, report: string): void {
  writeGeneratedSection(file, 'bench:engine', report);
}
