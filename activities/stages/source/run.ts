/**
 * The `source` stage: local files (txt, md, html, jsonl, each optionally .gz) → normalized document shards, as a
 * fan-out with one task per group of consecutive files (`taskBytes` of input each; every worker must see the
 * paths, e.g. a shared volume). Output order follows the sorted file list and the records inside each file, and
 * shards are cut per group, so the same files always give the same shards whatever ran them; ids hash the
 * source path and record index, so they survive a rerun too.
 */
import { createHash } from 'node:crypto';
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA, type ArtifactFileT } from '../../../schemas/manifest';
import { ShardWriter } from '../../documents';
import { sumStats } from '../../shard-map';
import { runPhasesInline } from '../../inline-phases';
import { listInputFiles, readFileDocuments, type InputFile } from './files';
import type { StageContext, StageImpl, TypedFanout } from '../types';

type Params = StageParams<'source'>;

/** One task: consecutive files of the sorted list, about `taskBytes` of input together (one large file alone). */
interface SourceTask {
  index: number;
  files: InputFile[];
}
interface SourceStats {
  files: number;
  documents: number;
  dropped: number;
  bytes: number;
}

export function groupFiles(files: readonly InputFile[], taskBytes: number): SourceTask[] {
  const tasks: SourceTask[] = [];
  let group: InputFile[] = [];
  let bytes = 0;
  for (const f of files) {
    if (group.length && bytes + f.size > taskBytes) {
      tasks.push({ index: tasks.length, files: group });
      group = [];
      bytes = 0;
    }
    group.push(f);
    bytes += f.size;
  }
  if (group.length) tasks.push({ index: tasks.length, files: group });
  return tasks;
}

async function readGroup(ctx: StageContext<Params>, task: SourceTask): Promise<{ files: ArtifactFileT[]; stats: SourceStats }> {
  const { params } = ctx;
  const writer = new ShardWriter(ctx.store, ctx.workDir, params.shardSize, `shard-${String(task.index).padStart(5, '0')}`);
  const stats: SourceStats = { files: task.files.length, documents: 0, dropped: 0, bytes: 0 };
  for (const [i, f] of task.files.entries()) {
    ctx.signal.throwIfAborted();
    let index = 0;
    for await (const raw of readFileDocuments(f, params.textField)) {
      const id = docId(f.path, index++);
      if (!raw.text || raw.text.length < params.minChars) {
        stats.dropped++;
        continue;
      }
      await writer.write({ id, text: raw.text, source: f.path, metadata: raw.metadata });
    }
    stats.bytes += f.size;
    ctx.progress({ fraction: (i + 1) / task.files.length, message: `${i + 1}/${task.files.length} files, ${writer.total} documents` });
  }
  stats.documents = writer.total;
  return { files: await writer.close(), stats };
}

type GroupRead = Awaited<ReturnType<typeof readGroup>>;

const sourceFanout: TypedFanout<Params, [[SourceTask, GroupRead]]> = {
  phases: [
    {
      name: 'files',
      plan: (ctx) => Promise.resolve(groupFiles(listInputFiles(ctx.params.paths, ctx.params.extensions), ctx.params.taskBytes)),
      map: (ctx, task) => readGroup(ctx, task),
    },
  ],
  reduce(ctx, [done]) {
    const stats = sumStats<SourceStats>({ files: 0, documents: 0, dropped: 0, bytes: 0 }, done.map((r) => r.stats));
    ctx.log(`source: ${stats.files} files → ${stats.documents} documents (${stats.dropped} dropped below ${ctx.params.minChars} chars)`);
    return Promise.resolve({ files: done.flatMap((r) => r.files), schema: DOCUMENT_SCHEMA, metrics: { ...stats } });
  },
};

export const sourceStage: StageImpl<Params> = {
  fanout: sourceFanout,
  run: (ctx) => runPhasesInline(ctx, sourceFanout),

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
