/**
 * The `warc` stage: WARC/WET files (local or s3://bucket/prefix) → document shards, streamed record by record,
 * in sorted file order. Ids hash the WARC-Record-ID, so the same record gives the same id in any run. Records
 * that give no document are counted by reason (`type_request`, `http_status`, `content_type`, `too_large`,
 * `short`); a corrupt file stops the stage with an InputError naming it.
 */
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA } from '../../../schemas/manifest';
import { ShardWriter } from '../../documents';
import { InputError } from '../../errors';
import type { StageContext, StageImpl } from '../types';
import { StoreUnavailableError, s3Fingerprint } from '../../store';
import { WARC_FILE, listLocalWarcs, listWarcInputs, parseS3, type WarcInput } from './inputs';
import { warcDocuments, type RecordOutcome } from './records';

type Params = StageParams<'warc'>;

export const warcStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const { params: p } = ctx;
    const inputs = await listWarcInputs(p.paths, ctx.store);
    const writer = new ShardWriter(ctx.store, ctx.workDir, p.shardSize);
    const skipped: Record<string, number> = {};
    const byFormat: Record<string, number> = {};
    let records = 0;
    let bytes = 0;
    files: for (const [i, input] of inputs.entries()) {
      for await (const r of readWarc(input, p)) {
        records++;
        bytes += r.bytes;
        if (records % 1000 === 0) {
          ctx.signal.throwIfAborted();
          ctx.progress({ fraction: i / inputs.length, message: `file ${i + 1}/${inputs.length}: ${records} records, ${writer.total} documents` });
        }
        if ('skipped' in r || r.doc.text.trim().length < p.minChars) {
          const reason = 'skipped' in r ? r.skipped : 'short';
          skipped[reason] = (skipped[reason] ?? 0) + 1;
          continue;
        }
        await writer.write(r.doc);
        const format = String(r.doc.metadata.format);
        byFormat[format] = (byFormat[format] ?? 0) + 1;
        if (p.limit !== undefined && writer.total >= p.limit) break files;
      }
      ctx.progress({ fraction: (i + 1) / inputs.length, message: `${i + 1}/${inputs.length} files, ${writer.total} documents` });
    }
    const files = await writer.close();
    ctx.log(`warc: ${inputs.length} files, ${records} records → ${writer.total} documents`);
    return {
      files,
      schema: DOCUMENT_SCHEMA,
      metrics: { files: inputs.length, records, documents: writer.total, byFormat, skipped, bytes },
    };
  },

  /**
   * Local files stand in by size and mtime; an s3:// prefix by the key, size and ETag of each WARC object below
   * it (the listing the stage reads), so an overwritten or added object is a miss.
   */
  async fingerprint(params: Params, env) {
    const out: unknown[] = [];
    for (const p of params.paths) {
      if (!parseS3(p)) {
        out.push(listLocalWarcs(p).map((f) => ({ path: f.name, size: f.size, mtimeMs: f.mtimeMs })));
        continue;
      }
      if (!env) throw new Error(`warc: fingerprinting ${p} needs the store`);
      out.push(await s3Fingerprint(env.store, p, { match: WARC_FILE }));
    }
    return out;
  },
};

/** The records of one input; broken data becomes an InputError naming the file, I/O errors stay retryable. */
async function* readWarc(input: WarcInput, p: Params): AsyncGenerator<RecordOutcome> {
  const stream = await input.open();
  try {
    yield* warcDocuments(stream, input.name, p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') throw new InputError(`${input.name}: corrupt or truncated gzip data`);
    if (code || e instanceof StoreUnavailableError || (e as Error).name === 'AbortError') throw e;
    throw new InputError(`${input.name}: not a readable WARC file (${(e as Error).message})`);
  } finally {
    stream.destroy();
  }
}
