/**
 * The promoted-model registry in the artifact store: `models/<name>/latest.json` names the model artifact that
 * is the current one of a model line, with the numbers it won on; `models/<name>/history/` keeps every
 * promotion. Pretrain's `baseModel: promoted:<name>` reads the same pointer.
 */
import type { ArtifactFileT } from '../../schemas/manifest';
import type { ArtifactStore } from '../store';
import { keys } from '../store';

export const PROMOTED_SCHEMA = 'dapt-promoted-model/v1';
export const PROMOTED_PREFIX = 'promoted:';

export interface PromotedModel {
  schema: typeof PROMOTED_SCHEMA;
  name: string;
  /** The model artifact: its manifest digest (the identity) and its model files (held-out data left out). */
  model: { digest: string; stage: string; schema: string; files: ArtifactFileT[] };
  metric: { path: string; value: number; better: 'higher' | 'lower' };
  /** Every metrics input's numbers by stage, so a later promotion can compare on any of them. */
  metrics: Record<string, Record<string, unknown>>;
  pipeline: string;
  run: string;
  stage: string;
  promotedAt: string;
  approver?: string;
  /** The model this one replaced. */
  previous?: string;
}

export async function readPromoted(store: ArtifactStore, name: string): Promise<PromotedModel | undefined> {
  const p = await store.getJson<PromotedModel>(keys.promotedLatest(name));
  if (p && p.schema !== PROMOTED_SCHEMA) throw new Error(`${keys.promotedLatest(name)}: unknown schema ${String(p.schema)} (expected ${PROMOTED_SCHEMA})`);
  return p;
}

/** History first: a crash between the two writes leaves an extra history entry, never a pointer without one. */
export async function writePromoted(store: ArtifactStore, p: PromotedModel): Promise<string> {
  const stamp = `${p.promotedAt.replace(/[:.]/g, '-')}-${p.run}`;
  await store.putJson(keys.promotedHistory(p.name, stamp), p);
  await store.putJson(keys.promotedLatest(p.name), p);
  return keys.promotedHistory(p.name, stamp);
}

/** `promoted:<name>` → name; undefined for other model references. */
export function promotedName(ref: string | undefined): string | undefined {
  if (!ref?.startsWith(PROMOTED_PREFIX)) return undefined;
  return ref.slice(PROMOTED_PREFIX.length);
}
