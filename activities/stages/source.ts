/**
 * The `source` stage: local files (txt, md, html, jsonl, each optionally .gz) → normalized document shards.
 * Output order follows the sorted file list and the records inside each file, so the same files always give
 * the same shards; ids hash the source path and record index, so they survive a rerun too.
 */
import { createHash } from 'node:crypto';
import type { StageParams } from '../../schemas/stages';
import { DOCUMENT_SCHEMA } from '../../schemas/manifest';
import { ShardWriter } from '../documents';
import { listInputFiles, readFileDocuments } from './source-files';
import type { StageContext, StageImpl } from './types';

type Params = StageParams<'source'>;

export const sourceStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const { params } = ctx;
    const files = listInputFiles(params.paths, params.extensions);
    const writer = new ShardWriter(ctx.store, ctx.workDir, params.shardSize);
    let dropped = 0;
    let bytes = 0;
    for (const [i, f] of files.entries()) {
      ctx.signal.throwIfAborted();
      let index = 0;
      for await (const raw of readFileDocuments(f, params.textField)) {
        const id = docId(f.path, index++);
        if (!raw.text || raw.text.length < params.minChars) {
          dropped++;
          continue;
        }
        await writer.write({ id, text: raw.text, source: f.path, metadata: raw.metadata });
      }
      bytes += f.size;
      ctx.progress({ fraction: (i + 1) / files.length, message: `${i + 1}/${files.length} files, ${writer.total} documents` });
    }
    const shards = await writer.close();
    ctx.log(`source: ${files.length} files → ${writer.total} documents (${dropped} dropped below ${params.minChars} chars)`);
    return {
      files: shards,
      schema: DOCUMENT_SCHEMA,
      metrics: { files: files.length, documents: writer.total, dropped, bytes },
    };
  },

  /** Local files are not artifacts, so their sizes and mtimes stand in for a digest in the cache key. */
  fingerprint(params: Params) {
    const files = listInputFiles(params.paths, params.extensions);
    return Promise.resolve(files.map((f) => ({ path: f.path, size: f.size, mtimeMs: f.mtimeMs })));
  },
};

/** Stable across reruns: the same file and position give the same id, whatever the text became. */
function docId(sourcePath: string, index: number): string {
  return createHash('sha256').update(`${sourcePath}\n${index}`).digest('hex');
}
