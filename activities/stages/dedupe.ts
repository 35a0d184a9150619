/**
 * The `dedupe` stage. Exact method: a document is a duplicate when its normalized text hashes like an earlier
 * one. "Earlier" is input order, then record order, so the kept copy is the same on every rerun. Near method:
 * exact first, then MinHash LSH, as the phased fan-out in ./near-dedupe (or inline, as one activity).
 */
import type { StageParams } from '../../schemas/stages';
import { DOCUMENT_SCHEMA } from '../../schemas/manifest';
import { ShardWriter, readDocuments } from '../documents';
import { ConfigError, InputError } from '../errors';
import { exactDigest } from './near-dedupe/exact-key';
import { nearDedupeFanout } from './near-dedupe/fanout';
import { runPhasesInline } from './near-dedupe/inline';
import type { StageContext, StageImpl } from './types';

export { normalizeForDedupe, type DedupeNormalize } from './near-dedupe/exact-key';

type Params = StageParams<'dedupe'>;

const PROGRESS_EVERY = 10_000;

export const dedupeStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    if (ctx.params.method === 'near') return runPhasesInline(ctx, nearDedupeFanout);
    const { params } = ctx;
    for (const input of ctx.inputs) {
      if (input.manifest.kind !== 'documents') {
        throw new InputError(`dedupe reads documents, but input ${input.stage} is ${input.manifest.kind}`);
      }
    }
    const expected = ctx.inputs.reduce((n, i) => n + i.manifest.files.reduce((m, f) => m + (f.records ?? 0), 0), 0);
    // 16-byte digest prefixes as binary strings: half the memory of hex, still collision-free in practice.
    const seen = new Set<string>();
    const writer = new ShardWriter(ctx.store, ctx.workDir, params.shardSize);
    const reference = params.against ? ctx.inputs.find((i) => i.stage === params.against) : undefined;
    if (params.against && !reference) throw new ConfigError(`against: "${params.against}" is not among this stage's needs`);
    // The reference's documents are only remembered: what duplicates them is dropped, they are not output.
    if (reference) for await (const doc of readDocuments(ctx.store, reference.manifest)) seen.add(exactDigest(doc.text, params.normalize).toString('latin1'));
    let input = 0;
    for (const { manifest } of ctx.inputs.filter((i) => i !== reference)) {
      for await (const doc of readDocuments(ctx.store, manifest)) {
        input++;
        const key = exactDigest(doc.text, params.normalize).toString('latin1');
        if (!seen.has(key)) {
          seen.add(key);
          await writer.write(doc);
        }
        if (input % PROGRESS_EVERY === 0) {
          ctx.signal.throwIfAborted();
          ctx.progress({ fraction: expected ? Math.min(1, input / expected) : undefined, message: `${input} documents read, ${writer.total} kept` });
        }
      }
    }
    const files = await writer.close();
    const kept = writer.total;
    const duplicates = input - kept;
    ctx.log(`dedupe: ${input} documents, ${duplicates} exact duplicates dropped`);
    return {
      files,
      schema: DOCUMENT_SCHEMA,
      metrics: { input, kept, duplicates, dupRate: input ? duplicates / input : 0 },
    };
  },
  fanout: nearDedupeFanout,
};
