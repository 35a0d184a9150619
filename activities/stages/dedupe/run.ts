/**
 * The `dedupe` stage, always a fan-out. Exact method: a document is a duplicate when its normalized text hashes
 * like an earlier one ("earlier" is input order, then record order, so the kept copy is the same on every
 * rerun), decided per hash partition (./exact.ts). Near method: exact first, then MinHash LSH, as the
 * phased fan-out in ./near/. `run` is the same phases inline, in one activity.
 */
import type { StageParams } from '../../../schemas/stages';
import { exactDedupeFanout } from './exact';
import { runPhasesInline } from '../../inline-phases';
import { nearDedupeFanout } from './near/fanout';
import type { StageContext, StageFanout, StageImpl } from '../types';

export { normalizeForDedupe, type DedupeNormalize } from './near/exact-key';

type Params = StageParams<'dedupe'>;

const phasesFor = (p: Params): StageFanout<Params> => (p.method === 'near' ? nearDedupeFanout : exactDedupeFanout);

export const dedupeStage: StageImpl<Params> = {
  run: (ctx: StageContext<Params>) => runPhasesInline(ctx, phasesFor(ctx.params)),
  fanout: phasesFor,
};
