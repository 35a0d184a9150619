/**
 * The `filter` stage, one task per input shard: the enabled rules in FineWeb's order (language, Gopher
 * repetition, Gopher quality, C4, FineWeb), then PII masking of what is kept. Kept documents go to the output shards; with `writeDropped`,
 * dropped ones go to `dropped-*` shards listed in `metrics.droppedFiles` (not in `files`, so the next stage
 * never reads them), each with `metadata.filter = { rule, reason }`.
 */
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA, type DocumentRecordT } from '../../../schemas/manifest';
import { shardMapStage, sumStats } from '../../shard-map';
import { FilterChain, type BaseFilter, type ChainReport } from './base';
import { C4Filter } from './c4';
import { FineWebFilter } from './fineweb';
import { GopherQualityFilter } from './gopher-quality';
import { GopherRepetitionFilter } from './gopher-repetition';
import { LanguageFilter } from './language';
import { PiiMasker } from './pii';

type Params = StageParams<'filter'>;

/** The enabled rules, in the order they run. */
export function buildFilters(p: Params): BaseFilter[] {
  const out: BaseFilter[] = [];
  if (p.language.enabled) out.push(new LanguageFilter(p.language));
  if (p.gopherRepetition.enabled) out.push(new GopherRepetitionFilter(p.gopherRepetition));
  if (p.gopherQuality.enabled) out.push(new GopherQualityFilter(p.gopherQuality));
  if (p.c4.enabled) out.push(new C4Filter(p.c4));
  if (p.fineweb.enabled) out.push(new FineWebFilter(p.fineweb));
  if (p.pii.enabled) out.push(new PiiMasker(p.pii));
  return out;
}

export const filterStage = shardMapStage<Params, ChainReport>({
  name: 'filter',
  reads: 'filter',
  schema: DOCUMENT_SCHEMA,
  shardSize: (p) => p.shardSize,
  async map(ctx, docs, out) {
    const { params } = ctx;
    const chain = new FilterChain(buildFilters(params));
    await chain.init();
    const aside = params.writeDropped ? out.side('dropped') : undefined;
    let batch: DocumentRecordT[] = [];
    const flush = async () => {
      ctx.signal.throwIfAborted();
      const { kept, dropped } = chain.process(batch);
      batch = [];
      for (const d of kept) await out.write(d.toRecord());
      if (aside) {
        for (const { doc, rule, reason } of dropped) {
          const rec = doc.toRecord();
          await aside.write({ ...rec, metadata: { ...rec.metadata, filter: { rule, reason } } });
        }
      }
    };
    for await (const doc of docs) {
      batch.push(doc);
      if (batch.length >= params.batchSize) await flush();
    }
    if (batch.length) await flush();
    return chain.report();
  },
  metrics(ctx, stats, side) {
    const report = sumStats<ChainReport>({ input: 0, kept: 0, dropped: 0, droppedBy: {}, stats: {}, ms: {} }, stats);
    const reasons = Object.entries(report.droppedBy).map(([rule, r]) => `${rule} ${Object.values(r).reduce((a, b) => a + b, 0)}`);
    ctx.log(`filter: ${report.input} documents, ${report.kept} kept; dropped by ${reasons.join(', ') || 'none'}`);
    return { ...report, keptRate: report.input ? report.kept / report.input : 0, ...(ctx.params.writeDropped ? { droppedFiles: side.dropped ?? [] } : {}) };
  },
});
