/** The inputs both dedupe methods read, in the order that decides which copy of a duplicate survives. */
import type { StageParams } from '../../../schemas/stages';
import { ConfigError } from '../../errors';
import { documentInputs } from '../../shard-map';
import type { StageContext, StageInputArtifact } from '../types';

/** The `against` input first (its documents win every tie and are never output), then the others in order. */
export function referenceFirst(ctx: StageContext<StageParams<'dedupe'>>): StageInputArtifact[] {
  const { against } = ctx.params;
  const inputs = documentInputs(ctx, 'dedupe');
  if (against && !inputs.some((i) => i.stage === against)) throw new ConfigError(`against: "${against}" is not among this stage's needs`);
  return [...inputs.filter((i) => i.stage === against), ...inputs.filter((i) => i.stage !== against)];
}
