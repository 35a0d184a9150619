/**
 * The `seen` stage: every `documents` artifact that the latest promoted model of a line was trained on, and the
 * models it was refreshed from, back to the first one: from the model's manifest, its documents parents, then its
 * model parent or recorded base model (`baseModel: {artifact}`), and so on. The output references the same blobs
 * (nothing is copied), so it is as cheap as a manifest. Held-out and replayed documents of those trainings are
 * included: they were seen too.
 */
import type { ArtifactFileT, ManifestT } from '../../../schemas/manifest';
import { DOCUMENT_SCHEMA } from '../../../schemas/manifest';
import type { StageParams } from '../../../schemas/stages';
import { documentShards } from '../../documents';
import { documentRecords } from '../../stage-inputs';
import type { ArtifactStore } from '../../store';
import { readPromoted } from '../../model-stage/registry';
import type { StageImpl } from '../types';

type Params = StageParams<'seen'>;

export interface SeenLineage {
  models: string[];
  documents: { digest: string; stage: string; pipeline: string; run: string; records: number }[];
}

export const seenStage: StageImpl<Params> = {
  async run(ctx) {
    const latest = await readPromoted(ctx.store, ctx.params.line);
    if (!latest) {
      ctx.log(`seen: nothing promoted as "${ctx.params.line}" yet: no documents`);
      return { files: [], schema: DOCUMENT_SCHEMA, metrics: { line: ctx.params.line, promoted: null, models: 0, artifacts: 0, documents: 0 } };
    }
    const { lineage, manifests } = await trainingLineage(ctx.store, latest.model.digest, (m) => ctx.log(m));
    const files: ArtifactFileT[] = [];
    manifests.forEach((m, i) => {
      for (const f of documentShards(m)) files.push({ ...f, name: `${String(i).padStart(3, '0')}-${f.name}` });
    });
    const documents = lineage.documents.reduce((n, d) => n + d.records, 0);
    ctx.log(`seen: ${lineage.models.length} model(s) of "${ctx.params.line}" were trained on ${lineage.documents.length} documents artifact(s), ${documents} documents`);
    return {
      files,
      schema: DOCUMENT_SCHEMA,
      metrics: { line: ctx.params.line, promoted: latest.model.digest, models: lineage.models.length, artifacts: lineage.documents.length, documents, lineage },
    };
  },

  async fingerprint(params, env) {
    // The pointer is what the output depends on: a new promotion is a cache miss.
    if (!env) throw new Error('seen: fingerprint needs the store');
    return { promoted: (await readPromoted(env.store, params.line))?.model.digest ?? null };
  },
};

/** Walks from a model artifact through the models it was trained from, collecting the documents they were trained on. */
export async function trainingLineage(
  store: ArtifactStore,
  modelDigest: string,
  log: (m: string) => void = () => {},
): Promise<{ lineage: SeenLineage; manifests: ManifestT[] }> {
  const lineage: SeenLineage = { models: [], documents: [] };
  const manifests: ManifestT[] = [];
  const visited = new Set<string>();
  const queue = [modelDigest];
  while (queue.length) {
    const digest = queue.shift()!;
    if (visited.has(digest)) continue;
    visited.add(digest);
    const model = await store.readManifest(digest);
    if (!model) {
      log(`seen: model artifact ${digest} is gone from the store: its training data is not included`);
      continue;
    }
    lineage.models.push(digest);
    for (const parent of model.parents) {
      if (visited.has(parent.digest)) continue;
      const m = await store.readManifest(parent.digest);
      if (m?.kind === 'documents') {
        visited.add(parent.digest);
        manifests.push(m);
        const records = documentRecords(m);
        lineage.documents.push({ digest: m.digest, stage: m.producer.stage, pipeline: m.producer.pipeline, run: m.producer.run, records });
      } else if (m?.kind === 'model') queue.push(m.digest);
    }
    const base = model.metrics.baseModel as { artifact?: unknown } | undefined;
    if (base && typeof base.artifact === 'string') queue.push(base.artifact);
  }
  return { lineage, manifests };
}
