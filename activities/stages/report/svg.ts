/**
 * Small SVG charts rendered to strings on the server: no DOM, no scripts, no external resources, so the report
 * is one file that opens anywhere. Every chart is an <svg class="chart" data-chart="<id>"> whose marks carry
 * their data (`data-points`, `data-value`), which keeps them checkable by tools and tests.
 */
import { esc, fmtNum, isNum } from './html';

const W = 640;
const M = { top: 16, right: 16, bottom: 40, left: 64 };

type Scale = (v: number) => number;

/** Room for row labels at the chart's 11px font (about 6.5px a character), within bounds. */
function labelWidth(labels: string[]): number {
  return Math.round(Math.min(280, Math.max(70, 16 + 6.5 * Math.max(0, ...labels.map((l) => l.length)))));
}

function linear(d0: number, d1: number, r0: number, r1: number): Scale {
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** About `count` round tick values covering [min, max] (1, 2 or 5 × 10^k steps). */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** The domain padded to round ticks. */
function niceDomain(values: number[], zero = false): [number, number] {
  let lo = Math.min(...values, ...(zero ? [0] : []));
  let hi = Math.max(...values, ...(zero ? [0] : []));
  if (lo === hi) [lo, hi] = lo === 0 ? [0, 1] : [lo - Math.abs(lo) * 0.1, hi + Math.abs(hi) * 0.1];
  const t = niceTicks(lo, hi);
  const step = t.length > 1 ? t[1] - t[0] : 0;
  return [Math.min(lo, t[0]), Math.max(hi, t[t.length - 1] + (t[t.length - 1] < hi ? step : 0))];
}

function svgOpen(id: string, h: number, label: string, extra = ''): string {
  return `<svg class="chart" data-chart="${esc(id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${esc(label)}"${extra}>`;
}

function axes(x: Scale, y: Scale, xTicks: number[], yTicks: number[], h: number, xLabel: string, yLabel: string): string {
  const y0 = h - M.bottom;
  const parts = [`<g class="axis">`];
  for (const t of yTicks) parts.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${esc(fmtNum(t))}</text>`);
  for (const t of xTicks) parts.push(`<text x="${x(t).toFixed(1)}" y="${y0 + 16}" text-anchor="middle">${esc(fmtNum(t))}</text>`);
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y0}" y2="${y0}"/><line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${y0}"/>`);
  parts.push(`<text class="label" x="${(M.left + W - M.right) / 2}" y="${h - 6}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(`<text class="label" transform="translate(14 ${(M.top + y0) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text></g>`);
  return parts.join('');
}

export interface Series {
  name: string;
  points: [number, number][];
}

/** Lines over a shared x axis (training steps); each series is one <path> with data-points = its point count. */
export function lineChart(o: { id: string; series: Series[]; xLabel: string; yLabel: string; height?: number }): string {
  const h = o.height ?? 260;
  const pts = o.series.flatMap((s) => s.points).filter(([a, b]) => isNum(a) && isNum(b));
  if (!pts.length) return '';
  const [x0, x1] = niceDomain(pts.map((p) => p[0]));
  const [y0, y1] = niceDomain(pts.map((p) => p[1]));
  const x = linear(x0, x1, M.left, W - M.right);
  const y = linear(y0, y1, h - M.bottom, M.top);
  const lines = o.series.map((s, i) => {
    const p = s.points.filter(([a, b]) => isNum(a) && isNum(b));
    const d = p.map(([a, b], j) => `${j ? 'L' : 'M'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('');
    const dot = p.length === 1 ? `<circle class="s${i % 6}" cx="${x(p[0][0]).toFixed(1)}" cy="${y(p[0][1]).toFixed(1)}" r="3"/>` : '';
    return `<path class="series s${i % 6}" data-series="${esc(s.name)}" data-points="${p.length}" d="${d}"/>${dot}`;
  });
  return `${svgOpen(o.id, h, `${o.yLabel} by ${o.xLabel}`)}${axes(x, y, niceTicks(x0, x1, 6), niceTicks(y0, y1), h, o.xLabel, o.yLabel)}${lines.join('')}</svg>${legend(o.series.map((s) => s.name))}`;
}

function legend(names: string[]): string {
  if (names.length < 2) return '';
  return `<div class="legend">${names.map((n, i) => `<span><i class="s${i % 6}"></i>${esc(n)}</span>`).join('')}</div>`;
}

export interface Bar {
  label: string;
  value: number;
  /** Shown after the value, e.g. "−12 (filter)". */
  note?: string;
  className?: string;
}

/** Horizontal bars from zero, one row per bar (the funnel, tokens per document). */
export function barChart(o: { id: string; bars: Bar[]; valueLabel: string }): string {
  const bars = o.bars.filter((b) => isNum(b.value));
  if (!bars.length) return '';
  const row = 26;
  const left = labelWidth(bars.map((b) => b.label));
  const h = M.top + bars.length * row + 24;
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const x = linear(0, max, left, W - 170);
  const marks = bars.map((b, i) => {
    const top = M.top + i * row;
    const w = Math.max(0, x(b.value) - left);
    return (
      `<text x="${left - 8}" y="${top + 16}" text-anchor="end">${esc(b.label)}</text>` +
      `<rect class="bar ${esc(b.className ?? '')}" x="${left}" y="${top + 3}" width="${w.toFixed(1)}" height="${row - 8}" data-label="${esc(b.label)}" data-value="${b.value}"/>` +
      `<text class="value" x="${(left + w + 6).toFixed(1)}" y="${top + 16}">${esc(fmtNum(b.value))}${b.note ? ` ${esc(b.note)}` : ''}</text>`
    );
  });
  return `${svgOpen(o.id, h, o.valueLabel)}<g class="axis"><line x1="${left}" x2="${left}" y1="${M.top}" y2="${h - 24}"/><text class="label" x="${left}" y="${h - 6}">${esc(o.valueLabel)}</text></g>${marks.join('')}</svg>`;
}

/** Vertical bars in groups (a set per group, a model per bar): base vs adapted. */
export function groupedBarChart(o: { id: string; groups: { label: string; bars: { name: string; value: number }[] }[]; yLabel: string }): string {
  const groups = o.groups.map((g) => ({ ...g, bars: g.bars.filter((b) => isNum(b.value)) })).filter((g) => g.bars.length);
  if (!groups.length) return '';
  const h = 240;
  const names = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const [, y1] = niceDomain(groups.flatMap((g) => g.bars.map((b) => b.value)), true);
  const y = linear(0, y1, h - M.bottom, M.top);
  const gw = (W - M.left - M.right) / groups.length;
  const bw = Math.min(48, (gw * 0.7) / names.length);
  const marks = groups.map((g, gi) => {
    const gx = M.left + gi * gw + (gw - bw * names.length) / 2;
    const rects = g.bars.map((b) => {
      const i = names.indexOf(b.name);
      const top = y(Math.max(0, b.value));
      return `<rect class="bar s${i % 6}" x="${(gx + i * bw).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw - 4).toFixed(1)}" height="${(h - M.bottom - top).toFixed(1)}" data-label="${esc(`${g.label}/${b.name}`)}" data-value="${b.value}"><title>${esc(`${g.label} ${b.name}: ${fmtNum(b.value)}`)}</title></rect>`;
    });
    return rects.join('') + `<text x="${(M.left + gi * gw + gw / 2).toFixed(1)}" y="${h - M.bottom + 16}" text-anchor="middle">${esc(g.label)}</text>`;
  });
  const ticks = niceTicks(0, y1)
    .map((t) => `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"/><text x="${M.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${esc(fmtNum(t))}</text>`)
    .join('');
  const axis = `<g class="axis">${ticks}<line x1="${M.left}" x2="${W - M.right}" y1="${h - M.bottom}" y2="${h - M.bottom}"/><text class="label" transform="translate(14 ${(M.top + h - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(o.yLabel)}</text></g>`;
  return `${svgOpen(o.id, h, o.yLabel)}${axis}${marks.join('')}</svg>${legend(names)}`;
}

/** Per row (a model), one dot per seed, the mean as a tick and mean ± std as a whisker: the seed spread. */
export function stripChart(o: { id: string; rows: { label: string; values: number[]; mean?: number; std?: number }[]; xLabel: string }): string {
  const rows = o.rows.filter((r) => r.values.some(isNum) || isNum(r.mean));
  if (!rows.length) return '';
  const row = 34;
  const left = labelWidth(rows.map((r) => r.label));
  const h = M.top + rows.length * row + M.bottom;
  const all = rows.flatMap((r) => [...r.values, ...(isNum(r.mean) && isNum(r.std) ? [r.mean - r.std, r.mean + r.std] : []), ...(isNum(r.mean) ? [r.mean] : [])]).filter(isNum);
  const [x0, x1] = niceDomain(all);
  const x = linear(x0, x1, left, W - M.right);
  const marks = rows.map((r, i) => {
    const cy = M.top + i * row + row / 2;
    const dots = r.values.filter(isNum).map((v) => `<circle class="seed s${i % 6}" cx="${x(v).toFixed(1)}" cy="${cy}" r="4" data-value="${v}"><title>${esc(fmtNum(v))}</title></circle>`);
    const whisker = isNum(r.mean) && isNum(r.std) ? `<line class="whisker" x1="${x(r.mean - r.std).toFixed(1)}" x2="${x(r.mean + r.std).toFixed(1)}" y1="${cy}" y2="${cy}"/>` : '';
    const mean = isNum(r.mean) ? `<line class="mean" x1="${x(r.mean).toFixed(1)}" x2="${x(r.mean).toFixed(1)}" y1="${cy - 10}" y2="${cy + 10}" data-value="${r.mean}"/>` : '';
    return `<text x="${left - 8}" y="${cy + 4}" text-anchor="end">${esc(r.label)}</text>${whisker}${mean}${dots.join('')}`;
  });
  const ticks = niceTicks(x0, x1, 6).map((t) => `<text x="${x(t).toFixed(1)}" y="${h - M.bottom + 16}" text-anchor="middle">${esc(fmtNum(t))}</text>`).join('');
  const axis = `<g class="axis">${ticks}<line x1="${left}" x2="${W - M.right}" y1="${h - M.bottom}" y2="${h - M.bottom}"/><text class="label" x="${(left + W - M.right) / 2}" y="${h - 6}" text-anchor="middle">${esc(o.xLabel)}</text></g>`;
  return `${svgOpen(o.id, h, o.xLabel)}${axis}${marks.join('')}</svg>`;
}

/**
 * Per row (an arm), its difference to a reference as a dot with its interval as a whisker, and a line at 0: an
 * interval that crosses the line is a difference noise could explain. Marks carry data-value (the difference)
 * and data-lower / data-upper.
 */
export function intervalChart(o: { id: string; rows: { label: string; difference: number; lower: number; upper: number }[]; xLabel: string }): string {
  const rows = o.rows.filter((r) => isNum(r.difference) && isNum(r.lower) && isNum(r.upper));
  if (!rows.length) return '';
  const row = 30;
  const left = labelWidth(rows.map((r) => r.label));
  const h = M.top + rows.length * row + M.bottom;
  const [x0, x1] = niceDomain(rows.flatMap((r) => [r.lower, r.upper, r.difference]), true);
  const x = linear(x0, x1, left, W - M.right);
  const zero = `<line class="grid" x1="${x(0).toFixed(1)}" x2="${x(0).toFixed(1)}" y1="${M.top}" y2="${h - M.bottom}"/>`;
  const marks = rows.map((r, i) => {
    const cy = M.top + i * row + row / 2;
    const cls = r.lower > 0 ? 'better' : r.upper < 0 ? 'worse' : 'neutral';
    return (
      `<text x="${left - 8}" y="${cy + 4}" text-anchor="end">${esc(r.label)}</text>` +
      `<line class="whisker ${cls}" x1="${x(r.lower).toFixed(1)}" x2="${x(r.upper).toFixed(1)}" y1="${cy}" y2="${cy}" data-lower="${r.lower}" data-upper="${r.upper}"/>` +
      `<circle class="seed ${cls}" cx="${x(r.difference).toFixed(1)}" cy="${cy}" r="4" data-value="${r.difference}"><title>${esc(`${fmtNum(r.difference)} [${fmtNum(r.lower)}, ${fmtNum(r.upper)}]`)}</title></circle>`
    );
  });
  const ticks = niceTicks(x0, x1, 6).map((t) => `<text x="${x(t).toFixed(1)}" y="${h - M.bottom + 16}" text-anchor="middle">${esc(fmtNum(t))}</text>`).join('');
  const axis = `<g class="axis">${ticks}<line x1="${left}" x2="${W - M.right}" y1="${h - M.bottom}" y2="${h - M.bottom}"/><text class="label" x="${(left + W - M.right) / 2}" y="${h - 6}" text-anchor="middle">${esc(o.xLabel)}</text></g>`;
  return `${svgOpen(o.id, h, o.xLabel)}${axis}${zero}${marks.join('')}</svg>`;
}

/** Stage spans on a time axis from the run's start (seconds). */
export function timeline(o: { id: string; rows: { label: string; start: number; end: number; state: string }[] }): string {
  const rows = o.rows.filter((r) => isNum(r.start) && isNum(r.end));
  if (!rows.length) return '';
  const row = 22;
  const left = labelWidth(rows.map((r) => r.label));
  const h = M.top + rows.length * row + M.bottom;
  const [, x1] = niceDomain(rows.map((r) => r.end), true);
  const x = linear(0, x1, left, W - M.right);
  const marks = rows.map((r, i) => {
    const top = M.top + i * row;
    const w = Math.max(2, x(r.end) - x(r.start));
    return `<text x="${left - 8}" y="${top + 15}" text-anchor="end">${esc(r.label)}</text><rect class="span state-${esc(r.state)}" x="${x(r.start).toFixed(1)}" y="${top + 3}" width="${w.toFixed(1)}" height="${row - 6}" data-label="${esc(r.label)}" data-value="${r.end - r.start}"><title>${esc(`${r.label}: ${fmtNum(r.end - r.start)} s`)}</title></rect>`;
  });
  const ticks = niceTicks(0, x1, 6).map((t) => `<line class="grid" x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${M.top}" y2="${h - M.bottom}"/><text x="${x(t).toFixed(1)}" y="${h - M.bottom + 16}" text-anchor="middle">${esc(fmtNum(t))}</text>`).join('');
  const axis = `<g class="axis">${ticks}<text class="label" x="${(left + W - M.right) / 2}" y="${h - 6}" text-anchor="middle">seconds since the run started</text></g>`;
  return `${svgOpen(o.id, h, 'stage timeline')}${axis}${marks.join('')}</svg>`;
}

export interface DagNode {
  name: string;
  kind: string;
  state: string;
  needs: string[];
  note?: string;
}

/** The DAG left to right, one column per level (longest chain of needs), edges as curves. */
export function dagDiagram(o: { id: string; nodes: DagNode[]; levels: string[][] }): string {
  const nw = 150;
  const nh = 46;
  const gapX = 40;
  const gapY = 14;
  const width = Math.max(W, o.levels.length * (nw + gapX) + 20);
  const tallest = Math.max(1, ...o.levels.map((l) => l.length));
  const h = tallest * (nh + gapY) + 20;
  const pos = new Map<string, { x: number; y: number }>();
  o.levels.forEach((level, li) => {
    const offset = ((tallest - level.length) * (nh + gapY)) / 2;
    level.forEach((name, i) => pos.set(name, { x: 10 + li * (nw + gapX), y: 10 + offset + i * (nh + gapY) }));
  });
  const byName = new Map(o.nodes.map((n) => [n.name, n]));
  const edges = o.nodes.flatMap((n) =>
    n.needs.flatMap((need) => {
      const a = pos.get(need);
      const b = pos.get(n.name);
      if (!a || !b) return [];
      const x1 = a.x + nw;
      const y1 = a.y + nh / 2;
      const x2 = b.x;
      const y2 = b.y + nh / 2;
      const mx = (x1 + x2) / 2;
      return [`<path class="edge" data-from="${esc(need)}" data-to="${esc(n.name)}" d="M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}"/>`];
    }),
  );
  const nodes = [...pos].map(([name, p]) => {
    const n = byName.get(name);
    const sub = n ? `${n.kind} · ${n.state}${n.note ? ` · ${n.note}` : ''}` : '';
    return `<g class="node state-${esc(n?.state ?? 'pending')}" data-stage="${esc(name)}" data-state="${esc(n?.state ?? '')}"><rect x="${p.x}" y="${p.y}" width="${nw}" height="${nh}" rx="6"/><text x="${p.x + 8}" y="${p.y + 19}" class="name">${esc(name)}</text><text x="${p.x + 8}" y="${p.y + 36}" class="sub">${esc(sub)}</text></g>`;
  });
  return `<svg class="chart dag" data-chart="${esc(o.id)}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${h}" width="${width}" height="${h}" role="img" aria-label="pipeline DAG">${edges.join('')}${nodes.join('')}</svg>`;
}
