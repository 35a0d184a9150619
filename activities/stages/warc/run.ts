/**
 * The `warc` stage: WARC/WET files (local or s3://bucket/prefix) → document shards, streamed record by record,
 * in sorted file order. Ids hash the WARC-Record-ID, so the same record gives the same id in any run. Records
 * that give no document are counted by reason (`type_request`, `http_status`, `content_type`, `too_large`,
 * `short`); a corrupt file stops the stage with an InputError naming it.
 */
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA, type ArtifactFileT } from '../../../schemas/manifest';
import { ShardWriter } from '../../documents';
import { InputError } from '../../errors';
import { sumStats } from '../../shard-map';
import type { StageContext, StageImpl, StageOutput } from '../types';
import { StoreUnavailableError, s3Fingerprint } from '../../store';
import { WARC_FILE, listLocalWarcs, listWarcInputs, parseS3, type WarcInput } from './inputs';
import { warcDocuments, type RecordOutcome } from './records';

type Params = StageParams<'warc'>;

interface WarcStats {
  files: number;
  records: number;
  documents: number;
  byFormat: Record<string, number>;
  skipped: Record<string, number>;
  bytes: number;
}
const noRecords = (): WarcStats => ({ files: 0, records: 0, documents: 0, byFormat: {}, skipped: {}, bytes: 0 });

/** Reads `inputs` in order into shards named `name`; stops at `limit` documents. */
async function readInputs(ctx: StageContext<Params>, inputs: WarcInput[], name: string): Promise<{ files: ArtifactFileT[]; stats: WarcStats }> {
  const { params: p } = ctx;
  const writer = new ShardWriter(ctx.store, ctx.workDir, p.shardSize, name);
  const stats = { ...noRecords(), files: inputs.length };
  files: for (const [i, input] of inputs.entries()) {
    for await (const r of readWarc(input, p)) {
      stats.records++;
      stats.bytes += r.bytes;
      if (stats.records % 1000 === 0) {
        ctx.signal.throwIfAborted();
        ctx.progress({ fraction: i / inputs.length, message: `file ${i + 1}/${inputs.length}: ${stats.records} records, ${writer.total} documents` });
      }
      if ('skipped' in r || r.doc.text.trim().length < p.minChars) {
        const reason = 'skipped' in r ? r.skipped : 'short';
        stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1;
        continue;
      }
      await writer.write(r.doc);
      const format = String(r.doc.metadata.format);
      stats.byFormat[format] = (stats.byFormat[format] ?? 0) + 1;
      if (p.limit !== undefined && writer.total >= p.limit) break files;
    }
  }
  stats.documents = writer.total;
  return { files: await writer.close(), stats };
}

function published(ctx: StageContext<Params>, files: ArtifactFileT[], stats: WarcStats): StageOutput {
  ctx.log(`warc: ${stats.files} files, ${stats.records} records → ${stats.documents} documents`);
  return { files, schema: DOCUMENT_SCHEMA, metrics: { ...stats } };
}

/**
 * The stage reads one WARC file per fan-out task (shards named after the file's place in the sorted list, so
 * the output does not depend on which worker read what). With `limit`, the documents before the limit depend
 * on every earlier file: that stage runs as one activity reading the files in order (`run`).
 */
export const warcStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const { files, stats } = await readInputs(ctx, await listWarcInputs(ctx.params.paths, ctx.store), 'shard');
    return published(ctx, files, stats);
  },

  fanout: {
    phases: [
      {
        name: 'files',
        plan: async (ctx) => (await listWarcInputs(ctx.params.paths, ctx.store)).map((input, index) => ({ index, name: input.name })),
        async map(ctx, task) {
          const { index, name } = task as { index: number; name: string };
          // The task names its file; listing the file itself (or its exact key) gives it back with its opener.
          const input = (await listWarcInputs([name], ctx.store)).find((i) => i.name === name);
          if (!input) throw new InputError(`${name}: the WARC file listed when the stage was planned is gone`);
          return readInputs(ctx, [input], `shard-${String(index).padStart(5, '0')}`);
        },
      },
    ],
    reduce(ctx, [results]) {
      const done = results as Awaited<ReturnType<typeof readInputs>>[];
      return Promise.resolve(published(ctx, done.flatMap((r) => r.files), sumStats(noRecords(), done.map((r) => r.stats))));
    },
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
