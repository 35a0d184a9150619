/**
 * The local file paths in a stage's params, as its kind's `localPaths` lists them: found in one place, so that
 * resolving them against the pipeline file's folder and checking that they exist see the same values.
 */
import path from 'node:path';
import { stageKinds, type StageKind, type StageKindName } from './stages';

/** Where a local path sits below the stage's `with` (`['data', 'train', 0]`) and what the spec says there. */
export interface LocalPathRef {
  at: (string | number)[];
  value: string;
}

/** A copy of params in which every local path is replaced by `fn(ref)`; other values are shared, not copied. */
function mapLocalPaths(kind: StageKindName, params: Record<string, unknown>, fn: (ref: LocalPathRef) => string): Record<string, unknown> {
  const spec = (stageKinds[kind] as StageKind).localPaths;
  if (!spec) return params;
  const isLocal = (v: unknown): v is string =>
    typeof v === 'string' && !v.startsWith('s3://') && !v.startsWith('promoted:') && !spec.keywords?.includes(v);
  const out = { ...params };
  // A dotted name (`backTranslation.forward`) reaches into an object param, copied on the way down; a `*` goes
  // into every entry of a record (`tasks.*.data.train`: each named task's files).
  const visit = (node: Record<string, unknown>, keys: string[], at: string[]): void => {
    const [key, ...rest] = keys;
    for (const k of key === '*' ? Object.keys(node) : [key]) {
      const v = node[k];
      if (rest.length) {
        if (isRecord(v)) visit((node[k] = { ...v }), rest, [...at, k]);
      } else if (Array.isArray(v)) node[k] = v.map((x: unknown, i) => (isLocal(x) ? fn({ at: [...at, k, i], value: x }) : x));
      else if (isLocal(v)) node[k] = fn({ at: [...at, k], value: v });
    }
  };
  for (const name of spec.params) visit(out, name.split('.'), []);
  return out;
}

/** Relative local paths made absolute against `baseDir` (the pipeline file's folder). */
export function resolveLocalPaths(kind: StageKindName, params: Record<string, unknown>, baseDir: string): Record<string, unknown> {
  return mapLocalPaths(kind, params, (r) => path.resolve(baseDir, r.value));
}

export function localPathRefs(kind: StageKindName, params: Record<string, unknown>): LocalPathRef[] {
  const refs: LocalPathRef[] = [];
  mapLocalPaths(kind, params, (r) => {
    refs.push(r);
    return r.value;
  });
  return refs;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
