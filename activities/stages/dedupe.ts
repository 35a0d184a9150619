/**
 * The `dedupe` stage, exact method: a document is a duplicate when its normalized text hashes like an earlier
 * one. "Earlier" is input order, then record order, so the kept copy is the same on every rerun.
 */
import { createHash } from 'node:crypto';
import type { StageParams } from '../../schemas/stages';
import { DOCUMENT_SCHEMA } from '../../schemas/manifest';
import { ShardWriter, readDocuments } from '../documents';
import { InputError } from '../errors';
import type { StageContext, StageImpl } from './types';

type Params = StageParams<'dedupe'>;
export type DedupeNormalize = Params['normalize'];

const PROGRESS_EVERY = 10_000;

export const dedupeStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
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
    let input = 0;
    for (const { manifest } of ctx.inputs) {
      for await (const doc of readDocuments(ctx.store, manifest)) {
        input++;
        const key = createHash('sha256').update(normalizeForDedupe(doc.text, params.normalize)).digest().subarray(0, 16).toString('latin1');
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
};

/** The text as the hash sees it: NFKC always (full-width and ligature forms equal their plain forms). */
export function normalizeForDedupe(text: string, opts: DedupeNormalize): string {
  let t = text.normalize('NFKC');
  if (opts.lowercase) t = t.toLowerCase();
  if (opts.punctuation) t = t.replace(/\p{P}+/gu, '');
  if (opts.whitespace) t = t.replace(/\s+/gu, ' ').trim();
  return t;
}
