/**
 * Metric paths `<stage>.<json path>`: a number in a needs-stage's metrics. The manifest's metrics are looked at
 * first (perplexity and evaluate put their numbers there), then the artifact's JSON files, so a metrics stage that
 * only writes a file works too. Metric names with dots in them (the trainer's `train.finalLoss`, `eval.domain.loss`)
 * are keys of their own: `pretrain.train.finalLoss` finds the key `train.finalLoss`; old names (`pretrain.finalLoss`)
 * read the current ones and the other way round (model-stage/metric-names.ts).
 */
import { currentMetricName, withCurrentMetricNames } from '../../model-stage/metric-names';
import type { ArtifactStore } from '../../store';
import { ConfigError, InputError } from '../../errors';
import type { StageInputArtifact } from '../types';

export interface MetricPathParts {
  stage: string;
  path: string[];
}

export function splitMetricPath(p: string): MetricPathParts {
  const [stage, ...rest] = p.split('.');
  return { stage, path: rest };
}

/**
 * The value at a path in a JSON value: a number, or why there is none. A key may span several segments of the
 * path (`train.finalLoss` in `{"train.finalLoss": 6.9}`); a key of one segment is taken first.
 */
export function lookup(value: unknown, path: readonly string[]): { value: number } | { missing: string } {
  let node = value;
  for (let i = 0; i < path.length; ) {
    const obj = node !== null && typeof node === 'object' ? (node as Record<string, unknown>) : undefined;
    let end = i + 1;
    while (obj && end <= path.length && !Object.hasOwn(obj, path.slice(i, end).join('.'))) end++;
    if (!obj || end > path.length) {
      const keys = obj ? Object.keys(obj).slice(0, 12).join(', ') : typeof node;
      return { missing: `no "${path[i]}" at ${path.slice(0, i).join('.') || 'the top'} (there: ${keys || 'nothing'})` };
    }
    node = obj[path.slice(i, end).join('.')];
    i = end;
  }
  if (typeof node !== 'number' || !Number.isFinite(node)) return { missing: `${path.join('.')} is ${JSON.stringify(node)?.slice(0, 60)}, not a number` };
  return { value: node };
}

/** Reads a metric of this stage's inputs. `param` names the parameter in errors. */
export async function readMetric(store: ArtifactStore, inputs: readonly StageInputArtifact[], metric: string, param: string): Promise<number> {
  const found = await findMetric(store, inputs, metric, param);
  if ('value' in found) return found.value;
  throw new InputError(`${param}: ${metric} not found: ${found.missing}`);
}

/** Like readMetric, but a metric the input does not have is undefined (a missing stage is still a ConfigError). */
export async function findMetric(
  store: ArtifactStore,
  inputs: readonly StageInputArtifact[],
  metric: string,
  param: string,
): Promise<{ value: number } | { missing: string }> {
  const { stage, path } = splitMetricPath(metric);
  const input = inputs.find((i) => i.stage === stage);
  if (!input) throw new ConfigError(`${param}: "${stage}" is not a needs-stage of this stage (inputs: ${inputs.map((i) => i.stage).join(', ') || 'none'})`);
  const inManifest = lookup(withCurrentMetricNames(input.manifest.metrics), path.length === 1 ? currentMetricName(path[0]).split('.') : path);
  if ('value' in inManifest) return inManifest;
  for (const f of input.manifest.files.filter((x) => x.name.endsWith('.json'))) {
    const json = await store.getJson<unknown>(f.key);
    const inFile = lookup(json, path);
    if ('value' in inFile) return inFile;
  }
  return { missing: `${inManifest.missing} in the metrics of ${stage}` };
}

/**
 * The base-model counterpart of a candidate metric, when a metric names one: a path segment `adapted` becomes
 * `base` (perplexity's models.adapted.domain.loss, evaluate's models.adapted.mean.macroF1); a `delta.*` path is
 * already relative to the base model, whose own delta is 0.
 */
export function baselinePathOf(metric: string): { path: string } | { zero: true } | undefined {
  const { stage, path } = splitMetricPath(metric);
  if (path[0] === 'delta') return { zero: true };
  const i = path.indexOf('adapted');
  if (i < 0) return undefined;
  return { path: [stage, ...path.slice(0, i), 'base', ...path.slice(i + 1)].join('.') };
}
