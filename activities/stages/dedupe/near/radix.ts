/**
 * Sorting bucket records by their 64-bit key. An LSD radix sort over four 16-bit digits is linear and, being
 * stable, keeps equal keys in document order: the sorted runs are ordered by (key, document) for free.
 */

/** The order of `n` records by (hi, lo), ties in index order. */
export function sortByKey64(hi: Uint32Array, lo: Uint32Array, n: number): Uint32Array {
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let tmp = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  const digits: [Uint32Array, number][] = [
    [lo, 0],
    [lo, 16],
    [hi, 0],
    [hi, 16],
  ];
  for (const [words, shift] of digits) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(words[i] >>> shift) & 0xffff]++;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[d];
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const rec = order[i];
      tmp[counts[(words[rec] >>> shift) & 0xffff]++] = rec;
    }
    [order, tmp] = [tmp, order];
  }
  return order;
}

/** Compare two 64-bit keys given as (hi, lo) pairs. */
export function compareKey64(ahi: number, alo: number, bhi: number, blo: number): number {
  if (ahi !== bhi) return ahi < bhi ? -1 : 1;
  if (alo !== blo) return alo < blo ? -1 : 1;
  return 0;
}
