/**
 * Scratch objects of a fan-out (signatures, key partitions, counts, teacher models): one store prefix per stage
 * run, removed by the reduce (ArtifactStore.removePrefix). Task results stay small JSON; these carry the bulk.
 */
import { createHash } from 'node:crypto';
import type { StageContext } from './stages/types';

/**
 * The prefix for one stage run's scratch objects (`name`: the kind or method): a hash of where it runs and what
 * it reads and how, so a retry of the same run finds its finished tasks' objects, and a rerun with other inputs
 * or params does not.
 */
export function scratchPrefix(ctx: StageContext<unknown>, name: string): string {
  const identity = JSON.stringify([ctx.pipeline, ctx.run, ctx.stage, ctx.inputs.map((i) => i.manifest.digest), ctx.params]);
  return `ledger/${name}/${createHash('sha256').update(identity).digest('hex').slice(0, 32)}/`;
}
