/**
 * What a stage reads, checked and counted in one place: the runtime checks every attempt's inputs against its
 * kind's `accepts` (the compiler checked the plan; a stage run from a cache hit or a test sees the same rule),
 * and stages count the records of document shards through `documentRecords`.
 */
import type { ArtifactType } from '../schemas/common';
import type { ArtifactFileT, ManifestT } from '../schemas/manifest';
import { documentShards } from './documents';
import { InputError } from './errors';
import type { StageInputArtifact } from './stages/types';

/**
 * Throws an InputError naming the first input whose artifact type `reads` (a stage kind) does not accept.
 * `none` artifacts only order stages, as in the compiler; '*' or [] (a source) accepts anything.
 */
export function checkInputKinds(reads: string, inputs: readonly StageInputArtifact[], accepted: readonly (ArtifactType | '*')[]): void {
  if (!accepted.length || accepted.includes('*')) return;
  for (const input of inputs) {
    const kind = input.manifest.kind as ArtifactType;
    if (kind !== 'none' && !accepted.includes(kind)) throw new InputError(`${reads} reads ${accepted.join(' or ')}, but input ${input.stage} is ${kind}`);
  }
}

/** The record count the files' manifest entries state (0 where unknown). */
export function recordsIn(files: readonly Pick<ArtifactFileT, 'records'>[]): number {
  return files.reduce((n, f) => n + (f.records ?? 0), 0);
}

/** Records in a manifest's document shards (dropped-* side shards excluded). */
export function documentRecords(manifest: ManifestT): number {
  return recordsIn(documentShards(manifest));
}

/** The document shards a stage read (records and bytes as stored): what its throughput is counted in; none without. */
export function documentInput(inputs: readonly { manifest: ManifestT }[]): { records: number; bytes: number } | undefined {
  const shards = inputs.filter((i) => i.manifest.kind === 'documents').flatMap((i) => documentShards(i.manifest));
  if (!shards.length) return undefined;
  return { records: recordsIn(shards), bytes: shards.reduce((n, f) => n + (f.bytes ?? 0), 0) };
}
