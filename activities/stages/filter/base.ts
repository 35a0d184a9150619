/**
 * The filter base, after datatrove's BaseFilter: a rule author writes only `keep(doc)`, returning true or the
 * reason for dropping. The FilterChain does the rest: it runs the rules batch by batch (each rule over the
 * whole batch, so its time is one clock read per batch), counts every drop under the rule and reason that
 * made it, and hands kept and dropped documents back to the caller, which writes them.
 */
import { performance } from 'node:perf_hooks';
import { FilterDoc } from './doc';
import type { DocumentRecordT } from '../../../schemas/manifest';

/** `true` keeps the document; a string drops it, the string being the reason (e.g. `gopher_short_doc`). */
export type Verdict = true | string;

export abstract class BaseFilter {
  /** The rule group, e.g. `gopher_quality`: the key of its counters in the metrics. */
  abstract readonly name: string;
  /** Free-form counters of the rule (lines removed, items masked), beside the drop counts. */
  readonly stats: Record<string, number> = {};

  /** Async setup before the first batch (loading a model). */
  init(): Promise<void> {
    return Promise.resolve();
  }

  /** Keep or drop; may rewrite `doc.text` (line filters) or set `doc.metadata` fields. */
  abstract keep(doc: FilterDoc): Verdict;

  protected stat(key: string, n = 1): void {
    this.stats[key] = (this.stats[key] ?? 0) + n;
  }
}

export interface Dropped {
  doc: FilterDoc;
  rule: string;
  reason: string;
}

export interface ChainReport {
  input: number;
  kept: number;
  dropped: number;
  /** rule → reason → documents dropped there. */
  droppedBy: Record<string, Record<string, number>>;
  /** rule → its own counters. */
  stats: Record<string, Record<string, number>>;
  /** rule → milliseconds spent in it. */
  ms: Record<string, number>;
}

export class FilterChain {
  private input = 0;
  private kept = 0;
  private readonly droppedBy: Record<string, Record<string, number>> = {};
  private readonly ms: Record<string, number> = {};

  constructor(readonly filters: readonly BaseFilter[]) {}

  async init(): Promise<void> {
    for (const f of this.filters) await f.init();
  }

  /** Run every rule over a batch; a document leaves the batch at the first rule that drops it. */
  process(records: readonly DocumentRecordT[]): { kept: FilterDoc[]; dropped: Dropped[] } {
    let live = records.map((r) => new FilterDoc(r));
    const dropped: Dropped[] = [];
    this.input += live.length;
    for (const f of this.filters) {
      const t0 = performance.now();
      const next: FilterDoc[] = [];
      for (const doc of live) {
        const v = f.keep(doc);
        if (v === true) next.push(doc);
        else {
          dropped.push({ doc, rule: f.name, reason: v });
          const byReason = (this.droppedBy[f.name] ??= {});
          byReason[v] = (byReason[v] ?? 0) + 1;
        }
      }
      this.ms[f.name] = (this.ms[f.name] ?? 0) + performance.now() - t0;
      live = next;
    }
    this.kept += live.length;
    return { kept: live, dropped };
  }

  report(): ChainReport {
    const stats: Record<string, Record<string, number>> = {};
    for (const f of this.filters) if (Object.keys(f.stats).length) stats[f.name] = { ...f.stats };
    const ms = Object.fromEntries(Object.entries(this.ms).map(([k, v]) => [k, Math.round(v)]));
    return { input: this.input, kept: this.kept, dropped: this.input - this.kept, droppedBy: this.droppedBy, stats, ms };
  }
}
