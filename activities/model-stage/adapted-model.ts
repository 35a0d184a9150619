/**
 * The stages that compare an adapted model with its base (`perplexity`, `evaluate`) take the adapted model as
 * their one model input and the base from `baseModel` (a directory, s3:// prefix or promoted:<name>) or, by
 * default, from what the adapted model's pretrain stage recorded.
 */
import type { ManifestT } from '../../schemas/manifest';
import { ConfigError } from '../errors';
import type { PretrainRecord } from '../stages/pretrain/run';
import { resolveModelRef, type ModelSource } from './staging';
import type { StageContext, StageInputArtifact } from '../stages/types';

export interface AdaptedAndBase {
  adapted: StageInputArtifact;
  record: Partial<PretrainRecord>;
  base: ModelSource;
}

/** `others`: needs-stages whose models play another role (an evaluate ablation's control), not the adapted model. */
export async function adaptedAndBase(ctx: StageContext<{ baseModel?: string }>, stage: string, others: string[] = []): Promise<AdaptedAndBase> {
  const models = ctx.inputs.filter((i) => i.manifest.kind === 'model' && !others.includes(i.stage));
  if (models.length !== 1) {
    throw new ConfigError(`${stage} needs exactly one model input (the adapted model), got ${models.length ? models.map((m) => m.stage).join(', ') : 'none'}`);
  }
  const adapted = models[0];
  const record = recordOf(adapted.manifest);
  const base = ctx.params.baseModel ? await resolveModelRef(ctx.store, ctx.params.baseModel, undefined) : record.baseModel;
  if (!base) throw new ConfigError(`baseModel: required, since the model of ${adapted.stage} records no base model`);
  return { adapted, record, base };
}

/** What the adapted model's pretrain stage recorded (absent fields when the model came from elsewhere). */
export function recordOf(m: ManifestT): Partial<PretrainRecord> {
  const r = m.metrics as Partial<PretrainRecord>;
  const base = r.baseModel as unknown;
  const validBase = typeof base === 'object' && base !== null && ('path' in base || 's3' in base || 'artifact' in base);
  return {
    baseModel: validBase ? (base as ModelSource) : undefined,
    objective: r.objective === 'clm' || r.objective === 'mlm' ? r.objective : undefined,
    seqLen: typeof r.seqLen === 'number' ? r.seqLen : undefined,
  };
}
