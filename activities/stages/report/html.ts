/** Escaping and number formatting for the report: every piece of text goes through `esc` before it is HTML. */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text or attribute value → HTML-safe text. */
export function esc(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

export function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** 12,345 for integers; 4 significant digits otherwise (0.0001234 → 0.0001234, 3.14159 → 3.142). */
export function fmtNum(v: unknown): string {
  if (!isNum(v)) return v === null || v === undefined ? '—' : String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  if (abs >= 1000) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(4)).toString();
}

/** A signed difference: +0.12, −3. */
export function fmtDelta(v: unknown): string {
  if (!isNum(v)) return '—';
  return (v > 0 ? '+' : v < 0 ? '−' : '±') + fmtNum(Math.abs(v));
}

export function fmtPct(v: unknown): string {
  return isNum(v) ? `${(v * 100).toFixed(1)}%` : '—';
}

/** 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function fmtDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** A number cell that carries its exact value, so tools (and the tests) need not parse the formatted text. */
export function numCell(key: string, v: unknown, text = fmtNum(v)): string {
  return `<td class="num" data-key="${esc(key)}"${isNum(v) ? ` data-value="${v}"` : ''}>${esc(text)}</td>`;
}

/** A key/value table of plain values (nested objects are shown as compact JSON). */
export function kvTable(rows: [string, unknown][], keyPrefix: string): string {
  const body = rows
    .map(([k, v]) =>
      isNum(v) ? `<tr><th>${esc(k)}</th>${numCell(`${keyPrefix}.${k}`, v)}</tr>` : `<tr><th>${esc(k)}</th><td>${esc(typeof v === 'object' && v !== null ? JSON.stringify(v) : fmtNum(v))}</td></tr>`,
    )
    .join('');
  return `<table class="kv">${body}</table>`;
}

export function notInPipeline(what: string): string {
  return `<p class="absent">${esc(what)}: not in this pipeline.</p>`;
}
