/**
 * n-gram counting for candidate mining, one table per language. Keys are the joined units prefixed by the
 * unit count, so sub-grams are found by re-joining. Memory is bounded the lossy-counting way: when the table
 * outgrows its limit, entries below a rising floor are dropped, which only loses n-grams too rare to matter.
 */
import { joinUnits, type Lang } from './text';

const MAX_ENTRIES = 6_000_000;

export class NgramCounter {
  readonly counts = new Map<string, number>();
  /** Units seen (the N in p(x) = count(x) / N). */
  total = 0;
  private floor = 1;

  constructor(
    readonly lang: Lang,
    /** Longest n-gram counted: candidates' longest length + 1, for their neighbours. */
    readonly maxN: number,
  ) {}

  add(units: string[]): void {
    this.total += units.length;
    for (let i = 0; i < units.length; i++) {
      for (let n = 1; n <= this.maxN && i + n <= units.length; n++) {
        const key = this.key(units.slice(i, i + n));
        this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      }
    }
    if (this.counts.size > MAX_ENTRIES) this.prune();
  }

  key(units: string[]): string {
    return `${units.length}\u0001${joinUnits(this.lang, units)}`;
  }

  get(units: string[]): number {
    return this.counts.get(this.key(units)) ?? 0;
  }

  private prune(): void {
    this.floor++;
    for (const [k, c] of this.counts) if (c < this.floor) this.counts.delete(k);
  }
}

/** Splits a key back into its length and text. */
export function parseKey(key: string): { n: number; text: string } {
  const at = key.indexOf('\u0001');
  return { n: Number(key.slice(0, at)), text: key.slice(at + 1) };
}
