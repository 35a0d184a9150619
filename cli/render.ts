/** Rendering runs for people: a status table, live progress bars on a TTY, plain change lines elsewhere. */
import cliProgress from 'cli-progress';
import type { Plan } from '../schemas/plan';
import type { StageState } from '../schemas/run';
import type { LiveRunStatus } from '../client/runs';

const ICON: Record<StageState['state'], string> = {
  pending: '·',
  running: '▶',
  waiting: '?',
  cached: '≡',
  succeeded: '✓',
  failed: '✗',
  parked: '‖',
  skipped: '↷',
  cancelled: '⊘',
};

export function levelsText(plan: Plan): string {
  const lines = plan.levels.map((lvl, i) =>
    `  level ${i}: ${lvl.map((n) => `${n} (${plan.stages[n].kind}${plan.stages[n].needs.length ? ` ← ${plan.stages[n].needs.join(', ')}` : ''})`).join('  ')}`,
  );
  return `${plan.name}: ${Object.keys(plan.stages).length} stages, ${plan.levels.length} levels, plan ${plan.hash.slice(0, 12)}\n${lines.join('\n')}`;
}

function duration(s: StageState): string {
  if (!s.startedAt) return '';
  const ms = (s.endedAt ? Date.parse(s.endedAt) : Date.now()) - Date.parse(s.startedAt);
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

/** A finished document stage's input per wall second of the stage: "4.8k docs/s, 8.1 MB/s". */
export function throughput(s: StageState): string {
  if (s.state !== 'succeeded' || !s.input || !s.startedAt || !s.endedAt) return '';
  const seconds = (Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000;
  if (!(seconds > 0)) return '';
  const docs = s.input.records / seconds;
  const docsText = docs >= 1000 ? `${(docs / 1000).toFixed(1)}k` : docs.toFixed(docs >= 10 ? 0 : 1);
  return `${docsText} docs/s, ${(s.input.bytes / 1e6 / seconds).toFixed(1)} MB/s`;
}

export function stageLine(name: string, s: StageState): string {
  const parts = [`${ICON[s.state]} ${name.padEnd(16)} ${s.state.padEnd(9)}`];
  if (s.attempt > 1) parts.push(`attempt ${s.attempt}`);
  if (s.fanout) parts.push(`tasks ${s.fanout.done}/${s.fanout.total}`);
  if (s.progress !== undefined) parts.push(`${Math.round(s.progress * 100)}%`);
  if (s.message) parts.push(s.message);
  const d = duration(s);
  if (d) parts.push(d);
  const rate = throughput(s);
  if (rate) parts.push(rate);
  if (s.digest) parts.push(`→ ${s.digest.slice(0, 12)}`);
  if (s.reason) parts.push(`(${s.reason})`);
  if (s.fallback) parts.push(`(fell back to queue ${s.fallback.to}: ${s.fallback.reason})`);
  if (s.nodes && s.state === 'running') parts.push(nodesLine(s.nodes));
  if (s.error) parts.push(`\n      ${s.error}`);
  return parts.join('  ');
}

/** Who of a multi-node stage has started: the nodes missing are the ones to look for (a queue without enough workers). */
export function nodesLine(n: NonNullable<StageState['nodes']>): string {
  const missing = Array.from({ length: n.count }, (_, r) => r).filter((r) => !n.arrived.includes(r));
  const where = n.address ? ` at ${n.address}` : '';
  const since = `${Math.round((Date.now() - Date.parse(n.since)) / 1000)}s`;
  return missing.length
    ? `\n      nodes ${n.arrived.length}/${n.count} started${where} (try ${n.attempt}); waiting ${since} for node ${missing.join(', ')}`
    : `(${n.count} nodes${where}, try ${n.attempt})`;
}

export function statusText(st: LiveRunStatus): string {
  const head = `${st.workflowId}  ${st.state}${st.execution !== 'RUNNING' ? ` (${st.execution})` : ''}  plan ${st.planHash.slice(0, 12)}`;
  return [head, ...Object.entries(st.stages).map(([n, s]) => `  ${stageLine(n, s)}`)].join('\n');
}

/** A watcher prints updates as statuses arrive; call `end()` once the run is over. */
export interface Watcher {
  update(st: LiveRunStatus): void;
  end(st: LiveRunStatus): void;
}

export function makeWatcher(tty = Boolean(process.stdout.isTTY)): Watcher {
  return tty ? barWatcher() : lineWatcher();
}

function lineWatcher(): Watcher {
  const seen = new Map<string, string>();
  const print = (st: LiveRunStatus) => {
    for (const [n, s] of Object.entries(st.stages)) {
      const key = `${s.state}|${s.attempt}|${s.fanout?.done ?? ''}|${s.error ?? ''}|${s.fallback?.to ?? ''}`;
      if (seen.get(n) !== key) {
        seen.set(n, key);
        console.log(stageLine(n, s));
      }
    }
  };
  return { update: print, end: print };
}

function barWatcher(): Watcher {
  const multi = new cliProgress.MultiBar(
    { format: '{icon} {stage} [{bar}] {percentage}% {state} {info}', hideCursor: true, clearOnComplete: false, barsize: 24 },
    cliProgress.Presets.shades_grey,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  const draw = (st: LiveRunStatus) => {
    for (const [n, s] of Object.entries(st.stages)) {
      const fraction = s.fanout ? s.fanout.done / Math.max(1, s.fanout.total) : (s.progress ?? (['succeeded', 'cached'].includes(s.state) ? 1 : 0));
      const payload = {
        icon: ICON[s.state],
        stage: n.padEnd(16),
        state: s.state.padEnd(9),
        info: [s.attempt > 1 ? `attempt ${s.attempt}` : '', s.fallback ? `on ${s.fallback.to} (fallback)` : '', s.message ?? '', s.error ? s.error.slice(0, 60) : ''].filter(Boolean).join(' '),
      };
      let bar = bars.get(n);
      if (!bar) bars.set(n, (bar = multi.create(100, 0, payload)));
      bar.update(Math.round(fraction * 100), payload);
    }
  };
  return {
    update: draw,
    end(st) {
      draw(st);
      multi.stop();
    },
  };
}
