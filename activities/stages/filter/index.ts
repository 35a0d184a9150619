/**
 * The `filter` stage: the enabled rules in FineWeb's order (language, Gopher repetition, Gopher quality, C4,
 * FineWeb), then PII masking of what is kept. Kept documents go to the output shards; with `writeDropped`,
 * dropped ones go to `dropped-*` shards listed in `metrics.droppedFiles` (not in `files`, so the next stage
 * never reads them), each with `metadata.filter = { rule, reason }`.
 */
import type { StageParams } from '../../../schemas/stages';
import { DOCUMENT_SCHEMA, type DocumentRecordT } from '../../../schemas/manifest';
import { ShardWriter, readDocuments } from '../../documents';
import { InputError } from '../../errors';
import type { StageContext, StageImpl } from '../types';
import { FilterChain, type BaseFilter } from './base';
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

export const filterStage: StageImpl<Params> = {
  async run(ctx: StageContext<Params>) {
    const { params } = ctx;
    for (const input of ctx.inputs) {
      if (input.manifest.kind !== 'documents') throw new InputError(`filter reads documents, but input ${input.stage} is ${input.manifest.kind}`);
    }
    const expected = ctx.inputs.reduce((n, i) => n + i.manifest.files.reduce((m, f) => m + (f.records ?? 0), 0), 0);
    const chain = new FilterChain(buildFilters(params));
    await chain.init();
    const writer = new ShardWriter(ctx.store, ctx.workDir, params.shardSize);
    const aside = params.writeDropped ? new ShardWriter(ctx.store, ctx.workDir, params.shardSize, 'dropped') : undefined;

    let batch: DocumentRecordT[] = [];
    const flush = async () => {
      ctx.signal.throwIfAborted();
      const { kept, dropped } = chain.process(batch);
      batch = [];
      for (const d of kept) await writer.write(d.toRecord());
      if (aside) {
        for (const { doc, rule, reason } of dropped) {
          const rec = doc.toRecord();
          await aside.write({ ...rec, metadata: { ...rec.metadata, filter: { rule, reason } } });
        }
      }
      const r = chain.report();
      ctx.progress({ fraction: expected ? Math.min(1, r.input / expected) : undefined, message: `${r.input} documents, ${r.kept} kept` });
    };
    for (const { manifest } of ctx.inputs) {
      for await (const doc of readDocuments(ctx.store, manifest)) {
        batch.push(doc);
        if (batch.length >= params.batchSize) await flush();
      }
    }
    if (batch.length) await flush();

    const files = await writer.close();
    const droppedFiles = aside ? await aside.close() : undefined;
    const report = chain.report();
    const reasons = Object.entries(report.droppedBy).map(([rule, r]) => `${rule} ${Object.values(r).reduce((a, b) => a + b, 0)}`);
    ctx.log(`filter: ${report.input} documents, ${report.kept} kept; dropped by ${reasons.join(', ') || 'none'}`);
    return {
      files,
      schema: DOCUMENT_SCHEMA,
      metrics: { ...report, keptRate: report.input ? report.kept / report.input : 0, ...(droppedFiles ? { droppedFiles } : {}) },
    };
  },
};
