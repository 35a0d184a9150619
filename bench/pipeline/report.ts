/** bench:pipeline's markdown: per-stage rates of every run side by side, whole-pipeline times, peak RSS. */
import type { PageKind } from './corpus';
import { STAGES, type RunMeasure, type StageMeasure } from './dapt';

export interface SizeResult {
  docs: number;
  docsPerFile: number;
  files: number;
  /** WARC files datatrove read (the first ones). */
  baselineFiles: number;
  warcBytes: number;
  kinds: Record<PageKind, number>;
  runs: RunMeasure[];
  /** The corpus format (default warc) and the stages measured (default STAGES). */
  input?: 'warc' | 'jsonl';
  stages?: string[];
}

export interface ReportInput {
  command: string;
  machine: string;
  loadBefore: string;
  loadAfter: string;
  minutes: number;
  sizes: SizeResult[];
  pins?: string[];
}

const table = (head: string[], rows: string[][]) => {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
};
const num = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en') : '—');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const mib = (b: number) => (Number.isFinite(b) && b > 0 ? (b / 2 ** 20).toFixed(0) : '—');
const label = (r: RunMeasure) => `${r.impl} ×${r.workers}`;
const perCore = (s?: StageMeasure) => (s && s.cpuS > 0 ? s.docsIn / s.cpuS : NaN);
const mbps = (s?: StageMeasure) => (s && s.wallS > 0 ? s.inputBytes / 1e6 / s.wallS : NaN);
const mb = (x: number) => (Number.isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) : '—');
const stageOf = (r: RunMeasure, name: string) => r.stages.find((s) => s.stage === name);
/** MB of the stage's input as uncompressed JSONL per CPU-second (not for WARC input). */
const jsonlPerCore = (s?: StageMeasure) => (s?.inputJsonlBytes && s.cpuS > 0 ? s.inputJsonlBytes / 1e6 / s.cpuS : NaN);

/** Documents per CPU-second over every run of one implementation (the runs' CPU pooled). */
function pooled(runs: RunMeasure[], name: string): number {
  const ss = runs.map((r) => stageOf(r, name)).filter((s): s is StageMeasure => !!s);
  const cpu = ss.reduce((a, s) => a + s.cpuS, 0);
  return ss.length && cpu > 0 ? ss.reduce((a, s) => a + s.docsIn, 0) / cpu : NaN;
}

function sizeSection(z: SizeResult): string {
  const out: string[] = [];
  const dapt = z.runs.filter((r) => r.impl === 'dapt');
  const dt = z.runs.filter((r) => r.impl === 'datatrove');
  const k = z.kinds;
  const names = z.stages ?? [...STAGES];
  const jsonl = z.input === 'jsonl';
  out.push(
    `**${z.docs.toLocaleString('en')} documents** in ${z.files} ${jsonl ? 'JSONL files (the pages\' main text; pipeline after extraction: source → filter with every rule off → dedupe → select)' : 'WARC files'} of ${z.docsPerFile.toLocaleString('en')} (${(z.warcBytes / 2 ** 20).toFixed(0)} MiB gzip); ` +
      `generated: ${num(k.en + k.domain)} English articles (${num(k.domain)} about the seed domain), ${num(k.exact)} exact and ${num(k.near)} near duplicates, ` +
      `${num(k.de)} German, ${num(k.fr)} French, ${num(k.zh)} Chinese pages, ${num(k.links + k.spam + k.list)} low-quality pages; dapt shard size = ${z.docsPerFile.toLocaleString('en')}, select topK = ${num(Math.max(1, Math.round(z.docs / 10)))}.` +
      (dt.length && z.baselineFiles < z.files ? ` datatrove read the first ${z.baselineFiles} of the ${z.files} WARC files (its runs take several times longer).` : ''),
  );
  out.push('');
  out.push('Documents per CPU-second of the worker processes ("docs/s per core"), per stage:');
  out.push('');
  const io = (rs: RunMeasure[], name: string) => {
    const s = rs.length ? stageOf(rs[0], name) : undefined;
    return s ? `${num(s.docsIn)} → ${num(s.docsOut)}` : rs.length ? 'no equivalent' : '—';
  };
  out.push(
    table(
      ['stage', 'dapt docs in → out', ...(dt.length ? ['datatrove docs in → out'] : []), ...z.runs.map((r) => `${label(r)} docs/s per core`), ...(dt.length ? ['dapt ÷ datatrove per core'] : [])],
      names.map((name) => [
        name,
        io(dapt, name),
        ...(dt.length ? [io(dt, name)] : []),
        ...z.runs.map((r) => num(perCore(stageOf(r, name)))),
        ...(dt.length ? [f2(pooled(dapt, name) / pooled(dt, name))] : []),
      ]),
    ),
  );
  out.push('');
  out.push('Wall time and input MB/s (input as stored: gzip WARC or JSONL, zstd shards; per wall second) per stage; tasks: dapt fan-out tasks over all phases, datatrove tasks over its executors:');
  out.push('');
  out.push(
    table(
      ['stage', ...z.runs.map((r) => `${label(r)} s (MB/s)`), ...(dapt[0] ? ['dapt tasks'] : []), ...(dt[0] ? ['datatrove tasks'] : [])],
      names.map((name) => [
        name,
        ...z.runs.map((r) => {
          const s = stageOf(r, name);
          return s ? `${f1(s.wallS)} (${mb(mbps(s))})` : '—';
        }),
        ...(dapt[0] ? [String(stageOf(dapt[0], name)?.tasks ?? '—')] : []),
        ...(dt[0] ? [String(stageOf(dt[0], name)?.parts?.reduce((a, p) => a + p.tasks, 0) ?? '—')] : []),
      ]),
    ),
  );
  out.push('');
  out.push('MB of the stage\'s input as JSONL (uncompressed) per CPU-second of the worker processes ("MB/s per core"; WARC input: —):');
  out.push('');
  out.push(table(['stage', ...dapt.map((r) => `${label(r)} MB/s per core`)], names.map((name) => [name, ...dapt.map((r) => mb(jsonlPerCore(stageOf(r, name))))])));
  out.push('');
  out.push('Whole pipeline (dapt: client start → result, the seed source stage included; datatrove: its executors one after another):');
  out.push('');
  const base = (impl: string) => z.runs.find((r) => r.impl === impl && r.workers === 1);
  out.push(
    table(
      ['implementation', 'processes', 'whole pipeline s', 'speedup vs 1 process', 'CPU s in the stages', 'peak RSS per worker process MiB'],
      z.runs.map((r) => {
        const b = base(r.impl);
        return [r.impl, String(r.workers), f1(r.wallS), b ? f2(b.wallS / r.wallS) : '—', f1(r.stages.reduce((a, s) => a + s.cpuS, 0)), r.peakRssBytes.map(mib).join(', ')];
      }),
    ),
  );
  const ms = dapt.filter((r) => r.extractMsPerPage !== undefined);
  if (ms.length) {
    out.push('');
    out.push(
      `dapt's extract stage timed its extraction call (Readability over linkedom) at ${ms.map((r) => `${f2(r.extractMsPerPage!)} ms per page (×${r.workers})`).join(', ')}; ` +
        'the rest of the stage\'s CPU is language identification (CLD3), JSON, the shard codec and the store.',
    );
  }
  const parts = dt.length ? stageOf(dt[dt.length - 1], 'dedupe')?.parts : undefined;
  if (parts) {
    out.push('');
    out.push(`datatrove's dedupe executors (×${dt[dt.length - 1].workers}): ${parts.map((p) => `${p.name} ${p.tasks} tasks ${f1(p.wallS)} s / ${f1(p.cpuS)} CPU s`).join('; ')}.`);
  }
  return out.join('\n');
}

export function renderReport(r: ReportInput): string {
  const out: string[] = [];
  out.push(`- command: \`${r.command}\``);
  out.push(`- date: ${new Date().toISOString()}; machine: ${r.machine}; ${r.minutes.toFixed(1)} minutes end to end`);
  out.push(`- load average (1, 5, 15 min) before: ${r.loadBefore}; after: ${r.loadAfter} (a shared machine: other processes compete for the cores)`);
  if (r.pins) out.push(`- baseline: ${r.pins.join(', ')} (Python venv ~/.cache/dapt/bench-venv-pipeline), same WARC files, same number of processes`);
  for (const z of r.sizes) {
    out.push('');
    out.push(sizeSection(z));
  }
  // Peak RSS by size: the sizes of the last pass's input format, when there are two sizes of it.
  const bySize = r.sizes.filter((z) => (z.input ?? 'warc') === (r.sizes[r.sizes.length - 1].input ?? 'warc'));
  if (new Set(bySize.map((z) => z.docs)).size > 1) {
    out.push('');
    out.push('Peak RSS per dapt worker process by corpus size (the same shard size, so a task holds the same amount of data):');
    out.push('');
    const workers = [...new Set(bySize.flatMap((z) => z.runs.filter((x) => x.impl === 'dapt').map((x) => x.workers)))];
    const peak = (z: SizeResult, w: number) => Math.max(...(z.runs.find((x) => x.impl === 'dapt' && x.workers === w)?.peakRssBytes ?? [NaN]));
    out.push(
      table(
        ['documents', ...workers.map((w) => `dapt ×${w}: largest worker MiB`)],
        bySize.map((z) => [z.docs.toLocaleString('en'), ...workers.map((w) => mib(peak(z, w)))]),
      ),
    );
    const [a, b] = [bySize[0], bySize[bySize.length - 1]];
    const both = workers.filter((w) => Number.isFinite(peak(a, w) / peak(b, w)));
    out.push('');
    out.push(`Ratio ${b.docs.toLocaleString('en')} ÷ ${a.docs.toLocaleString('en')}: ${both.map((w) => `×${w} ${f2(peak(b, w) / peak(a, w))}`).join(', ') || '— (no worker count measured at both sizes)'} (target ≤ 1.2).`);
  }
  return out.join('\n');
}
