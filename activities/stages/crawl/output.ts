/**
 * The stage output, built from the ledger (so it is the same whichever attempt finishes): one document per
 * canonical URL — pages naming the same canonical are recorded once, preferring the page at that URL, then the
 * smallest URL — sorted by URL. Then the snapshot for the next incremental crawl, the removed URLs (incremental
 * crawls: a `removed-urls.json` file in the manifest, and the metrics) and the crawl report.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA } from '../../../schemas/manifest';
import { ShardWriter } from '../../documents';
import type { StageContext, StageOutput } from '../types';
import type { PageEntry } from './ledger';
import type { CrawlSession } from './session';
import { nextSnapshot, removedDocs, saveSnapshot, type SnapshotPages } from './snapshot';

export const REMOVED_FILE = 'removed-urls.json';
/** Removed URLs listed in the metrics; the file has all of them. */
const METRICS_REMOVED_MAX = 1000;

/** The URL a page's document is recorded under, when it yields one (stored now, or unchanged since last time). */
export function docKey(e: PageEntry): string | undefined {
  return e.outcome === 'stored' || e.outcome === 'unchanged' ? (e.canonical ?? e.url) : undefined;
}

export async function writeOutput(
  ctx: StageContext<StageParams<'crawl'>>,
  session: CrawlSession,
  previous: SnapshotPages,
  extra: Record<string, unknown>,
): Promise<StageOutput> {
  const { params } = ctx;
  const byKey = new Map<string, PageEntry>();
  let stored = 0;
  for (const e of session.done.values()) {
    if (e.outcome !== 'stored' || !e.record) continue;
    stored++;
    const key = docKey(e)!;
    const kept = byKey.get(key);
    if (!kept || (kept.url !== key && (e.url === key || e.url < kept.url))) byKey.set(key, e);
  }
  const keys = [...byKey.keys()].sort();
  const writer = new ShardWriter(ctx.store, ctx.workDir, params.shardSize);
  for (const k of keys) await writer.write(byKey.get(k)!.record!);
  const files = await writer.close();

  const gone = new Set([...session.excludedPrevious, ...session.skippedByRobots]);
  const snapshot = nextSnapshot(previous, session.done, docKey, gone);
  const removed = params.incremental ? removedDocs(previous, snapshot) : [];
  if (params.incremental) {
    const local = path.join(ctx.workDir, REMOVED_FILE);
    fs.writeFileSync(local, JSON.stringify({ removed }, null, 1));
    // No `records`: readers summing record counts over a manifest mean documents.
    files.push(await ctx.store.putFile(local, REMOVED_FILE));
  }
  await saveSnapshot(ctx.store, ctx.pipeline, ctx.stage, ctx.run, snapshot);

  const changed = keys.filter((k) => byKey.get(k)!.record!.metadata.change === 'changed').length;
  const metrics: Record<string, unknown> = {
    ...session.metrics(),
    documents: keys.length,
    canonicalDuplicates: stored - keys.length,
    ...(params.incremental ? { new: keys.length - changed, changed, removed: removed.length, removedUrls: removed.slice(0, METRICS_REMOVED_MAX) } : {}),
    ...extra,
  };
  ctx.log(
    `crawl: ${String(metrics.pages)} pages, ${keys.length} documents, ${String(metrics.skippedByRobots)} skipped by robots.txt` +
      (params.incremental ? `, ${String(metrics.notModified)} not modified, ${removed.length} removed` : ''),
  );
  return { files, schema: DOCUMENT_SCHEMA, metrics };
}
