/**
 * What a report is rendered from: the run (DAG + states), each finished stage's manifest, and the few files a
 * section needs beyond the manifests (a pretrain model's metrics.json with its loss curve). The report stage and
 * `dapt report --render` both gather through here, so both pages show the same things.
 */
import type { ManifestT } from '../../../schemas/manifest';
import type { RunView } from '../../../schemas/run';
import { mapLimit } from '../../concurrency';
import type { ArtifactStore } from '../../store';

export interface TrainingLog {
  /** [step, mean loss over the logging interval] */
  lossCurve: [number, number][];
  finalWeights?: string;
  microBatch?: number;
}

export interface ReportData {
  title: string;
  view: RunView;
  /** stage → its output manifest, for every stage that has one so far */
  manifests: Record<string, ManifestT>;
  /** pretrain-like stage → what its trainer logged */
  training: Record<string, TrainingLog>;
  generatedAt: string;
  /** The report stage rendering this page (it cannot see itself finish), or undefined for a CLI render. */
  renderedBy?: string;
  maxCurvePoints: number;
  /** Things that could not be read (a deleted artifact, a malformed file): shown, never fatal. */
  problems: string[];
}

export interface GatherOptions {
  title?: string;
  renderedBy?: string;
  maxCurvePoints?: number;
  /** Manifests already at hand (a stage's inputs), by digest. */
  known?: ManifestT[];
  now?: Date;
}

const TRAINER_LOG = 'metrics.json';

export async function gatherReport(store: ArtifactStore, view: RunView, opts: GatherOptions = {}): Promise<ReportData> {
  const known = new Map((opts.known ?? []).map((m) => [m.digest, m]));
  const problems: string[] = [];
  const manifests: Record<string, ManifestT> = {};
  const withDigest = Object.entries(view.stages).filter(([, s]) => s.digest);
  await mapLimit(withDigest.length, 8, async (i) => {
    const [name, s] = withDigest[i];
    const m = known.get(s.digest!) ?? (await store.readManifest(s.digest!));
    if (m) manifests[name] = m;
    else problems.push(`${name}: manifest ${s.digest} is missing from the store`);
  });

  const training: Record<string, TrainingLog> = {};
  for (const [name, m] of Object.entries(manifests)) {
    if (m.kind !== 'model') continue;
    const file = m.files.find((f) => f.name === TRAINER_LOG);
    if (!file) continue;
    try {
      const log = await store.getJson<Record<string, unknown>>(file.key);
      const curve = Array.isArray(log?.lossCurve) ? log.lossCurve.filter(isPoint) : [];
      training[name] = {
        lossCurve: curve,
        ...(typeof log?.finalWeights === 'string' ? { finalWeights: log.finalWeights } : {}),
        ...(typeof log?.microBatch === 'number' ? { microBatch: log.microBatch } : {}),
      };
    } catch (e) {
      problems.push(`${name}: ${TRAINER_LOG} unreadable: ${(e as Error).message}`);
    }
  }

  return {
    title: opts.title ?? `${view.pipeline} — run ${view.runId}`,
    view,
    manifests,
    training,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    ...(opts.renderedBy ? { renderedBy: opts.renderedBy } : {}),
    maxCurvePoints: opts.maxCurvePoints ?? 1000,
    problems,
  };
}

function isPoint(p: unknown): p is [number, number] {
  return Array.isArray(p) && p.length >= 2 && typeof p[0] === 'number' && typeof p[1] === 'number' && Number.isFinite(p[1]);
}

/** Evenly thinned to at most `max` points, the first and last kept. */
export function thin<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(points[Math.round((i * (points.length - 1)) / (max - 1))]);
  return out;
}

/** Stages of a kind, in DAG order (levels of the view's needs). */
export function stagesOfKind(data: ReportData, ...kinds: string[]): string[] {
  return orderedStages(data.view).filter((n) => kinds.includes(data.view.stages[n].kind));
}

/** Stage names by level (longest chain of needs), then by name. */
export function levelsOfView(view: RunView): string[][] {
  const depth = new Map<string, number>();
  const visit = (n: string, seen: Set<string>): number => {
    if (depth.has(n)) return depth.get(n)!;
    if (seen.has(n)) return 0;
    seen.add(n);
    const needs = view.stages[n]?.needs.filter((x) => x in view.stages) ?? [];
    const d = needs.length ? 1 + Math.max(...needs.map((x) => visit(x, seen))) : 0;
    depth.set(n, d);
    return d;
  };
  const levels: string[][] = [];
  for (const n of Object.keys(view.stages).sort()) (levels[visit(n, new Set())] ??= []).push(n);
  return levels.map((l) => l ?? []);
}

export function orderedStages(view: RunView): string[] {
  return levelsOfView(view).flat();
}
